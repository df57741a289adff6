"""Command line of the metering domain, mounted as ``liftmeter metering``.

- ``run``: the metering consumer (group ``metering``) until SIGTERM/Ctrl-C;
- ``rebuild``: recompute the hourly aggregates from the raw call rows, in one transaction;
- ``reconcile``: compare the ledger with the calls topic read from offset 0; exit 1 on any
  difference;
- ``dead-letters``: messages the metering group could not count, with the reason.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from liftmeter.consumer_metrics import (
    MetricsEndpoint,
    MetricsHostOption,
    MetricsPortOption,
    serving_metrics,
)
from liftmeter.logging import configure_logging
from liftmeter.runtime import Runtime, open_runtime
from liftmeter.settings import load_settings
from metering.consumer import GROUP_ID, TOPICS, run_consumer
from metering.replay import rebuild_ledger, reconcile

console = Console()
app = typer.Typer(help="The usage ledger: consume, rebuild, reconcile.", no_args_is_help=True)

TopicOption = Annotated[str, typer.Option(help="Calls topic (tests use their own).")]


def _runtime(*, check_events: bool = True) -> Runtime:
    settings = load_settings()
    configure_logging(settings.log)
    return open_runtime(settings, check_events=check_events)


@app.callback()
def metering() -> None:
    """The usage ledger: consume, rebuild, reconcile."""


@app.command()
def run(
    topic: TopicOption = TOPICS[0],
    group: Annotated[str, typer.Option(help="Consumer group.")] = GROUP_ID,
    max_records: Annotated[
        int | None,
        typer.Option(
            min=1, max=100_000, help="Batch size (default: setting events.poll_max_records)."
        ),
    ] = None,
    processes: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Group members to run, one process each; Kafka splits the topic's partitions "
            "between them (Kafka only: the embedded log serves one member per group).",
        ),
    ] = 1,
    metrics_port: MetricsPortOption = None,
    metrics_host: MetricsHostOption = "127.0.0.1",
) -> None:
    """Consume call events into the usage ledger until SIGTERM or Ctrl-C."""
    endpoint = MetricsEndpoint.from_options(metrics_host, metrics_port)
    rt = _runtime()
    rt.event_log.ensure_topics([topic])
    backend = rt.settings.events.backend
    if processes > 1:
        rt.close()
        if backend != "kafka":
            raise typer.BadParameter(
                "scaling out needs LIFTMETER_EVENTS__BACKEND=kafka", param_hint="--processes"
            )
        console.print(f"metering: {processes} members of group {group} on {topic}")
        raise typer.Exit(_run_members(processes, topic, group, max_records, endpoint))
    _consume(rt, topic, group, max_records, endpoint)


def _consume(
    rt: Runtime, topic: str, group: str, max_records: int | None, endpoint: MetricsEndpoint | None
) -> None:
    """One member of the group in this process, until SIGTERM or Ctrl-C."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    console.print(f"metering: consuming {topic} as group {group}", highlight=False)
    if endpoint is not None:
        console.print(f"metrics: {endpoint.url}", highlight=False)
    with (
        contextlib.suppress(KeyboardInterrupt),
        serving_metrics(endpoint, group, lambda: rt.event_log.lag(group, [topic])) as metrics,
    ):
        outcome = run_consumer(
            event_log=rt.event_log,
            sessions=rt.sessions,
            stop=stop,
            group_id=group,
            topics=[topic],
            max_records=max_records or rt.settings.events.poll_max_records,
            timeout_ms=rt.settings.events.poll_timeout_ms,
            metrics=metrics,
        )
        console.print(
            f"applied {outcome.applied}, duplicates {outcome.duplicates}, "
            f"dead-lettered {outcome.dead_lettered}"
        )
    rt.close()


def _member(
    topic: str, group: str, max_records: int | None, endpoint: MetricsEndpoint | None
) -> None:
    """Entry point of a member process (spawned: nothing is inherited but the arguments)."""
    _consume(_runtime(check_events=False), topic, group, max_records, endpoint)


def _run_members(
    processes: int,
    topic: str,
    group: str,
    max_records: int | None,
    endpoint: MetricsEndpoint | None,
) -> int:
    """Run `processes` members until SIGTERM/Ctrl-C; the exit status of the worst member."""
    spawn = multiprocessing.get_context("spawn")
    members = [
        spawn.Process(
            target=_member,
            args=(topic, group, max_records, endpoint and endpoint.for_member(i)),
            name=f"metering-{i}",
        )
        for i in range(processes)
    ]
    for member in members:
        member.start()

    def stop_members(*_: object) -> None:
        for member in members:
            if member.is_alive():
                member.terminate()  # SIGTERM: each member finishes its batch and exits

    signal.signal(signal.SIGTERM, stop_members)
    signal.signal(signal.SIGINT, stop_members)
    for member in members:
        member.join()
    return max((abs(m.exitcode or 0) for m in members if m.exitcode != -signal.SIGTERM), default=0)


@app.command()
def rebuild() -> None:
    """Recompute the hourly aggregates from the raw call rows (one transaction)."""
    rt = _runtime(check_events=False)
    with Progress(console=console) as progress:
        task = progress.add_task("rebuilding usage_hourly", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        with rt.sessions.begin() as session:
            rows = rebuild_ledger(session, progress=advance)
    console.print(f"rebuilt the hourly ledger from {rows} call(s)")
    rt.close()


@app.command("reconcile")
def reconcile_command(
    topic: TopicOption = TOPICS[0],
    group: Annotated[str, typer.Option(help="Consumer group whose dead letters to skip.")] = (
        GROUP_ID
    ),
    timeout_s: Annotated[float, typer.Option(min=1)] = 600,
) -> None:
    """Compare the ledger with the topic read from offset 0; exit 1 on any difference."""
    rt = _runtime()
    result = reconcile(rt.event_log, rt.sessions, topic=topic, group_id=group, timeout_s=timeout_s)
    rt.close()
    console.print(
        f"log: {result.events} call(s), {result.duplicates} duplicate(s), "
        f"{result.dead_lettered} not counted (dead letters); consumer lag {result.lag}"
    )
    if not result.differences:
        console.print("ledger matches the log")
        return
    table = Table("merchant", "hour (UTC)", "log calls/prompt/completion", "ledger")
    for d in result.differences:
        table.add_row(
            d.merchant_id,
            d.hour_start.isoformat(),
            "/".join(map(str, d.log)),
            "/".join(map(str, d.ledger)),
        )
    console.print(table)
    console.print(f"{len(result.differences)} difference(s)")
    raise typer.Exit(1)


@app.command("dead-letters")
def dead_letters(
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """List call events the metering group could not count, newest first."""
    from liftmeter.cli import events_dead_letters

    events_dead_letters(group=GROUP_ID, limit=limit)
