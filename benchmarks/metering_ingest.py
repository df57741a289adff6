"""Benchmark: usage-ledger ingest rate from real Kafka into a fresh PostgreSQL database.

Produces N `CallCompleted` events to a new topic, then measures, in the same run:

  (a) naive     the same metering handler, one transaction (and commit) per event, on a subset;
  (b) liftmeter the metering consumer (`metering.consumer.build_runner`: fast call
                decoding, one database statement per batch, the next batch polled while
                the transaction runs), as one process and as `--processes` members of one
                consumer group (Kafka splits the partitions between them);
  (c) raw       kafka-python consuming the topic with no decoding and no database work;
  (d) raw       librdkafka (confluent-kafka, the client liftmeter's consumers run on) likewise.

Each phase runs in its own process(es) (peak RSS reported, the largest member's for (b))
against its own fresh database. (a), (c) and (d) are timed from the first non-empty poll;
(b) from the moment every member has applied its first batch to the moment the first member
ran dry (group joins and the rebalance when the second member joins are not timed).

This machine's speed drifts by tens of percent from minute to minute, so (b), (c) and (d)
run `--rounds` times, interleaved, and the table shows each one's median round and, under
÷ (c), the median of its per-round ratios to (c) (every round is printed under the table);
(a), minutes long per thousand events, runs once.

usage: python benchmarks/metering_ingest.py [--events 500000] [--naive-events 20000]
           [--processes 2] [--rounds 3] [--compression lz4|gzip|none]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from liftmeter import migrate  # noqa: E402
from liftmeter.db import build_engine, session_factory  # noqa: E402
from liftmeter.eventlog.kafka import KafkaEventLog  # noqa: E402
from liftmeter.events import CallCompleted, decode_call  # noqa: E402
from liftmeter.models import Merchant  # noqa: E402
from liftmeter.settings import DatabaseSettings, EventsSettings  # noqa: E402
from metering.consumer import MeteringHandler, build_runner  # noqa: E402
from metering.models import UsageHourly  # noqa: E402

T = TypeVar("T")
MERCHANTS = 50
NAIVE = "(a) naive, one transaction per event"
RAW = "(c) raw kafka-python consume"
RAW_RD = "(d) raw librdkafka consume"
START = datetime(2026, 11, 1, tzinfo=UTC)


def _events_settings(args: argparse.Namespace) -> EventsSettings:
    return EventsSettings(
        backend="kafka",
        bootstrap_servers=args.kafka,
        partitions=args.partitions,
        compression=args.compression,
    )


def _create_database(admin_url: str) -> str:
    name = f"liftmeter_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = build_engine(DatabaseSettings(url=url))
    migrate.upgrade(engine)
    with session_factory(engine).begin() as session:
        session.add_all(
            Merchant(id=f"mer_{i}", name=f"m{i}", currency="USD") for i in range(MERCHANTS)
        )
    engine.dispose()
    return url


def _drop_database(admin_url: str, url: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def _event(i: int) -> CallCompleted:
    return CallCompleted(
        merchant_id=f"mer_{i % MERCHANTS}",
        occurred_at=START + timedelta(seconds=i // 10),
        call_id=f"call_{i}",
        description_id=f"desc_{i}",
        product_id=f"sku-{i % 997}",
        api_key_id="key_1",
        model=("sparse-small", "sparse-large")[i % 2],
        backend="local",
        prompt_tokens=100 + i % 37,
        completion_tokens=50 + i % 91,
        cached_tokens=None if i % 4 == 0 else i % 64,
        latency_ms=12.5,
        cache_hit=i % 9 == 0,
        risk_verdict=("pass", "pass", "pass", "review", "block")[i % 5],
        risk_score=0.01,
        status="succeeded",
    )


def produce(args: argparse.Namespace, topic: str) -> float:
    log = KafkaEventLog(_events_settings(args))
    log.ensure_topics([topic], partitions=args.partitions)
    started = time.perf_counter()
    with log.producer() as producer:
        for i in range(args.events):
            ev = _event(i)
            producer.send(topic, ev.encode(), ev.key)
    return time.perf_counter() - started


def phase_raw(args: argparse.Namespace) -> dict[str, Any]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        args.topic,
        bootstrap_servers=args.kafka,
        group_id=f"bench-raw-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=5000,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    result = _drain(
        lambda: sum(len(b) for b in consumer.poll(timeout_ms=500, max_records=5000).values()),
        args.count,
    )
    consumer.close(autocommit=False)
    return result


def _drain(poll: Callable[[], int], count: int) -> dict[str, Any]:
    """Poll until `count` messages were read, timed from the first non-empty poll."""
    seen, started = 0, None
    while seen < count:
        n = poll()
        if n and started is None:
            started = time.perf_counter()
        seen += n
    return {"events": seen, "seconds": time.perf_counter() - (started or time.perf_counter())}


def phase_raw_librdkafka(args: argparse.Namespace) -> dict[str, Any]:
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": args.kafka,
            "group.id": f"bench-rawrd-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([args.topic])
    result = _drain(
        lambda: sum(1 for m in consumer.consume(5000, 0.5) if m.error() is None), args.count
    )
    consumer.close()
    return result


class _TimedHandler:
    """MeteringHandler that notes when each batch was applied and how many events it had."""

    def __init__(self, group_id: str) -> None:
        self._inner = MeteringHandler(group_id=group_id)
        self.timeline: list[tuple[float, int]] = []

    def __call__(self, session: Any, events: Any) -> Any:
        result = self._inner(session, events)
        self.timeline.append((time.perf_counter(), len(events) - result.duplicates))
        return result


def phase_bulk(args: argparse.Namespace) -> dict[str, Any]:
    """One member of the metering group; runs until the group has no lag left."""
    engine = build_engine(DatabaseSettings(url=args.db_url, pool_size=2))
    sessions = session_factory(engine)
    log = KafkaEventLog(_events_settings(args))
    handler = _TimedHandler(args.group)
    with log.consumer(args.group, [args.topic]) as consumer:
        runner = build_runner(
            consumer=consumer,
            sessions=sessions,
            group_id=args.group,
            max_records=args.batch,
            timeout_ms=100,
            overlap_poll=True,  # as `metering.consumer.run_consumer` on PostgreSQL
            handler=handler,
        )
        while True:  # until the whole group is done (a member may get no partition at all)
            runner.run(idle_polls_before_exit=3)
            if log.lag(args.group, [args.topic]) == 0:
                break
    engine.dispose()
    return {"timeline": handler.timeline}


def _steady_rate(timelines: list[list[tuple[float, int]]]) -> tuple[int, float]:
    """Events and seconds while every member was consuming.

    From the last member's first batch to the first member's last batch: group joins and
    rebalances before, and the tail after one member ran dry, are not timed.
    """
    timelines = [t for t in timelines if t]  # members that were assigned partitions
    start = max(t[0][0] for t in timelines)
    end = min(t[-1][0] for t in timelines)
    events = sum(n for t in timelines for at, n in t if start < at <= end)
    return events, end - start


def _run_bulk(args: argparse.Namespace, db_url: str, processes: int) -> dict[str, Any]:
    group = f"metering-bench-{uuid.uuid4().hex[:8]}"
    procs = [
        subprocess.Popen(
            _phase_cmd(args, "bulk", args.events, db_url) + ["--group", group],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    if any(p.returncode for p in procs):
        raise SystemExit("a metering benchmark member failed")
    events, seconds = _steady_rate([o["timeline"] for o in outs])
    if events <= 0 or seconds <= 0:
        raise SystemExit(
            f"the {processes} members never consumed at the same time: use more --events"
        )
    working = sum(1 for o in outs if o["timeline"])
    engine = build_engine(DatabaseSettings(url=db_url))
    with session_factory(engine)() as session:
        calls = int(session.execute(select(func.sum(UsageHourly.calls))).scalar_one() or 0)
    engine.dispose()
    return {
        "events": events,
        "seconds": seconds,
        "ledger_calls": calls,
        "peak_rss_mb": max(o["peak_rss_mb"] for o in outs),
        "members_with_partitions": working,
    }


def phase_naive(args: argparse.Namespace) -> dict[str, Any]:
    engine = build_engine(DatabaseSettings(url=args.db_url, pool_size=2))
    sessions = session_factory(engine)
    log = KafkaEventLog(_events_settings(args))
    group = f"metering-naive-{uuid.uuid4().hex[:8]}"
    handler = MeteringHandler(group_id=group)
    applied, started = 0, None
    with log.consumer(group, [args.topic]) as consumer:
        while applied < args.count:
            records = consumer.poll(max_records=500, timeout_ms=500)
            if records and started is None:
                started = time.perf_counter()
            for record in records[: args.count - applied]:
                event = decode_call(record.value)
                with sessions.begin() as session:
                    handler(session, [event])
                applied += 1
            if records:
                consumer.commit({(r.topic, r.partition): r.offset + 1 for r in records})
    elapsed = time.perf_counter() - (started or time.perf_counter())
    engine.dispose()
    return {"events": applied, "seconds": elapsed}


def _peak_rss_mb() -> float:
    """This process's peak RSS. `ru_maxrss` would not do: Linux carries it across exec, so a
    phase would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


