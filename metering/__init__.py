"""Metering: turns `CallCompleted` events into the usage ledger that invoices are computed from.

Every call is counted once, through crashes, redeliveries and replays: raw call rows are
unique on `event_id`, and hourly aggregates change only for rows that were actually
inserted, in the same transaction as the consumer group's claim of the event id.
"""
