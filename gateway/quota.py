"""Per-key rate limits: requests and tokens per fixed one-minute window, in the database.

`reserve` adds one request and the reserved tokens (prompt estimate + max_tokens) to the
key's current window with one atomic upsert (`INSERT … ON CONFLICT DO UPDATE … RETURNING`)
in a short transaction committed before the model runs, so concurrent requests in several
gateway processes see each other's reservations. Over a limit, the transaction is rolled
back (nothing is counted) and `RateLimited` carries the seconds until the window ends
(`Retry-After`). `settle` replaces the reservation by the tokens actually used, in the
transaction that records the call. Windows are fixed minutes: a burst straddling a window
edge can reach twice the limit within 60 s, the usual price of fixed windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from gateway.models import ApiKey, RateWindow
from liftmeter.db import insert_adding_counters
from liftmeter.errors import RateLimited
from liftmeter.settings import GatewaySettings


@dataclass(frozen=True)
class Reservation:
    key_id: str
    window_start: datetime
    tokens: int


def window_of(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def _upsert(session: Session, key_id: str, window: datetime, tokens: int) -> tuple[int, int]:
    table = RateWindow.__table__
    stmt = insert_adding_counters(
        session,
        table,
        key={"key_id": key_id, "window_start": window},
        counters={"requests": 1, "tokens": tokens},
    ).returning(table.c.requests, table.c.tokens)
    requests, used = session.execute(stmt).one()
    return int(requests), int(used)


def reserve(
    session: Session,
    key: ApiKey,
    tokens: int,
    settings: GatewaySettings,
    *,
    now: datetime | None = None,
) -> Reservation:
    """Count one request and `tokens` against `key`'s limits, or raise `RateLimited`.

    Runs in the caller's transaction, which must roll back on `RateLimited` (nothing counted)
    and commit before the model runs (so other processes see the reservation).
    """
    now = now or datetime.now(UTC)
    window = window_of(now)
    rpm = key.requests_per_minute or settings.default_requests_per_minute
    tpm = key.tokens_per_minute or settings.default_tokens_per_minute
    retry_after = max(1, int((window + timedelta(minutes=1) - now).total_seconds()) + 1)
    requests, used = _upsert(session, key.id, window, tokens)
    if requests > rpm:
        raise RateLimited(
            f"more than {rpm} requests per minute for this key", retry_after_s=retry_after
        )
    if used > tpm:
        raise RateLimited(
            f"more than {tpm} tokens per minute for this key",
            retry_after_s=retry_after,
            param="max_tokens",
        )
    return Reservation(key.id, window, tokens)


def settle(session: Session, reservation: Reservation, used_tokens: int) -> None:
    """Replace the reserved tokens by the tokens used (0 when the call failed), in the
    caller's transaction."""
    delta = used_tokens - reservation.tokens
    if delta != 0:
        session.execute(
            update(RateWindow)
            .where(
                RateWindow.key_id == reservation.key_id,
                RateWindow.window_start == reservation.window_start,
            )
            .values(tokens=RateWindow.tokens + delta)
        )
