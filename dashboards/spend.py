"""Spend on the usage page: metered usage priced with each merchant's plan, per hour or day.

Billing rates a whole month at once (tiers and included units count from the first unit of
the month), so a day's spend is its *marginal* price within its month:

    spend(d) = rating(usage from the month's start through d) − rating(usage before d)

with the plan in effect at the month's start (the one the month's invoice uses) and
billing's own functions: `billing.invoice.billable_quantities` (calls with risk verdict
`pass`, minus blocked and failed ones, plus the review calls a reviewer has approved so far,
`billing.review_usage.approved_reviews_by_hour`; blocked work and pending or rejected
review calls are never billed) and
`billing.pricing.price_usage` (rounded per line, half-up, to the currency's minor unit).
The spends of every hour or day of a month therefore add up exactly to the usage and
included lines of that month's invoice (for the usage in the ledger when it is read).

Not spread over days: the revenue share (measured once per period on the lift result) and
the minimum-commitment true-up; they appear on the invoice only. Merchants without a plan
in effect are not priced. Staff looking at all merchants see a sum only when every priced
merchant bills in one currency.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from billing import repository
from billing.invoice import Period, billable_quantities
from billing.plans import Component, Plan, plan_from_json
from billing.pricing import price_usage, total
from billing.repository import UsageGroup
from billing.review_usage import ReviewGroup, approved_reviews_by_hour
from liftmeter.models import utcnow
from metering.ledger import Granularity, UsageQuery, UsageRow, query_usage
from metering.models import MEASURES


@dataclass(frozen=True)
class Spend:
    """Priced usage per period start (only periods with usage), in one currency."""

    currency: str
    by_period: dict[datetime, Decimal]
    unpriced_merchants: int

    @property
    def total(self) -> Decimal:
        return sum(self.by_period.values(), Decimal(0))


def _group(row: UsageRow) -> UsageGroup:
    """A ledger bucket in the shape billing rates (one bucket, one 'hour row')."""
    return UsageGroup(
        merchant_id=row.merchant_id,
        risk_verdict=str(row.dimensions["risk_verdict"]),
        cache_hit=bool(row.dimensions["cache_hit"]),
        first_hour=row.period_start,
        last_hour=row.period_start,
        hour_rows=1,
        measures={m: int(getattr(row, m)) for m in MEASURES},
    )


def _day(hour: datetime) -> datetime:
    return hour.replace(hour=0)


def _months(start: datetime, end: datetime) -> list[Period]:
    months, period = [], Period.of(start)
    while period.start < end:
        months.append(period)
        period = Period.of(period.end)
    return months


def _plans(
    session: Session, months: list[Period], merchant_id: str | None
) -> dict[tuple[str, datetime], Plan]:
    """The plan of every merchant for every month (one query per month, all merchants)."""
    out: dict[tuple[str, datetime], Plan] = {}
    for month in months:
        versions = repository.plans_in_effect(session, at=month.start, merchant_id=merchant_id)
        for mid, version in versions.items():
            out[(mid, month.start)] = plan_from_json(version.spec_json)
    return out


Bucket = tuple[list[UsageGroup], list[ReviewGroup]]


def _marginal(plan: Plan, buckets: list[tuple[datetime, Bucket]]) -> list[tuple[datetime, Decimal]]:
    """Each bucket's price as the change of the month-to-date rating (buckets in order)."""
    so_far = dict.fromkeys(Component, 0)
    before = Decimal(0)
    out = []
    for moment, (groups, reviews) in buckets:
        for component, units in billable_quantities(groups, reviews).items():
            so_far[component] += units
        after = total(price_usage(plan, so_far))
        out.append((moment, after - before))
        before = after
    return out


def usage_spend(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    granularity: Granularity,
    merchant_id: str | None,
) -> Spend | None:
    """Spend per period of [start, end) (hour or day); None when nothing can be priced."""
    months = _months(start, end)
    rows = query_usage(
        session,
        UsageQuery(
            start=months[0].start,
            end=end,
            granularity=granularity,
            merchant_id=merchant_id,
            group_by=("cache_hit", "risk_verdict"),
        ),
    )
    buckets: dict[tuple[str, datetime], dict[datetime, Bucket]] = defaultdict(
        lambda: defaultdict(lambda: ([], []))
    )
    for row in rows:
        month = Period.of(row.period_start).start
        buckets[(row.merchant_id, month)][row.period_start][0].append(_group(row))
    approved = approved_reviews_by_hour(
        session, start=months[0].start, end=end, as_of=utcnow(), merchant_id=merchant_id
    )
    for (mid, hour), reviews in approved.items():
        moment = hour if granularity == Granularity.HOUR else _day(hour)
        buckets[(mid, Period.of(hour).start)][moment][1].extend(reviews)
    plans = _plans(session, months, merchant_id)
    by_period: dict[datetime, Decimal] = defaultdict(Decimal)
    currencies, unpriced = set(), set()
    for key, periods in buckets.items():
        plan = plans.get(key)
        if plan is None:
            unpriced.add(key[0])
            continue
        currencies.add(plan.currency)
        for moment, amount in _marginal(plan, sorted(periods.items())):
            if moment >= start:
                by_period[moment] += amount
    if len(currencies) != 1:
        return None
    return Spend(currencies.pop(), dict(by_period), len(unpriced))
