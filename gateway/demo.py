"""`liftmeter demo`: the whole product, end to end, on embedded defaults.

1. A fresh SQLite database (migrated), the embedded event log and the local sparse model.
2. Merchants with plans, API keys, catalogues and a 50 % holdout experiment each, all set
   up as of the month's first day (the simulated history starts there); a finance key.
3. The gateway on real HTTP (uvicorn on 127.0.0.1): merchants' description calls go
   through it concurrently (the engine's micro-batcher shares forward passes), each
   catalogue is described twice so the second pass shows cache hits.
4. Storefront traffic from `attribution.simulate` with a known true lift per merchant:
   exposures (`POST /v1/exposures`) and purchases (`POST /v1/conversions`).
5. The outbox is relayed to the event log; the metering and attribution consumers run
   until the log is drained; lift is computed for the month and invoices are drafted.
6. A summary table, then the dashboard keeps serving at the printed URL (`--no-serve`
   exits instead) with the relay and both consumers running in the background.

The merchants' traffic uses the public HTTP API only; the back-office jobs (consumers, lift
computation, the invoice run) are the same service functions the CLI commands call.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from attribution.compute import compute_lift
from attribution.consumer import run_consumer as run_attribution
from attribution.experiments import create_experiment
from attribution.results import LiftResult
from billing.invoice import Period, run_invoices
from billing.models import Invoice
from billing.service import set_plan
from gateway import demo_world
from gateway.app import create_app
from gateway.keys import create_merchant, issue_key
from liftmeter import migrate
from liftmeter.logging import configure_logging
from liftmeter.outbox import OutboxRelay, pending_count
from liftmeter.runtime import Runtime, open_runtime
from liftmeter.settings import Settings
from metering.consumer import run_consumer as run_metering

MERCHANT_SCOPES = ("descriptions:write", "conversions:write", "usage:read", "invoices:read")


@dataclass
class MerchantRun:
    """What the demo did and measured for one merchant."""

    merchant_id: str
    name: str
    currency: str
    key: str
    true_relative_lift: float
    experiment_id: str = ""
    products: list[Any] = field(default_factory=list)
    descriptions: dict[str, str] = field(default_factory=dict)
    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    lift: dict[str, Any] | None = None
    invoice_id: str | None = None
    invoice_total: Decimal | None = None


@dataclass
class DemoReport:
    """The demo's summary: per-merchant results, the URL and keys to sign in with."""

    period: str
    merchants: list[MerchantRun]
    url: str
    finance_key: str
    seconds: float


@dataclass(frozen=True)
class DemoOptions:
    merchants: int = 3
    products: int = 6
    visitors: int = 60_000
    seed: int = 7
    workdir: Path = Path("var/demo")
    host: str = "127.0.0.1"
    port: int = 8787
    serve: bool = True


def demo_settings(base: Settings, options: DemoOptions) -> Settings:
    """Embedded defaults in a fresh work directory; the rest of `base` (e.g. log format) kept."""
    database = base.database.model_copy(
        update={"url": f"sqlite:///{(options.workdir / 'liftmeter.db').as_posix()}"}
    )
    events = base.events.model_copy(update={"backend": "embedded"})
    inference = base.inference.model_copy(update={"backend": "local"})
    gateway = base.gateway.model_copy(update={"run_relay": False})
    log = base.log.model_copy(update={"level": "WARNING"})
    return base.model_copy(
        update={
            "database": database,
            "events": events,
            "inference": inference,
            "gateway": gateway,
            "log": log,
        }
    )


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _fresh_database(runtime_settings: Settings, workdir: Path) -> Runtime:
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True, exist_ok=True)
    runtime = open_runtime(runtime_settings, check_events=False)
    migrate.upgrade(runtime.engine)
    runtime.event_log.check()
    return runtime


def _seed(
    runtime: Runtime, options: DemoOptions, month_start: datetime
) -> tuple[list[MerchantRun], str]:
    """Merchants, plans, keys and catalogues; returns them and a finance key."""
    runs = []
    with runtime.sessions.begin() as session:
        for index in range(options.merchants):
            prof = demo_world.profile(index)
            merchant_id, experiment_id = demo_world.world_ids(index, options.seed)
            merchant = create_merchant(
                session, name=prof.name, currency=prof.currency, merchant_id=merchant_id
            )
            set_plan(
                session,
                merchant_id=merchant.id,
                effective_from=month_start.date().isoformat(),
                spec=prof.plan,
                actor="demo",
                reason="demo plan",
            )
            key = issue_key(
                session, merchant_id=merchant.id, name="storefront", scopes=MERCHANT_SCOPES
            )
            run = MerchantRun(
                merchant.id, prof.name, prof.currency, key.secret, prof.true_relative_lift
            )
            run.products = demo_world.catalogue(index, options.products, options.seed)
            # The merchants of the demo world set up their holdout on the month's first day.
            run.experiment_id = create_experiment(
                session,
                merchant_id=merchant.id,
                name="Generated descriptions vs original",
                holdout_share="0.5",
                starts_at=month_start,
                now=month_start,
                experiment_id=experiment_id,
            ).experiment.id
            runs.append(run)
        finance = issue_key(session, merchant_id=None, name="finance", scopes=["finance", "review"])
    return runs, finance.secret


