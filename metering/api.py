"""The usage read API, an `APIRouter` the gateway mounts: `GET /v1/usage`.

Query parameters: `from`, `to` (ISO 8601 with a timezone, whole UTC hours; `to` exclusive),
`granularity` (hour|day|month, default day), `group_by` (comma-separated subset of
model, cache_hit, risk_verdict), `merchant_id`, `limit` (1–1000, default 100), `cursor`
(opaque, from the previous page) and `format` (json|csv; `Accept: text/csv` also selects
CSV). Merchant keys see only their own usage (asking for another merchant is a 404);
finance and admin keys see every merchant, or the one they name. Bad parameters raise
`ValidationFailed` naming the parameter; the gateway maps errors to HTTP statuses.

Pages are keyset-paginated on (period, merchant, meter, dimensions), so usage arriving
between two requests never shifts or repeats rows already returned. A CSV response is the
same page; the next cursor is in the `X-Next-Cursor` header.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from liftmeter.errors import ValidationFailed
from liftmeter.web import Principal, Scope, db_session, require
from metering.ledger import Granularity, UsageQuery, UsageRow, query_usage
from metering.models import DIMENSIONS
from metering.schemas import CSV_COLUMNS, UsagePage, UsageRecord

router = APIRouter(prefix="/v1", tags=["usage"])

MAX_LIMIT = 1000


def _parse_time(value: str | None, param: str) -> datetime:
    if not value:
        raise ValidationFailed("is required (ISO 8601 with a timezone)", param=param)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"not an ISO 8601 time: {value!r}", param=param) from None
    if moment.tzinfo is None:
        raise ValidationFailed("needs a timezone (e.g. Z or +00:00)", param=param)
    if (moment.minute, moment.second, moment.microsecond) != (0, 0, 0):
        raise ValidationFailed("must be a whole hour", param=param)
    return moment


def _parse_query(
    *, start: str | None, end: str | None, granularity: str, group_by: str, merchant: str | None
) -> UsageQuery:
    begin, finish = _parse_time(start, "from"), _parse_time(end, "to")
    if finish <= begin:
        raise ValidationFailed("must be after 'from'", param="to")
    try:
        grain = Granularity(granularity)
    except ValueError:
        raise ValidationFailed("must be hour, day or month", param="granularity") from None
    dims = [d.strip() for d in group_by.split(",") if d.strip()]
    unknown = [d for d in dims if d not in DIMENSIONS]
    if unknown or len(set(dims)) != len(dims):
        raise ValidationFailed(
            f"must be distinct names among {', '.join(DIMENSIONS)}", param="group_by"
        )
    ordered = tuple(d for d in DIMENSIONS if d in dims)
    return UsageQuery(
        start=begin, end=finish, granularity=grain, merchant_id=merchant, group_by=ordered
    )


def _fingerprint(query: UsageQuery) -> str:
    raw = repr((query.start, query.end, query.granularity, query.group_by, query.merchant_id))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def encode_cursor(row: UsageRow, query: UsageQuery) -> str:
    key = [row.period_start.isoformat(), *row.key()[1:]]
    blob = json.dumps({"k": key, "q": _fingerprint(query)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(blob.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, query: UsageQuery) -> list[Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key = list(data["k"])
        fresh = data["q"] == _fingerprint(query) and len(key) == 3 + len(query.group_by)
        key[0] = datetime.fromisoformat(key[0])
    except (ValueError, KeyError, TypeError):
        fresh = False
    if not fresh:
        raise ValidationFailed("invalid, or from a different query", param="cursor")
    return key


def _parse_limit(limit: str) -> int:
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
        raise ValidationFailed(f"must be an integer from 1 to {MAX_LIMIT}", param="limit")
    return int(limit)


def _wants_csv(fmt: str | None, accept: str) -> bool:
    if fmt not in (None, "json", "csv"):
        raise ValidationFailed("must be json or csv", param="format")
    return fmt == "csv" or (fmt is None and "text/csv" in accept)


def _csv(page: UsagePage) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for record in page.data:
        values = record.model_dump(mode="json")
        writer.writerow(["" if values[c] is None else values[c] for c in CSV_COLUMNS])
    headers = {"X-Next-Cursor": page.next_cursor} if page.next_cursor else {}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/usage", response_model=UsagePage)
def get_usage(
    request: Request,
    principal: Annotated[Principal, Depends(require(Scope.USAGE_READ))],
    session: Annotated[Session, Depends(db_session)],
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    granularity: str = "day",
    group_by: str = "",
    merchant_id: str | None = None,
    limit: str = "100",
    cursor: str | None = None,
    format: str | None = None,  # noqa: A002 - the public parameter name
) -> Any:
    """Usage per period (and merchant, meter, requested dimensions), one page at a time."""
    query = _parse_query(
        start=start,
        end=end,
        granularity=granularity,
        group_by=group_by,
        merchant=principal.merchant_scope(merchant_id),
    )
    size = _parse_limit(limit)
    as_csv = _wants_csv(format, request.headers.get("accept", ""))
    after = decode_cursor(cursor, query) if cursor else None
    rows = query_usage(session, query, after=after, limit=size + 1)
    more = len(rows) > size
    rows = rows[:size]
    page = UsagePage(
        start=query.start,
        end=query.end,
        granularity=query.granularity,
        group_by=list(query.group_by),
        data=[UsageRecord.from_row(r) for r in rows],
        next_cursor=encode_cursor(rows[-1], query) if more else None,
    )
    return _csv(page) if as_csv else page
