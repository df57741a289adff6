"""The monthly spend cap of a merchant's plan, enforced when a description call is admitted.

Usage of the month so far that is or may become billable (calls, cache hits, prompt and
completion tokens of calls whose output passed the risk screen or went to review: a
reviewer's approval makes a review call billable like a passing one, and the cap must not
be overshot by approvals that come later) is kept per merchant and UTC calendar month in
`spend_months`, incremented with one atomic upsert in the transaction that records each
call. Review calls that end up rejected are therefore counted against the cap although
never billed: the cap errs on the side of the merchant's budget. At admission the call's
worst case (one more call with the reserved prompt + `max_tokens` tokens) is added to the
month's usage and priced with the plan in effect (`billing.service.usage_spend`: the sum of
rounded usage lines, tiers and free units included); if that exceeds the cap, the call is
refused with 429 `spend_cap_reached` and `Retry-After` set to the start of the next month.

The cap covers pay-per-use spend only: the revenue share depends on lift measured after
the fact and the minimum commitment is owed whether or not calls are made. Calls in flight
when the cap is reached can overshoot it by at most their own cost.
"""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.invoice import Period
from billing.plans import Component
from billing.service import plan_in_effect, usage_spend
from gateway.models import SpendMonth
from liftmeter.db import insert_adding_counters
from liftmeter.errors import RateLimited

SPEND_VERDICTS = frozenset({"pass", "review"})
"""Risk verdicts whose calls count against the cap (see the module docstring)."""


def _usage(session: Session, merchant_id: str, month_start: datetime) -> dict[Component, int]:
    row = session.scalars(
        select(SpendMonth).where(
            SpendMonth.merchant_id == merchant_id, SpendMonth.month_start == month_start
        )
    ).first()
    usage = dict.fromkeys(Component, 0)
    if row is not None:
        usage[Component.CALLS] = row.calls
        usage[Component.CACHE_HITS] = row.cache_hits
        usage[Component.PROMPT_TOKENS] = row.prompt_tokens
        usage[Component.COMPLETION_TOKENS] = row.completion_tokens
    return usage


def check_spend_cap(
    session: Session,
    *,
    merchant_id: str,
    now: datetime,
    cache_hit: bool,
    prompt_tokens: int,
    completion_tokens: int,
) -> None:
    """Refuse the call (`RateLimited`, code `spend_cap_reached`) if it could exceed the cap.

    `prompt_tokens` and `completion_tokens` are the call's worst case (the reservation).
    """
    plan = plan_in_effect(session, merchant_id, now)
    if plan is None or plan.monthly_spend_cap is None:
        return
    month = Period.of(now)
    worst = _usage(session, merchant_id, month.start)
    if cache_hit:
        worst[Component.CACHE_HITS] += 1
    else:
        worst[Component.CALLS] += 1
        worst[Component.PROMPT_TOKENS] += prompt_tokens
        worst[Component.COMPLETION_TOKENS] += completion_tokens
    spend = usage_spend(plan, worst)
    if spend <= plan.monthly_spend_cap:
        return
    retry_after = math.ceil((month.end - now).total_seconds())
    raise RateLimited(
        f"the monthly spend cap of {plan.monthly_spend_cap} {plan.currency} is reached "
        f"(this call could bring the month to {spend})",
        retry_after_s=max(retry_after, 1),
        param="plan.monthly_spend_cap",
        code="spend_cap_reached",
    )


def record_spend(
    session: Session,
    *,
    merchant_id: str,
    at: datetime,
    cache_hit: bool,
    prompt_tokens: int,
    completion_tokens: int,
) -> None:
    """Add one (possibly) billable call to the merchant's month (one atomic upsert, caller's
    transaction)."""
    tokens = (0, 0) if cache_hit else (prompt_tokens, completion_tokens)
    counters = {
        "calls": 0 if cache_hit else 1,
        "cache_hits": 1 if cache_hit else 0,
        "prompt_tokens": tokens[0],
        "completion_tokens": tokens[1],
    }
    key = {"merchant_id": merchant_id, "month_start": Period.of(at).start}
    stmt = insert_adding_counters(session, SpendMonth.__table__, key=key, counters=counters)
    session.execute(stmt)