@contextmanager
def _serving(settings: Settings, runtime: Runtime, host: str, port: int) -> Iterator[str]:
    """The gateway app on real HTTP in a background thread; yields its base URL."""
    app = create_app(settings, runtime=runtime)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="demo-gateway", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the gateway did not start on {host}:{port}")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _describe_all(
    url: str, runs: Sequence[MerchantRun], progress: Progress, *, passes: int = 2
) -> None:
    jobs = [(run, product) for run in runs for product in run.products for _ in range(passes)]
    task = progress.add_task("Description calls (local model)", total=len(jobs))
    limit = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:

        async def one(run: MerchantRun, product: Any) -> None:
            async with limit:
                r = await client.post(
                    "/v1/descriptions",
                    json={"product": product.model_dump(mode="json"), "max_tokens": 120},
                    headers=_headers(run.key),
                )
            r.raise_for_status()
            body = r.json()
            run.calls += 1
            run.cache_hits += bool(body["cached"])
            run.prompt_tokens += body["usage"]["prompt_tokens"]
            run.completion_tokens += body["usage"]["completion_tokens"]
            if not body["cached"]:
                run.verdicts[body["risk"]["verdict"]] += 1
            if body["description_id"] and body["risk"]["verdict"] == "pass":
                run.descriptions.setdefault(product.id, body["description_id"])
            progress.advance(task)

        for first in range(passes):
            # One pass at a time, so the second pass meets the first one's cache entries.
            await asyncio.gather(*(one(run, product) for run, product in jobs[first::passes]))


def _send_storefront_traffic(
    client: httpx.Client,
    runs: Sequence[MerchantRun],
    options: DemoOptions,
    progress: Progress,
    *,
    month_start: datetime,
    now: datetime,
) -> None:
    for index, run in enumerate(runs):
        traffic = demo_world.shoppers(
            merchant_id=run.merchant_id,
            experiment_id=run.experiment_id,
            merchant_index=index,
            profile=demo_world.profile(index),
            products=run.products,
            descriptions=run.descriptions,
            visitors=options.visitors,
            month_start=month_start,
            now=now,
            seed=options.seed,
        )
        task = progress.add_task(
            f"Storefront traffic: {run.name}",
            total=len(traffic.exposures) + len(traffic.conversions),
        )
        for path, rows, key in (
            ("/v1/exposures", traffic.exposures, "exposures"),
            ("/v1/conversions", traffic.conversions, "conversions"),
        ):
            for batch in demo_world.batches(rows, 5000):
                r = client.post(path, json={key: batch}, headers=_headers(run.key))
                if r.status_code != 200:
                    raise RuntimeError(f"{path} refused the demo's traffic: {r.text[:500]}")
                progress.advance(task, len(batch))


def _drain(runtime: Runtime, progress: Progress) -> None:
    """Relay the outbox, then run both consumers until the event log is drained."""
    with runtime.sessions() as session:
        pending = pending_count(session)
    task = progress.add_task("Outbox → event log", total=pending)
    relay = OutboxRelay(sessions=runtime.sessions, log=runtime.event_log, batch_size=5000)
    try:
        while sent := relay.relay_once():
            progress.advance(task, sent)
    finally:
        relay.close()
    consumers: tuple[tuple[str, Callable[..., Any]], ...] = (
        ("Metering consumer → usage ledger", run_metering),
        ("Attribution consumer → exposures", run_attribution),
    )
    for label, consume in consumers:
        step = progress.add_task(label, total=None)
        outcome = consume(
            event_log=runtime.event_log,
            sessions=runtime.sessions,
            stop=threading.Event(),
            idle_polls_before_exit=2,
            timeout_ms=200,
        )
        progress.update(step, total=outcome.applied or 1, completed=outcome.applied or 1)


def _compute_and_bill(runtime: Runtime, runs: Sequence[MerchantRun], period: Period) -> None:
    with runtime.sessions.begin() as session:
        for run in runs:
            results = compute_lift(
                session,
                merchant_id=run.merchant_id,
                period_start=period.start,
                period_end=period.end,
                settings=runtime.settings.attribution,
            )
            run.lift = _lift_summary(results[0]) if results else None
        summary = run_invoices(session, period=period, actor="demo")
    with runtime.sessions() as session:
        for invoice_id in summary.invoice_ids:
            invoice = session.get(Invoice, invoice_id)
            assert invoice is not None
            run = next(r for r in runs if r.merchant_id == invoice.merchant_id)
            run.invoice_id, run.invoice_total = invoice.id, invoice.total