PHASES = {
    "raw": phase_raw,
    "raw-librdkafka": phase_raw_librdkafka,
    "bulk": phase_bulk,
    "naive": phase_naive,
}


def _phase_cmd(args: argparse.Namespace, phase: str, count: int, db_url: str) -> list[str]:
    return [
        sys.executable,
        __file__,
        "--phase", phase,
        "--topic", args.topic,
        "--count", str(count),
        "--db-url", db_url,
        "--kafka", args.kafka,
        "--batch", str(args.batch),
        "--partitions", str(args.partitions),
        "--compression", args.compression,
    ]  # fmt: skip


def _run_phase(
    args: argparse.Namespace, phase: str, count: int, db_url: str = ""
) -> dict[str, Any]:
    cmd = _phase_cmd(args, phase, count, db_url)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--naive-events", type=int, default=20_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--batch", type=int, default=5000, help="max records per batch (b)")
    parser.add_argument(
        "--pg-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5544/postgres"
    )
    parser.add_argument("--kafka", default="127.0.0.1:19092")
    parser.add_argument(
        "--compression", choices=["lz4", "gzip", "none"], default="lz4", help="producer codec"
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=2,
        help="also run (b) with this many consumer processes in one group (1: only one)",
    )
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--group", help=argparse.SUPPRESS)
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds of (b), (c), (d); medians shown"
    )
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        result = PHASES[args.phase](args)
        result["peak_rss_mb"] = _peak_rss_mb()
        print(json.dumps(result))
        return
    args.topic = f"bench.metering.{uuid.uuid4().hex[:8]}"
    print(f"producing {args.events:,} events to {args.topic} ({args.partitions} partitions)")
    print(f"  produced in {produce(args, args.topic):.1f}s")
    rounds: dict[str, list[dict[str, Any]]] = {}
    runs = [("(b) liftmeter consumer, 1 process", 1)]
    if args.processes > 1:
        runs.append((f"(b) liftmeter consumer, {args.processes} processes", args.processes))
    for _ in range(args.rounds):
        rounds.setdefault(RAW, []).append(_run_phase(args, "raw", args.events))
        rounds.setdefault(RAW_RD, []).append(_run_phase(args, "raw-librdkafka", args.events))
        for label, processes in runs:
            url = _create_database(args.pg_admin_url)
            try:
                rounds.setdefault(label, []).append(_run_bulk(args, url, processes))
            finally:
                _drop_database(args.pg_admin_url, url)
    url = _create_database(args.pg_admin_url)
    try:
        rounds[NAIVE] = [_run_phase(args, "naive", args.naive_events, url)]
    finally:
        _drop_database(args.pg_admin_url, url)
    _print_table(rounds)


