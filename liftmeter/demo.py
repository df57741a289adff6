"""`liftmeter demo`: the event pipeline end to end on the configured services.

Creates and migrates the database, registers a few merchants, records simulated description
calls together with their `CallCompleted` events in the outbox (one transaction each, as
the gateway does), relays the outbox to the event log, consumes it into per-merchant
totals, then replays the whole log to show that redelivery changes nothing. One malformed
message is slipped into the log to show dead-lettering.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

from liftmeter import migrate
from liftmeter.consumer import BatchOutcome, ConsumerRunner, Rejection
from liftmeter.events import CALLS_TOPIC, CallCompleted, Event
from liftmeter.ids import new_id
from liftmeter.models import Merchant
from liftmeter.outbox import OutboxRelay, enqueue_events
from liftmeter.runtime import Runtime

GROUP = "demo.usage"


@dataclass
class UsageTally:
    """Per-merchant totals built by the demo consumer."""

    known: set[str]
    calls: Counter[str] = field(default_factory=Counter)
    tokens: Counter[str] = field(default_factory=Counter)
    blocked: Counter[str] = field(default_factory=Counter)

    def __call__(self, session: Session, events: Sequence[Event]) -> list[Rejection]:
        rejected = []
        for ev in events:
            if not isinstance(ev, CallCompleted) or ev.merchant_id not in self.known:
                rejected.append(Rejection(ev.event_id, f"unknown merchant {ev.merchant_id!r}"))
                continue
            self.calls[ev.merchant_id] += 1
            self.tokens[ev.merchant_id] += ev.prompt_tokens + ev.completion_tokens
            self.blocked[ev.merchant_id] += ev.status == "blocked"
        return rejected


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _seed_merchants(rt: Runtime, count: int) -> list[str]:
    ids = [f"mer_demo_{i + 1}" for i in range(count)]
    with rt.sessions.begin() as session:
        for i, mid in enumerate(ids):
            if session.get(Merchant, mid) is None:
                session.add(Merchant(id=mid, name=f"Demo shop {i + 1}", currency="USD"))
    return ids


def _simulated_call(rng: random.Random, merchant_id: str, at: datetime) -> CallCompleted:
    blocked = rng.random() < 0.03
    return CallCompleted(
        merchant_id=merchant_id,
        occurred_at=at,
        call_id=new_id("call"),
        description_id=new_id("desc"),
        product_id=f"sku-{rng.randrange(500)}",
        api_key_id="key_demo",
        model="liftmeter-sparse-small",
        backend="local",
        prompt_tokens=rng.randrange(60, 200),
        completion_tokens=0 if blocked else rng.randrange(40, 160),
        cached_tokens=None,
        latency_ms=round(rng.uniform(20, 400), 1),
        cache_hit=rng.random() < 0.2,
        risk_verdict="block" if blocked else "pass",
        risk_score=0.97 if blocked else 0.02,
        status="blocked" if blocked else "succeeded",
    )


def _record_calls(
    rt: Runtime, merchants: list[str], calls: int, seed: int, progress: Progress
) -> None:
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(hours=24)
    task = progress.add_task("record calls (DB + outbox)", total=calls)
    for offset in range(0, calls, 100):
        n = min(100, calls - offset)
        with rt.sessions.begin() as session:
            enqueue_events(
                session,
                [
                    _simulated_call(
                        rng, rng.choice(merchants), start + timedelta(seconds=offset + i)
                    )
                    for i in range(n)
                ],
            )
        progress.advance(task, n)
    # A call for a merchant that does not exist, and a message that is not an event at all:
    with rt.sessions.begin() as session:
        enqueue_events(session, [_simulated_call(rng, "mer_unknown", start)])
    with rt.event_log.producer() as producer:
        producer.send(CALLS_TOPIC, b'{"event_type": "call.completed", "oops": true}', b"mer_demo_1")


def _consume(rt: Runtime, tally: UsageTally, progress: Progress, label: str) -> BatchOutcome:
    lag = rt.event_log.lag(GROUP, [CALLS_TOPIC])
    task = progress.add_task(label, total=lag)
    total = BatchOutcome()
    with rt.event_log.consumer(GROUP, [CALLS_TOPIC]) as consumer:
        runner = ConsumerRunner(
            consumer=consumer,
            sessions=rt.sessions,
            group_id=GROUP,
            handler=tally,
            max_records=rt.settings.events.poll_max_records,
            timeout_ms=1000,
        )
        while total.polled < lag:
            outcome = runner.run_once()
            total.add(outcome)
            progress.advance(task, outcome.polled)
            if outcome.polled == 0:
                break
    return total


def run_demo(rt: Runtime, *, merchants: int, calls: int, seed: int, console: Console) -> None:
    """Run the demo on `rt` and print what happened."""
    console.print(
        f"[bold]liftmeter demo[/] on {rt.engine.url.render_as_string(hide_password=True)}, "
        f"event log: {rt.settings.events.backend}"
    )
    migrate.upgrade(rt.engine)
    rt.event_log.ensure_topics([CALLS_TOPIC])
    merchant_ids = _seed_merchants(rt, merchants)
    tally = UsageTally(known=set(merchant_ids))
    rt.event_log.rewind(GROUP, [CALLS_TOPIC])
    with _progress(console) as progress:
        _record_calls(rt, merchant_ids, calls, seed, progress)
        relay = OutboxRelay(sessions=rt.sessions, log=rt.event_log)
        published = relay.drain()
        relay.close()
        first = _consume(rt, tally, progress, "consume")
        rt.event_log.rewind(GROUP, [CALLS_TOPIC])
        replay = _consume(rt, tally, progress, "replay from offset 0")
    _print_summary(console, tally, published, first, replay)
    rt.close()


def _print_summary(
    console: Console, tally: UsageTally, published: int, first: BatchOutcome, replay: BatchOutcome
) -> None:
    table = Table(title="usage per merchant (this run)")
    for col in ("merchant", "calls", "tokens", "blocked"):
        table.add_column(col, justify="right" if col != "merchant" else "left")
    for mid in sorted(tally.calls):
        table.add_row(mid, str(tally.calls[mid]), str(tally.tokens[mid]), str(tally.blocked[mid]))
    console.print(table)
    stats = Table(title="event pipeline")
    stats.add_column("step")
    for col in ("messages", "applied", "duplicates", "dead letters"):
        stats.add_column(col, justify="right")
    stats.add_row("outbox → log", str(published), "", "", "")
    for name, o in (("consume", first), ("replay", replay)):
        stats.add_row(name, str(o.polled), str(o.applied), str(o.duplicates), str(o.dead_lettered))
    console.print(stats)
    console.print(
        "Replaying the log applied nothing twice."
        if replay.applied == 0
        else "[red]replay applied events twice[/]"
    )