def _lift_summary(result: LiftResult) -> dict[str, Any]:
    conversion = result.statistics.get("metrics", {}).get("conversion_rate", {})
    relative = conversion.get("relative_sequential") or conversion.get("relative") or {}
    return {
        "result_id": result.id,
        "reason": result.reason,
        "status": conversion.get("status"),
        "relative_lift": relative.get("estimate"),
        "ci_low": relative.get("ci_low"),
        "ci_high": relative.get("ci_high"),
        "incremental_revenue": result.estimate,
        "conservative_amount": result.conservative_amount,
    }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1%}"


def summary_tables(report: DemoReport) -> tuple[Table, Table]:
    """Usage per merchant, then lift (measured vs true) and the drafted invoice."""
    usage = Table(title=f"Usage — {report.period}", title_justify="left")
    for name in ("merchant", "calls", "tokens", "cache hits", "pass / review / block"):
        usage.add_column(name, justify="left" if name == "merchant" else "right")
    lift = Table(
        title=f"Lift and invoices — {report.period}",
        title_justify="left",
        caption="billed on: the conservative incremental revenue (lower bound of the "
        "always-valid interval, never below 0) that the revenue share applies to",
        caption_justify="left",
    )
    for name in (
        "merchant", "true lift", "measured lift [95% CI]", "incr. revenue", "billed on", "invoice"
    ):
        lift.add_column(name, justify="left" if name == "merchant" else "right")
    for run in report.merchants:
        usage.add_row(
            run.name,
            str(run.calls),
            f"{run.prompt_tokens + run.completion_tokens:,}",
            str(run.cache_hits),
            " / ".join(str(run.verdicts[v]) for v in ("pass", "review", "block")),
        )
        measured = run.lift or {}
        interval = (
            f"{_pct(measured.get('relative_lift'))} "
            f"[{_pct(measured.get('ci_low'))}, {_pct(measured.get('ci_high'))}]"
            if measured.get("ci_low") is not None
            else f"none: {measured.get('reason', 'no experiment')}"
        )
        revenue = measured.get("incremental_revenue")
        lift.add_row(
            run.name,
            _pct(run.true_relative_lift),
            interval,
            "—" if revenue is None else f"{revenue:,.0f}",
            "—" if revenue is None else f"{measured['conservative_amount']:,.2f}",
            "—" if run.invoice_total is None else f"{run.invoice_total:,.2f} {run.currency}",
        )
    return usage, lift


def run_demo(base: Settings, options: DemoOptions, console: Console) -> DemoReport:
    """Run the whole demo (see the module docstring); blocks serving unless `serve` is off."""
    started = time.monotonic()
    settings = demo_settings(base, options)
    configure_logging(settings.log)
    now = datetime.now(UTC)
    period = Period.parse(f"{now.year}-{now.month:02d}")
    console.print(
        f"[bold]liftmeter demo[/] — SQLite at {options.workdir}/liftmeter.db, "
        "embedded event log, local sparse model"
    )
    runtime = _fresh_database(settings, options.workdir)
    try:
        runs, finance_key = _seed(runtime, options, period.start)
        with _serving(settings, runtime, options.host, options.port) as url:
            with _progress(console) as progress, httpx.Client(base_url=url, timeout=300) as client:
                asyncio.run(_describe_all(url, runs, progress))
                _send_storefront_traffic(
                    client, runs, options, progress, month_start=period.start, now=now
                )
                _drain(runtime, progress)
            with console.status("Computing lift and drafting invoices"):
                _compute_and_bill(runtime, runs, period)
            report = DemoReport(
                period=f"{period.start:%Y-%m}",
                merchants=runs,
                url=f"{url}/dashboard",
                finance_key=finance_key,
                seconds=time.monotonic() - started,
            )
            for table in summary_tables(report):
                console.print(table)
            _print_sign_in(console, report)
            if options.serve:
                _serve_forever(runtime, console)
        return report
    finally:
        runtime.close()


def _print_sign_in(console: Console, report: DemoReport) -> None:
    console.print(f"Finished in {report.seconds:.0f} s. Dashboard: [bold]{report.url}[/]")
    console.print(
        f"  finance key (all merchants, finance console, review queue): {report.finance_key}"
    )
    for run in report.merchants:
        console.print(f"  {run.name} key: {run.key}")


def _serve_forever(runtime: Runtime, console: Console) -> None:
    """Keep the pipeline live (relay + consumers) while the dashboard serves; Ctrl-C stops."""
    stop = threading.Event()
    relay = OutboxRelay(sessions=runtime.sessions, log=runtime.event_log)
    workers = [
        threading.Thread(target=relay.run, kwargs={"stop": stop}, daemon=True),
        *(
            threading.Thread(
                target=consume,
                kwargs={"event_log": runtime.event_log, "sessions": runtime.sessions, "stop": stop},
                daemon=True,
            )
            for consume in (run_metering, run_attribution)
        ),
    ]
    for worker in workers:
        worker.start()
    console.print("Serving; press Ctrl-C to stop.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        console.print("Stopping.")
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=10)
        relay.close()
