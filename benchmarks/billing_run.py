"""Benchmark: the invoice run over M merchants and an N-row hourly ledger in PostgreSQL.

Builds a fresh database: M merchants with a tiered plan, N `usage_hourly` rows for one
month (generated in SQL with generate_series: merchant × hour × dimensions), and a stored
lift result for every tenth merchant. Then, in the same run, each in its own process
against the same data (each rolled back, so both see the same state):

  (a) liftmeter   `billing.invoice.run_invoices`: one aggregate query per input over all
                  merchants, pure rating, three bulk writes;
  (b) naive       per merchant: read its usage, plan and lift result (N+1 queries), rate
                  with the same pure functions, insert its invoice and lines one by one.

Reported side by side: wall time, merchants per second, peak RSS of the process (and the
RSS right after imports), and the sum of all invoice totals (which must agree).

usage: python benchmarks/billing_run.py [--merchants 10000] [--rows 50000000]
                                        [--naive-merchants M] [--keep]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from liftmeter import migrate  # noqa: E402
from liftmeter.db import build_engine, session_factory  # noqa: E402
from liftmeter.settings import DatabaseSettings  # noqa: E402

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5544/postgres"
PERIOD = "2026-10"
HOURS = 744  # October 2026
COMBOS = (("pass", False), ("pass", True), ("review", False), ("block", False))
PLAN = {
    "currency": "USD",
    "charges": {
        "prompt_tokens": {"unit_price": "0.002", "included_units": 100000},
        "completion_tokens": {"unit_price": "0.006"},
        "calls": {
            "tiers": [
                {"up_to": 1000, "unit_price": "0.05"},
                {"up_to": 10000, "unit_price": "0.02"},
                {"up_to": None, "unit_price": "0.01"},
            ]
        },
        "cache_hits": {"unit_price": "0.001"},
    },
    "minimum_commitment": "50.00",
    "revenue_share": {"percent": "10", "cap": "5000.00"},
}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _create_database(admin_url: str) -> str:
    name = f"liftmeter_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(build_engine(DatabaseSettings(url=url)))
    return url


def _drop_database(admin_url: str, url: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def _load(url: str, merchants: int, rows: int) -> float:
    """Generate merchants, plans, the hourly ledger and lift results in SQL; seconds taken."""
    from billing.plans import dump_plan, parse_plan

    per_merchant = rows // merchants
    started = time.perf_counter()
    engine = build_engine(DatabaseSettings(url=url))
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        conn.execute(
            text(
                "INSERT INTO merchants (id, name, currency, status, created_at) "
                "SELECT 'mer_' || lpad(i::text, 6, '0'), 'm' || i, 'USD', 'active', now() "
                "FROM generate_series(0, :m - 1) i"
            ),
            {"m": merchants},
        )
        conn.execute(
            text(
                "INSERT INTO plan_versions (id, merchant_id, effective_from, currency, spec_json, "
                "created_at, created_by) SELECT 'plv_' || id, id, '2026-10-01T00:00Z', 'USD', "
                ":spec, now(), 'bench' FROM merchants"
            ),
            {"spec": dump_plan(parse_plan(PLAN))},
        )
        # row g -> merchant g % M, slot j = g / M -> hour j % 744, combo, model variant
        verdicts = "ARRAY[" + ",".join(f"'{v}'" for v, _ in COMBOS) + "]"
        hits = "ARRAY[" + ",".join("true" if h else "false" for _, h in COMBOS) + "]"
        conn.execute(
            text(
                "INSERT INTO usage_hourly (merchant_id, hour_start, meter, model, cache_hit, "
                "risk_verdict, calls, prompt_tokens, completion_tokens, cached_tokens, "
                "cached_tokens_unknown_calls, blocked_calls, flagged_calls, failed_calls) "
                "SELECT 'mer_' || lpad((g % :m)::text, 6, '0'), "
                "TIMESTAMPTZ '2026-10-01T00:00Z' + ((g / :m) % :hours) * INTERVAL '1 hour', "
                "'descriptions', 'model-' || ((g / :m) / (:hours * :combos)), "
                f"({hits})[((g / :m) / :hours) % :combos + 1], "
                f"({verdicts})[((g / :m) / :hours) % :combos + 1], "
                "c, c * (90 + g % 40), c * (45 + g % 30), 0, c, "
                f"CASE WHEN ({verdicts})[((g / :m) / :hours) % :combos + 1] = 'block' "
                "THEN c ELSE 0 END, "
                f"CASE WHEN ({verdicts})[((g / :m) / :hours) % :combos + 1] = 'review' "
                "THEN c ELSE 0 END, 0 "
                "FROM generate_series(0, :n - 1) g, "
                "LATERAL (SELECT 1 + (g::bigint * 7919) % 9 AS c) x"
            ),
            {"m": merchants, "n": per_merchant * merchants, "hours": HOURS, "combos": len(COMBOS)},
        )
        conn.execute(
            text(
                "INSERT INTO experiments (id, merchant_id, name, holdout_share, unit_type, "
                "starts_at, status, created_at) SELECT 'exp_' || id, id, 'holdout', 0.5, "
                "'visitor', '2026-10-01T00:00Z', 'active', now() FROM merchants "
                "WHERE right(id, 1) = '0'"
            )
        )
        conn.execute(
            text(
                "INSERT INTO lift_results (id, merchant_id, experiment_id, period_start, "
                "period_end, computed_at, method_version, currency, reason, conservative_amount, "
                "treated_units, holdout_units, statistics_json) SELECT 'lr_' || merchant_id, "
                "merchant_id, id, '2026-10-01T00:00Z', '2026-11-01T00:00Z', now(), 'bench', "
                "'USD', 'measured', (length(id) * 1234.56)::numeric, 1000, 1000, '{}' "
                "FROM experiments"
            )
        )
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


def _liftmeter(url: str, limit: int | None) -> dict[str, Any]:
    from billing.invoice import Period, run_invoices

    engine = build_engine(DatabaseSettings(url=url))
    sessions = session_factory(engine)
    imported = _rss_mb()
    now = datetime(2026, 11, 28, tzinfo=UTC)
    started = time.perf_counter()
    with sessions() as session:
        summary = run_invoices(session, period=Period.parse(PERIOD), now=now)
        session.flush()
        elapsed = time.perf_counter() - started
        total = session.execute(
            text(
                "SELECT coalesce(sum(total), 0) FROM invoices WHERE merchant_id IN "
                "(SELECT id FROM merchants ORDER BY id LIMIT :n)"
            ),
            {"n": limit},
        ).scalar_one()
        session.rollback()
    return {
        "seconds": elapsed,
        "invoices": summary.created,
        "lines": summary.lines,
        "total": str(total),
        "rss_mb": _rss_mb(),
        "rss_after_import_mb": imported,
    }


def _naive(url: str, limit: int | None) -> dict[str, Any]:
    """N+1: per merchant its usage, plan and lift result, then its own inserts."""
    from sqlalchemy import select

    from attribution.results import lift_result_for_period
    from billing.invoice import Period, compose_invoice
    from billing.models import Invoice, InvoiceLine, PlanVersion
    from billing.plans import parse_plan
    from billing.pricing import total
    from billing.repository import usage_groups
    from liftmeter.ids import new_id
    from liftmeter.models import Merchant

    engine = build_engine(DatabaseSettings(url=url))
    sessions = session_factory(engine)
    imported = _rss_mb()
    period = Period.parse(PERIOD)
    started = time.perf_counter()
    count = lines = 0
    with sessions() as session:
        stmt = select(Merchant.id).order_by(Merchant.id)
        merchant_ids = list(session.scalars(stmt.limit(limit) if limit else stmt))
        for mid in merchant_ids:
            version = session.scalars(
                select(PlanVersion)
                .where(PlanVersion.merchant_id == mid, PlanVersion.effective_from <= period.start)
                .order_by(PlanVersion.effective_from.desc())
                .limit(1)
            ).first()
            if version is None:
                continue
            groups = usage_groups(session, start=period.start, end=period.end, merchant_id=mid).get(
                mid, []
            )
            lift = lift_result_for_period(
                session, merchant_id=mid, period_start=period.start, period_end=period.end
            )
            composed = compose_invoice(
                version=version, plan=parse_plan(version.spec), groups=groups, lift=lift
            )
            invoice = Invoice(
                id=new_id("inv"),
                merchant_id=mid,
                period_start=period.start,
                period_end=period.end,
                currency="USD",
                status="draft",
                plan_version_id=version.id,
                total=total(c.priced for c in composed),
            )
            session.add(invoice)
            session.flush()
            for pos, c in enumerate(composed, start=1):
                session.add(
                    InvoiceLine(
                        id=f"{invoice.id}-{pos:04d}",
                        invoice_id=invoice.id,
                        position=pos,
                        kind=c.priced.kind.value,
                        component=c.priced.component,
                        description=c.priced.description,
                        quantity=c.priced.quantity,
                        unit_price=c.priced.unit_price,
                        amount=c.priced.amount,
                        lineage_json=json.dumps(c.lineage, default=str),
                    )
                )
                session.flush()
                lines += 1
            count += 1
        elapsed = time.perf_counter() - started
        grand = session.execute(text("SELECT coalesce(sum(total), 0) FROM invoices")).scalar_one()
        session.rollback()
    return {
        "seconds": elapsed,
        "invoices": count,
        "lines": lines,
        "total": str(grand),
        "rss_mb": _rss_mb(),
        "rss_after_import_mb": imported,
    }


def _phase(name: str, url: str, limit: int | None) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--phase", name, "--url", url]
    if limit:
        cmd += ["--naive-merchants", str(limit)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{done.stderr}")
    out = done.stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merchants", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=50_000_000)
    parser.add_argument(
        "--naive-merchants",
        type=int,
        default=None,
        help="run the naive baseline on the first M merchants only",
    )
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--phase", choices=["liftmeter", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        run = (
            _liftmeter(args.url, args.naive_merchants)
            if args.phase == "liftmeter"
            else _naive(args.url, args.naive_merchants)
        )
        print(json.dumps(run))
        return
    url = _create_database(args.admin_url)
    try:
        load_s = _load(url, args.merchants, args.rows)
        fast = _phase("liftmeter", url, args.naive_merchants)
        slow = _phase("naive", url, args.naive_merchants)
    finally:
        if not args.keep:
            _drop_database(args.admin_url, url)
    rows = args.rows // args.merchants * args.merchants
    print(
        f"ledger: {rows:,} usage_hourly rows, {args.merchants:,} merchants, "
        f"period {PERIOD} (generated in {load_s:.1f} s)"
    )
    print(f"{'':34}{'liftmeter (set-based)':>24}{'naive (per merchant)':>24}")
    for label, key, fmt in (
        ("invoices", "invoices", "{:,}"),
        ("lines", "lines", "{:,}"),
        ("wall time (s)", "seconds", "{:.2f}"),
        ("peak RSS (MB)", "rss_mb", "{:.0f}"),
        ("RSS after imports (MB)", "rss_after_import_mb", "{:.0f}"),
        ("sum of totals, naive's merchants", "total", "{}"),
    ):
        print(f"{label:34}{fmt.format(fast[key]):>24}{fmt.format(slow[key]):>24}")
    rate_fast = fast["invoices"] / fast["seconds"]
    rate_slow = slow["invoices"] / slow["seconds"]
    print(f"{'merchants per second':34}{rate_fast:>24,.0f}{rate_slow:>24,.0f}")
    print(f"speed-up per merchant: {rate_fast / rate_slow:.1f}x")
    if slow["total"] != fast["total"]:
        raise SystemExit("the two runs disagree on the totals")


if __name__ == "__main__":
    main()