def _rate(result: dict[str, Any]) -> float:
    return float(result["events"] / result["seconds"])


def _short(label: str) -> str:
    """`1 process` for a (b) label, `kafka-python` for (c), `librdkafka` for (d)."""
    return label.split(", ")[-1] if label.startswith("(b)") else label.split()[2]


def _median(values: list[T], key: Callable[[T], float]) -> T:
    return sorted(values, key=key)[len(values) // 2]


def _ratio(rounds: dict[str, list[dict[str, Any]]], label: str, base: str) -> float:
    """`label`'s rate over `base`'s: the median of per-round ratios (each round's runs are
    minutes apart, the machine drifts between rounds); a label run once (a) is set against
    `base`'s median round."""
    runs, bases = rounds[label], rounds[base]
    if len(runs) != len(bases):
        return _rate(_median(runs, _rate)) / _rate(_median(bases, _rate))
    return _median([_rate(r) / _rate(b) for r, b in zip(runs, bases, strict=True)], float)


def _print_table(rounds: dict[str, list[dict[str, Any]]]) -> None:
    results = {k: _median(v, _rate) for k, v in rounds.items()}
    rate = {k: _rate(v) for k, v in results.items()}
    naive = rate[NAIVE]
    print()
    print(
        f"{'consumer':40} {'events':>9} {'s':>7} {'events/s':>10} {'÷(a)':>7} {'÷(c)':>6}"
        f" {'peak RSS':>9}"
    )
    for label in sorted(results):
        r = results[label]
        print(
            f"{label:40} {r['events']:>9,} {r['seconds']:>7.2f} {rate[label]:>10,.0f} "
            f"{rate[label] / naive:>6.1f}× {_ratio(rounds, label, RAW):>5.2f}× "
            f"{r['peak_rss_mb']:>6.0f} MB"
        )
    bulk = [k for k in rate if k.startswith("(b)")]
    print(
        "(b) ÷ (d): " + ", ".join(f"{_ratio(rounds, k, RAW_RD):.2f}× ({_short(k)})" for k in bulk)
    )
    for i in range(len(rounds[RAW])):
        line = {k: _rate(rounds[k][i]) for k in (*bulk, RAW, RAW_RD)}
        print(
            f"round {i + 1}: "
            + ", ".join(f"{k[:3]} {_short(k)} {v:,.0f}/s" for k, v in line.items())
            + f"; {bulk[-1][:3]} ÷ (c) {line[bulk[-1]] / line[RAW]:.2f}×"
        )
    for label, runs in rounds.items():
        for r in runs:
            if "ledger_calls" not in r:
                continue
            print(
                f"ledger check, {label}: {r['ledger_calls']:,} calls in usage_hourly; "
                f"members that consumed: {r['members_with_partitions']}"
            )


if __name__ == "__main__":
    main()
