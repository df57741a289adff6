"""Helpers for the metering tests: merchants, expected totals, the ledger read back."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from liftmeter.events import CallCompleted
from liftmeter.models import Merchant
from metering.ledger import Granularity, UsageQuery, query_usage
from metering.models import MEASURES, UsageCall
from metering.repository import as_utc

Key = tuple[str, datetime]
FAR_PAST = datetime(2020, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def add_merchants(sessions: sessionmaker[Session], ids: Iterable[str]) -> None:
    with sessions.begin() as session:
        session.add_all(Merchant(id=m, name=m, currency="USD") for m in ids)


def hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def expected(events: Iterable[CallCompleted]) -> dict[Key, tuple[int, int, int, int, int]]:
    """Per (merchant, hour): calls, prompt, completion, cached (known), unknown-cached calls.

    Repeated event ids count once.
    """
    out: dict[Key, list[int]] = {}
    seen = set()
    for ev in events:
        if ev.event_id in seen:
            continue
        seen.add(ev.event_id)
        acc = out.setdefault((ev.merchant_id, hour(ev.occurred_at)), [0, 0, 0, 0, 0])
        acc[0] += 1
        acc[1] += ev.prompt_tokens
        acc[2] += ev.completion_tokens
        acc[3] += ev.cached_tokens or 0
        acc[4] += ev.cached_tokens is None
    return {k: (v[0], v[1], v[2], v[3], v[4]) for k, v in out.items()}


def ledger(sessions: sessionmaker[Session]) -> dict[Key, tuple[int, int, int, int, int]]:
    """The same totals as `expected`, read from the ledger (aggregates + adjustments)."""
    with sessions() as session:
        rows = query_usage(
            session, UsageQuery(start=FAR_PAST, end=FAR_FUTURE, granularity=Granularity.HOUR)
        )
    return {
        (r.merchant_id, r.period_start): (
            r.calls,
            r.prompt_tokens,
            r.completion_tokens,
            r.cached_tokens,
            r.cached_tokens_unknown_calls,
        )
        for r in rows
    }


def raw_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(UsageCall)).scalar_one())


def hourly_snapshot(engine: Engine) -> list[tuple[object, ...]]:
    """Every aggregate row, sorted: two ledgers are identical iff their snapshots are."""
    from metering.models import UsageHourly

    t = UsageHourly.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(t).order_by(*t.primary_key.columns)).all()
    return [
        (r.merchant_id, as_utc(r.hour_start), r.meter, r.model, r.cache_hit, r.risk_verdict)
        + tuple(getattr(r, m) for m in MEASURES)
        for r in rows
    ]
