"""Ingest rules, late events, closed periods, queries and rebuilds, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from liftmeter.errors import Conflict, ValidationFailed
from liftmeter.runtime import Runtime
from metering.ledger import (
    Granularity,
    UsageQuery,
    pending_adjustments,
    query_usage,
    settle_adjustments,
    usage_totals,
)
from metering.models import UsageAdjustment, UsageCall, UsageHourly
from metering.replay import rebuild_ledger
from metering.service import close_period, record_calls

from factories import BASE_TIME, call_event
from metering_support import FAR_FUTURE, FAR_PAST, expected, hourly_snapshot, ledger, raw_rows

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def _record(rt: Runtime, events: list, now: datetime = NOW) -> list:
    with rt.sessions.begin() as session:
        return record_calls(session, events, now=now)


def _varied(n: int, start: datetime = BASE_TIME, step_s: int = 97) -> list:
    """Calls over many hours and every dimension value, with known and unknown cached tokens."""
    models = itertools.cycle(["sparse-small", "sparse-large", "gpt-x"])
    verdicts = itertools.cycle(["pass", "pass", "review", "block"])
    return [
        call_event(
            f"mer_{i % 3}",
            i,
            occurred_at=start + timedelta(seconds=i * step_s),
            model=next(models),
            risk_verdict=(verdict := next(verdicts)),
            status="blocked" if verdict == "block" else ("failed" if i % 23 == 0 else "succeeded"),
            cache_hit=i % 5 == 0,
            cached_tokens=None if i % 4 == 0 else i % 50,
        )
        for i in range(n)
    ]


def test_duplicate_event_in_one_batch_counts_once(rt: Runtime) -> None:
    ev = call_event("mer_a", 1)
    assert _record(rt, [ev, ev, call_event("mer_a", 2)]) == []
    assert ledger(rt.sessions) == expected([ev, call_event("mer_a", 2)])
    assert raw_rows(rt.engine) == 2


def test_repeated_batches_change_nothing(rt: Runtime) -> None:
    events = _varied(300)
    _record(rt, events)
    before = hourly_snapshot(rt.engine)
    _record(rt, events[::-1])
    _record(rt, events[100:200])
    assert hourly_snapshot(rt.engine) == before
    assert ledger(rt.sessions) == expected(events)


def test_unknown_cached_tokens_are_counted_never_summed_as_zero(rt: Runtime) -> None:
    _record(
        rt, [call_event("mer_a", 1, cached_tokens=None), call_event("mer_a", 2, cached_tokens=7)]
    )
    with rt.sessions() as session:
        (row,) = query_usage(session, UsageQuery(start=FAR_PAST, end=FAR_FUTURE))
    assert (row.calls, row.cached_tokens, row.cached_tokens_unknown_calls) == (2, 7, 1)


def test_blocked_flagged_and_failed_calls_are_counted(rt: Runtime) -> None:
    _record(
        rt,
        [
            call_event("mer_a", 1, risk_verdict="block", status="blocked"),
            call_event("mer_a", 2, risk_verdict="review"),
            call_event("mer_a", 3, status="failed"),
            call_event("mer_a", 4),
        ],
    )
    with rt.sessions() as session:
        totals = usage_totals(session, UsageQuery(start=FAR_PAST, end=FAR_FUTURE))
    assert (totals["calls"], totals["blocked_calls"], totals["flagged_calls"]) == (4, 1, 1)
    assert totals["failed_calls"] == 1


def test_late_event_lands_in_the_hour_it_happened(rt: Runtime) -> None:
    _record(rt, [call_event("mer_a", 1, occurred_at=BASE_TIME)])
    late = call_event("mer_a", 2, occurred_at=BASE_TIME - timedelta(days=20, minutes=1))
    _record(rt, [late], now=NOW)
    assert set(ledger(rt.sessions)) == {
        ("mer_a", BASE_TIME),
        ("mer_a", BASE_TIME - timedelta(days=20, hours=1)),
    }


def test_rejected_events_are_returned_with_a_reason_and_not_counted(rt: Runtime) -> None:
    good = call_event("mer_a", 1)
    bad = {
        "merchant_id": call_event("mer_nobody", 2),
        "before 2020": call_event("mer_a", 3, occurred_at=datetime(2019, 12, 31, tzinfo=UTC)),
        "future": call_event("mer_a", 4, occurred_at=NOW + timedelta(days=1, seconds=1)),
    }
    rejections = _record(rt, [good, *bad.values()])
    reasons = {r.event_id: r.reason for r in rejections}
    assert set(reasons) == {ev.event_id for ev in bad.values()}
    assert "unknown merchant" in reasons[bad["merchant_id"].event_id]
    assert "before 2020" in reasons[bad["before 2020"].event_id]
    assert "future" in reasons[bad["future"].event_id]
    assert ledger(rt.sessions) == expected([good])
    assert raw_rows(rt.engine) == 1
    # a day ahead is clock skew, not an error
    assert _record(rt, [call_event("mer_a", 5, occurred_at=NOW + timedelta(hours=23))]) == []


def test_late_event_for_a_closed_period_becomes_a_pending_adjustment(rt: Runtime) -> None:
    november = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    on_time = call_event("mer_a", 1, occurred_at=BASE_TIME)
    _record(rt, [on_time])
    with rt.sessions.begin() as session:
        close_period(session, "mer_a", *november)
    closed_before = hourly_snapshot(rt.engine)
    late = call_event("mer_a", 2, occurred_at=BASE_TIME + timedelta(minutes=5))
    other = call_event("mer_b", 3, occurred_at=BASE_TIME)  # mer_b's period is still open
    december = call_event("mer_a", 4, occurred_at=datetime(2026, 12, 1, tzinfo=UTC))
    _record(rt, [late, other, december], now=datetime(2026, 12, 2, tzinfo=UTC))
    _record(rt, [late], now=datetime(2026, 12, 2, tzinfo=UTC))  # redelivered: still once

    with rt.sessions() as session:
        closed_hour = session.execute(
            select(UsageHourly.calls).where(
                UsageHourly.merchant_id == "mer_a", UsageHourly.hour_start == BASE_TIME
            )
        ).scalar_one()
        pending = pending_adjustments(session, "mer_a")
    assert closed_hour == 1  # the closed period's aggregate did not move
    assert [(p.event_id, p.calls, p.prompt_tokens) for p in pending] == [
        (late.event_id, 1, late.prompt_tokens)
    ]
    assert pending[0].period_start.replace(tzinfo=UTC) == november[0]
    assert [r for r in hourly_snapshot(rt.engine) if r[0] == "mer_a" and r[1] == BASE_TIME] == [
        r for r in closed_before if r[0] == "mer_a"
    ]
    # usage by occurrence still shows every call, so totals equal the raw rows
    assert ledger(rt.sessions) == expected([on_time, late, other, december])
    with rt.sessions.begin() as session:
        ids = [p.id for p in pending]
        at = datetime(2026, 12, 3, tzinfo=UTC)
        assert settle_adjustments(session, ids, invoice_id="inv_1", settled_at=at) == 1
        assert settle_adjustments(session, ids, invoice_id="inv_2", settled_at=at) == 0
    with rt.sessions() as session:
        assert pending_adjustments(session, "mer_a") == []


def test_close_period_is_idempotent_and_refuses_overlaps_and_ragged_bounds(rt: Runtime) -> None:
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    with rt.sessions.begin() as session:
        close_period(session, "mer_a", start, end)
    with rt.sessions.begin() as session:
        close_period(session, "mer_a", start, end)  # a retried finalize
    with rt.sessions.begin() as session, pytest.raises(Conflict):
        close_period(session, "mer_a", start + timedelta(days=3), end + timedelta(days=3))
    with rt.sessions.begin() as session, pytest.raises(ValidationFailed) as exc:
        close_period(session, "mer_a", end, end + timedelta(minutes=30))
    assert exc.value.param == "period_end"
    with rt.sessions.begin() as session, pytest.raises(ValidationFailed):
        close_period(session, "mer_a", end, end)


@pytest.mark.parametrize("granularity", list(Granularity))
def test_usage_at_every_granularity_equals_the_raw_rows(
    rt: Runtime, granularity: Granularity
) -> None:
    events = _varied(700, start=datetime(2026, 8, 29, 20, tzinfo=UTC), step_s=9_000)  # ~73 days
    _record(rt, events)
    with rt.sessions() as session:
        raw = session.execute(
            select(
                UsageCall.merchant_id,
                func.count(),
                func.sum(UsageCall.prompt_tokens),
                func.sum(UsageCall.completion_tokens),
                func.sum(func.coalesce(UsageCall.cached_tokens, 0)),
            ).group_by(UsageCall.merchant_id)
        ).all()
        query = UsageQuery(start=FAR_PAST, end=FAR_FUTURE, granularity=granularity)
        rows = query_usage(session, query)
        by_model = query_usage(
            session,
            UsageQuery(
                start=FAR_PAST,
                end=FAR_FUTURE,
                granularity=granularity,
                group_by=("model", "cache_hit", "risk_verdict"),
            ),
        )
    per_merchant: dict[str, list[int]] = {}
    for r in rows:
        acc = per_merchant.setdefault(r.merchant_id, [0, 0, 0, 0])
        for i, v in enumerate((r.calls, r.prompt_tokens, r.completion_tokens, r.cached_tokens)):
            acc[i] += v
    assert per_merchant == {m: [int(n), int(p), int(c), int(k)] for m, n, p, c, k in raw}
    assert sum(r.calls for r in by_model) == len(events)
    assert {r.period_start for r in rows} == {r.period_start for r in by_model}
    for r in rows:
        if granularity is not Granularity.HOUR:
            assert r.period_start.hour == 0
        if granularity is Granularity.MONTH:
            assert r.period_start.day == 1
    expected_buckets = {"hour": 700, "day": 74, "month": 4}[granularity.value]
    assert len({r.period_start for r in rows}) == pytest.approx(expected_buckets, abs=1)


def test_query_window_and_merchant_filter_select_exactly_their_hours(rt: Runtime) -> None:
    events = _varied(200, step_s=1800)
    _record(rt, events)
    start, end = BASE_TIME + timedelta(hours=10), BASE_TIME + timedelta(hours=40)
    with rt.sessions() as session:
        totals = usage_totals(session, UsageQuery(start=start, end=end, merchant_id="mer_1"))
    inside = [e for e in events if start <= e.occurred_at < end and e.merchant_id == "mer_1"]
    assert totals["calls"] == len(inside)
    assert totals["prompt_tokens"] == sum(e.prompt_tokens for e in inside)


def test_keyset_pages_cover_every_row_once(rt: Runtime) -> None:
    _record(rt, _varied(400))
    query = UsageQuery(
        start=FAR_PAST, end=FAR_FUTURE, granularity=Granularity.HOUR, group_by=("model",)
    )
    with rt.sessions() as session:
        everything = query_usage(session, query)
        pages, after = [], None
        while True:
            page = query_usage(session, query, after=after, limit=7)
            pages.extend(page)
            if len(page) < 7:
                break
            after = page[-1].key()
    assert pages == everything
    assert len(everything) > 20


def test_rebuild_reproduces_the_aggregates_from_raw_rows(rt: Runtime) -> None:
    events = _varied(500, step_s=600)
    _record(rt, events)
    with rt.sessions.begin() as session:
        close_period(session, "mer_0", BASE_TIME, BASE_TIME + timedelta(hours=3))
    _record(rt, [call_event("mer_0", 9999, occurred_at=BASE_TIME + timedelta(minutes=1))])
    before = hourly_snapshot(rt.engine)
    with rt.sessions.begin() as session:  # the aggregates drift (a bad manual fix, a bug)
        session.execute(update(UsageHourly).values(calls=UsageHourly.calls + 1))
    progress: list[tuple[int, int]] = []
    with rt.sessions.begin() as session:
        rebuilt = rebuild_ledger(session, progress=lambda d, t: progress.append((d, t)))
    assert hourly_snapshot(rt.engine) == before
    assert rebuilt == len(events)  # the adjustment stays an adjustment
    assert progress[-1][0] == progress[-1][1] >= 4
    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(UsageAdjustment)) == 1
