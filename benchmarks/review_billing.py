"""Benchmark: the two review reads of the invoice run over N raw call rows in PostgreSQL.

Builds a fresh database: M merchants, N October `usage_calls` rows (generated in SQL), one
in 50 with risk verdict `review` and a review item each (a third approved, a third
rejected, a third pending), and a finalized October invoice per merchant. Then times

  (a) `review_groups`: the October draft's review calls by status (one statement);
  (b) `late_approved_reviews`: the approved, unsettled items of finalized periods, as a
      November run reads them (one statement; here every approved item, the worst case);

each the median of 3 runs, and prints the plan's top node. Reads only; nothing is billed.

usage: python benchmarks/review_billing.py [--merchants 1000] [--rows 2000000] [--keep]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from billing.review_usage import late_approved_reviews, review_groups  # noqa: E402
from liftmeter import migrate  # noqa: E402
from liftmeter.db import build_engine, session_factory  # noqa: E402
from liftmeter.settings import DatabaseSettings  # noqa: E402

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5544/postgres"
OCT = datetime(2026, 10, 1, tzinfo=UTC)
NOV = datetime(2026, 11, 1, tzinfo=UTC)
AS_OF = datetime(2026, 12, 2, tzinfo=UTC)

_LOAD = (
    "INSERT INTO merchants (id, name, currency, status, created_at) "
    "SELECT 'mer_' || m, 'm' || m, 'USD', 'active', now() "
    "FROM generate_series(0, :merchants - 1) m",
    "INSERT INTO usage_calls (event_id, merchant_id, occurred_at, hour_start, call_id, model,"
    " cache_hit, risk_verdict, status, prompt_tokens, completion_tokens, cached_tokens,"
    " disposition, recorded_at) "
    "SELECT md5(i::text)::uuid, 'mer_' || (i % :merchants), h, h, 'call_' || i, 'm',"
    " i % 7 = 0, CASE WHEN hashtext(i::text) % 50 = 0 THEN 'review' ELSE 'pass' END, 'succeeded',"
    " 100 + i % 13, 50 + i % 11, NULL, 'hourly', now() "
    "FROM generate_series(1, :rows) i, "
    "LATERAL (SELECT timestamptz '2026-10-01 00:00+00' + (i % 744) * interval '1 hour' AS h) t",
    "INSERT INTO review_items (id, call_id, description_id, merchant_id, product_id, text,"
    " score, reasons, model_version, status, decided_by, decided_at, created_at) "
    "SELECT 'rev_' || call_id, call_id, 'd', merchant_id, 'p', 't', 0.5, '', 'v',"
    " (ARRAY['approved', 'rejected', 'pending'])[1 + abs(hashtext(call_id)) % 3],"
    " 'reviewer', hour_start + interval '30 days', hour_start "
    "FROM usage_calls WHERE risk_verdict = 'review'",
    "UPDATE review_items SET decided_by = NULL, decided_at = NULL WHERE status = 'pending'",
    "INSERT INTO invoices (id, merchant_id, period_start, period_end, currency, status,"
    " number, total, computed_at, finalized_at) "
    "SELECT 'inv_' || id, id, timestamptz '2026-10-01 00:00+00',"
    " timestamptz '2026-11-01 00:00+00', 'USD', 'finalized', 'INV-2026-' || id, 0, now(),"
    " now() FROM merchants",
)


def _load(url: str, merchants: int, rows: int) -> float:
    started = time.perf_counter()
    engine = build_engine(DatabaseSettings(url=url))
    migrate.upgrade(engine)
    with engine.begin() as conn:
        for statement in _LOAD:
            conn.execute(text(statement), {"merchants": merchants, "rows": rows})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
    engine.dispose()
    return time.perf_counter() - started


def _timed(url: str, read: Callable[[Any], dict[str, list[Any]]]) -> tuple[float, int, int]:
    engine = build_engine(DatabaseSettings(url=url))
    sessions = session_factory(engine)
    times, result = [], {}
    for _ in range(3):
        with sessions() as session:
            started = time.perf_counter()
            result = read(session)
            times.append(time.perf_counter() - started)
    engine.dispose()
    groups = [g for gs in result.values() for g in gs]
    return statistics.median(times), len(groups), sum(g.calls for g in groups)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merchants", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    name = f"liftmeter_review_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        load_s = _load(url, args.merchants, args.rows)
        loaded = f"{args.rows:,} rows, {args.merchants:,} merchants (loaded in {load_s:.1f} s)"
        print(f"usage_calls: {loaded}")
        reads = {
            "review_groups (October draft)": lambda s: review_groups(
                s, start=OCT, end=NOV, as_of=AS_OF
            ),
            "late_approved_reviews (November run)": lambda s: late_approved_reviews(
                s, before=NOV, as_of=AS_OF
            ),
        }
        print(f"{'read':40} {'median s':>9} {'groups':>8} {'calls':>9}")
        for label, read in reads.items():
            seconds, groups, calls = _timed(url, read)
            print(f"{label:40} {seconds:9.3f} {groups:8,} {calls:9,}")
    finally:
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
