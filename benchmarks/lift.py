"""Benchmark: lift with intervals, end to end, SQL aggregates vs a row-level pandas baseline.

Generates N exposures (N units, one first exposure each: raw `attribution_exposures` rows
and their `experiment_units` rows) and N/10 purchases into a fresh PostgreSQL database with
COPY, then times, in the same run and on the same data:

  (a) liftmeter  `compute_experiment`: one SQL aggregation (window, pre-period, pooled
                 P99.9 cap, per arm and segment sums), the statistics on the aggregates
                 (conversion rate, revenue per unit, CUPED, SRM, sequential intervals,
                 per-segment lift) and the stored `LiftResult`;
  (b) pandas     reading the unit and purchase rows out of PostgreSQL (COPY … TO STDOUT,
                 the fastest way to get rows into pandas), the row-level computation of
                 the same statistics (`attribution.baseline`) and the same analysis.

It prints both times, their ratio, the peak RSS after each phase, and checks that both
give the same incremental revenue estimate.

usage:  nice -n 10 python benchmarks/lift.py --exposures 1000000
full size (10M exposures, 1M conversions; several minutes and ~10 GB RAM for pandas):
        nice -n 10 python benchmarks/lift.py --exposures 10000000
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from attribution.baseline import row_level_statistics  # noqa: E402
from attribution.compute import analyze_statistics, compute_experiment  # noqa: E402
from attribution.metric import AnalysisOptions  # noqa: E402
from attribution.models import Experiment  # noqa: E402
from liftmeter import migrate  # noqa: E402
from liftmeter.db import build_engine, session_factory  # noqa: E402
from liftmeter.models import Merchant  # noqa: E402
from liftmeter.settings import AttributionSettings, DatabaseSettings  # noqa: E402

START = datetime(2026, 9, 1, tzinfo=UTC)
END = datetime(2026, 10, 1, tzinfo=UTC)
MERCHANT, EXPERIMENT = "mer_bench", "exp_bench"
HOLDOUT_SHARE = 0.1
PRODUCTS = 500
CHUNK = 1_000_000


def _create_database(admin_url: str) -> str:
    name = f"liftmeter_liftbench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop_database(admin_url: str, url: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def _iso(seconds: np.ndarray) -> pd.Series:
    return pd.Series(pd.Timestamp(START) + pd.to_timedelta(seconds, unit="s")).dt.strftime(
        "%Y-%m-%d %H:%M:%S+00"
    )


def _copy(conn: Any, table: str, columns: list[str], frame: pd.DataFrame) -> None:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False)
    with (
        conn.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)") as copy,
    ):
        copy.write(buffer.getvalue())


def _units(rng: np.random.Generator, lo: int, hi: int) -> pd.DataFrame:
    n = hi - lo
    return pd.DataFrame(
        {
            "unit_id": [f"u{i}" for i in range(lo, hi)],
            "arm": np.where(rng.random(n) < HOLDOUT_SHARE, "holdout", "treatment"),
            "product_id": [f"sku-{i % PRODUCTS}" for i in range(lo, hi)],
            "t0": rng.integers(2 * 86400, 25 * 86400, n),
        }
    )


def load(conn: Any, exposures: int, seed: int) -> None:
    """COPY `exposures` units (raw exposure + unit row each) and exposures/10 purchases."""
    rng = np.random.default_rng(seed)
    conversions_per_chunk = max(CHUNK // 10, 1)
    order = 0
    for lo in range(0, exposures, CHUNK):
        hi = min(lo + CHUNK, exposures)
        units = _units(rng, lo, hi)
        when = _iso(units["t0"].to_numpy())
        raw = pd.DataFrame(
            {
                "event_id": [str(uuid.UUID(int=int(x))) for x in rng.integers(0, 2**62, hi - lo)],
                "merchant_id": MERCHANT,
                "experiment_id": EXPERIMENT,
                "unit_type": "visitor",
                "unit_id": units["unit_id"],
                "product_id": units["product_id"],
                "arm": units["arm"],
                "occurred_at": when,
                "recorded_at": when,
            }
        )
        _copy(conn, "attribution_exposures", list(raw.columns), raw)
        unit_rows = pd.DataFrame(
            {
                "experiment_id": EXPERIMENT,
                "unit_id": units["unit_id"],
                "merchant_id": MERCHANT,
                "arm": units["arm"],
                "product_id": units["product_id"],
                "first_exposed_at": when,
                "multiple_arms": "f",
            }
        )
        _copy(conn, "experiment_units", list(unit_rows.columns), unit_rows)
        # purchases: treatment units are 10 % more likely to be picked
        m = min(conversions_per_chunk * (hi - lo) // CHUNK or 1, hi - lo)
        weight = np.where(units["arm"].to_numpy() == "treatment", 1.1, 1.0)
        picks = rng.choice(hi - lo, size=m, replace=True, p=weight / weight.sum())
        offset = rng.integers(-3 * 86400, 10 * 86400, m)
        at = np.maximum(units["t0"].to_numpy()[picks] + offset, 0)
        purchases = pd.DataFrame(
            {
                "event_id": [str(uuid.UUID(int=int(x))) for x in rng.integers(0, 2**62, m)],
                "merchant_id": MERCHANT,
                "kind": "purchase",
                "visitor_id": units["unit_id"].to_numpy()[picks],
                "product_id": units["product_id"].to_numpy()[picks],
                "order_id": [f"o{order + j}" for j in range(m)],
                "revenue": np.round(rng.lognormal(3.0, 1.2, m), 2),
                "currency": "USD",
                "occurred_at": _iso(at),
                "recorded_at": _iso(at),
            }
        )
        order += m
        _copy(conn, "attribution_conversions", list(purchases.columns), purchases)
    conn.execute("ANALYZE")


def _read(conn: Any, query: str) -> pd.DataFrame:
    buffer = io.BytesIO()
    with (
        conn.cursor() as cursor,
        cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy,
    ):
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    return pd.read_csv(buffer)


def pandas_baseline(engine: Any, experiment: Experiment, settings: AttributionSettings) -> Any:
    """Rows out of PostgreSQL into pandas, then the row-level statistics and analysis."""
    raw = engine.raw_connection()
    try:
        units = _read(
            raw.driver_connection,
            "SELECT unit_id, arm, product_id, first_exposed_at, multiple_arms "
            f"FROM experiment_units WHERE experiment_id = '{EXPERIMENT}'",
        )
        conversions = _read(
            raw.driver_connection,
            "SELECT visitor_id AS key, kind, revenue, occurred_at "
            f"FROM attribution_conversions WHERE merchant_id = '{MERCHANT}'",
        )
    finally:
        raw.close()
    units["first_exposed_at"] = pd.to_datetime(units["first_exposed_at"], utc=True)
    units["multiple_arms"] = units["multiple_arms"] == "t"
    conversions["occurred_at"] = pd.to_datetime(conversions["occurred_at"], utc=True)
    stats = row_level_statistics(
        units,
        conversions,
        start=START,
        end=END,
        window_days=settings.window_days,
        pre_period_days=settings.pre_period_days,
        cap_percentile=settings.cap_percentile,
    )
    revenue, _ = analyze_statistics(
        stats,
        experiment=experiment,
        currency="USD",
        settings=settings,
        options=AnalysisOptions(min_converting_units=settings.min_converting_units),
    )
    return revenue


def _rss_mb() -> float:
    """Peak RSS of this process image (VmHWM; ru_maxrss would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_phase(phase: str, url: str) -> dict[str, Any]:
    """Time one path in this (fresh) process; its peak RSS is the phase's own."""
    engine = build_engine(DatabaseSettings(url=url))
    sessions = session_factory(engine)
    settings = AttributionSettings()
    began = time.perf_counter()
    with sessions.begin() as session:
        experiment = session.get(Experiment, EXPERIMENT)
        assert experiment is not None
        if phase == "sql":
            row, revenue = compute_experiment(
                session,
                experiment=experiment,
                currency="USD",
                period_start=START,
                period_end=END,
                settings=settings,
            )
            reason, amount = row.reason, str(row.conservative_amount)
        else:
            session.expunge(experiment)
            revenue = pandas_baseline(engine, experiment, settings)
            reason, amount = revenue.reason.value, str(revenue.conservative_amount)
    seconds = time.perf_counter() - began
    engine.dispose()
    return {
        "seconds": seconds,
        "rss_mb": _rss_mb(),
        "estimate": revenue.estimate,
        "ci_low": revenue.ci_low,
        "ci_high": revenue.ci_high,
        "reason": reason,
        "amount": amount,
    }


def _subprocess(phase: str, url: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--phase", phase, "--db-url", url],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _prepare(args: argparse.Namespace) -> str:
    url = _create_database(args.pg)
    engine = build_engine(DatabaseSettings(url=url))
    migrate.upgrade(engine)
    with session_factory(engine).begin() as session:
        session.add(Merchant(id=MERCHANT, name="bench", currency="USD"))
        session.flush()
        session.add(
            Experiment(
                id=EXPERIMENT,
                merchant_id=MERCHANT,
                name="bench",
                holdout_share=Decimal(str(HOLDOUT_SHARE)),
                unit_type="visitor",
                starts_at=START,
                ends_at=None,
                status="active",
            )
        )
    began = time.perf_counter()
    raw = engine.raw_connection()
    try:
        load(raw.driver_connection, args.exposures, args.seed)
        raw.commit()
        # The steady state of tables autovacuum has visited, as in production: hint bits and
        # the visibility map set, so the timed query does not pay the bulk load's first read.
        raw.driver_connection.autocommit = True
        raw.driver_connection.execute("VACUUM (ANALYZE)")
    finally:
        raw.close()
        engine.dispose()
    print(
        f"loaded {args.exposures:,} exposures and ~{args.exposures // 10:,} purchases "
        f"with COPY in {time.perf_counter() - began:.1f} s"
    )
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exposures", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--pg", default="postgresql+psycopg://postgres@127.0.0.1:5544/postgres", help="admin URL"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--db-url", help="time an already loaded database (skips loading)")
    parser.add_argument("--phase", choices=["sql", "pandas"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(run_phase(args.phase, args.db_url)))
        return
    url = args.db_url or _prepare(args)
    try:
        sql = _subprocess("sql", url)
        pandas = _subprocess("pandas", url)
    finally:
        if not args.keep and not args.db_url:
            _drop_database(args.pg, url)
        elif not args.db_url:
            print(f"kept {url}")
    same = abs(sql["estimate"] - pandas["estimate"]) <= 1e-6 * max(1.0, abs(pandas["estimate"]))
    print(f"{'':<34}{'seconds':>10}{'peak RSS MB':>14}")
    print(f"{'(a) liftmeter SQL aggregates':<34}{sql['seconds']:>10.2f}{sql['rss_mb']:>14.0f}")
    print(
        f"{'(b) pandas row-level baseline':<34}{pandas['seconds']:>10.2f}{pandas['rss_mb']:>14.0f}"
    )
    print(
        f"ratio pandas / liftmeter: time {pandas['seconds'] / sql['seconds']:.1f}x, "
        f"memory {pandas['rss_mb'] / sql['rss_mb']:.1f}x"
    )
    print(
        f"incremental revenue: SQL {sql['estimate']:,.2f} [{sql['ci_low']:,.2f}, "
        f"{sql['ci_high']:,.2f}] vs pandas {pandas['estimate']:,.2f}; same estimate: {same}; "
        f"reason {sql['reason']}, billable {sql['amount']} USD"
    )
    if not same:
        raise SystemExit("the two computations disagree")


if __name__ == "__main__":
    main()
