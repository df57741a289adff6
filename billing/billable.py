"""What an invoice bills and where each quantity came from (pure, no I/O).

- `billable_quantities`: the units of each component a set of usage is billed for: `pass`
  calls from the hourly ledger (minus blocked and failed ones, see `billing.invoice`) and
  the approved review calls, counted exactly like `pass` calls of the same cache-hit kind.
- `ledger_lineage` / `review_lineage`: the JSON lineage of a line: the ledger hours, rows
  and sums it was computed from, or the review calls (raw rows joined with the queue) with
  their token sums, decision time range and decided item ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from billing.plans import Component
from billing.pricing import PricedLine
from billing.repository import UsageGroup
from billing.review.models import ReviewStatus
from billing.review_usage import ReviewGroup
from metering.models import MEASURES

HOUR = timedelta(hours=1)
APPROVED_REVIEW = "approved_review"
"""Lineage key of the approved review calls a line bills; finalize settles their item ids."""


@dataclass(frozen=True, slots=True)
class ComposedLine:
    """One priced line and its lineage, ready to store."""

    priced: PricedLine
    lineage: dict[str, Any]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def ledger_lineage(groups: Sequence[UsageGroup], **filters: Any) -> dict[str, Any]:
    """Lineage of a set of ledger groups: hour range, rows, sums and the filter used."""
    sums = {m: sum(g.measures[m] for g in groups) for m in MEASURES}
    return {
        "table": "usage_hourly",
        "filter": filters,
        "hour_from": iso(min(g.first_hour for g in groups)) if groups else None,
        "hour_to": iso(max(g.last_hour for g in groups) + HOUR) if groups else None,
        "hour_rows": sum(g.hour_rows for g in groups),
        **sums,
    }


def _add(
    q: dict[Component, int], *, cache_hit: bool, calls: int, prompt: int, completion: int
) -> None:
    if cache_hit:
        q[Component.CACHE_HITS] += calls
    else:
        q[Component.CALLS] += calls
        q[Component.PROMPT_TOKENS] += prompt
        q[Component.COMPLETION_TOKENS] += completion


def billable_quantities(
    groups: Sequence[UsageGroup], reviews: Sequence[ReviewGroup] = ()
) -> dict[Component, int]:
    """Quantities that are billed: `pass` calls, minus blocked and failed ones (see module),
    plus the `approved` review calls among `reviews`, counted exactly like `pass` calls."""
    q = dict.fromkeys(Component, 0)
    for g in groups:
        if g.risk_verdict != "pass":
            continue
        m = g.measures
        good = m["calls"] - m["blocked_calls"] - m["failed_calls"]
        _add(
            q,
            cache_hit=g.cache_hit,
            calls=good,
            prompt=m["prompt_tokens"],
            completion=m["completion_tokens"],
        )
    for r in reviews:
        if r.status == ReviewStatus.APPROVED:
            _add(
                q,
                cache_hit=r.cache_hit,
                calls=r.calls - r.unbilled_calls,
                prompt=r.prompt_tokens,
                completion=r.completion_tokens,
            )
    return q


def review_lineage(reviews: Sequence[ReviewGroup], **filters: Any) -> dict[str, Any]:
    """Lineage of review calls: raw rows joined with the queue, sums, decided item ids."""
    decided = [r.decided_from for r in reviews if r.decided_from is not None]
    decided_to = [r.decided_to for r in reviews if r.decided_to is not None]
    return {
        "table": "usage_calls JOIN review_items ON call_id",
        "filter": {"risk_verdict": "review", **filters},
        "hour_from": iso(min(r.first_hour for r in reviews)),
        "hour_to": iso(max(r.last_hour for r in reviews) + HOUR),
        "decided_from": iso(min(decided)) if decided else None,
        "decided_to": iso(max(decided_to)) if decided_to else None,
        "calls": sum(r.calls for r in reviews),
        "prompt_tokens": sum(r.prompt_tokens for r in reviews),
        "completion_tokens": sum(r.completion_tokens for r in reviews),
        "unbilled_calls": sum(r.unbilled_calls for r in reviews),
        "review_item_ids": sorted(i for r in reviews for i in r.item_ids),
    }
