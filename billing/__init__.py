"""Billing: price plans, invoices, credits and exports, and the risk model that screens outputs.

Outputs the risk model flags are withheld or held for review and never billed as good work.
"""
