"""The `liftmeter` command line.

Every command reads `Settings` from the environment once, configures logging, and stops
with one clear line (exit code 2) when a setting is wrong or a service cannot be reached.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from attribution import cli as attribution_cli
from billing import cli as billing_cli
from billing.risk import cli as risk_cli
from gateway import cli as gateway_cli
from inference import cli as inference_cli
from liftmeter.errors import LiftmeterError
from liftmeter.logging import configure_logging
from liftmeter.runtime import Runtime, open_runtime
from liftmeter.settings import Settings, load_settings
from metering import cli as metering_cli

console = Console()
err_console = Console(stderr=True)


class _App(typer.Typer):
    """A Typer app that turns liftmeter errors into one line on stderr and exit code 2."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except LiftmeterError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            sys.exit(2)


app = _App(
    name="liftmeter",
    help="liftmeter: outcome-based pricing for AI-generated product descriptions.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(
    help="Database schema: migrate, roll back, check for drift.", no_args_is_help=True
)
events_app = typer.Typer(
    help="The event log: topics, the outbox relay, dead letters.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(events_app, name="events")
app.add_typer(attribution_cli.app, name="attribution")
app.add_typer(gateway_cli.merchants_app, name="merchants")
app.add_typer(gateway_cli.keys_app, name="keys")
app.add_typer(gateway_cli.experiments_app, name="experiments")
app.add_typer(gateway_cli.cache_app, name="cache")
app.add_typer(inference_cli.app, name="inference")
app.add_typer(risk_cli.app, name="risk")
app.command("serve")(gateway_cli.serve)
app.add_typer(metering_cli.app, name="metering")
app.add_typer(billing_cli.app, name="billing")


def settings_from_env() -> Settings:
    settings = load_settings()
    configure_logging(settings.log)
    return settings


def runtime_from_env(*, check_events: bool = True) -> Runtime:
    return open_runtime(settings_from_env(), check_events=check_events)


@app.command("settings")
def show_settings() -> None:
    """Print the effective settings as JSON (secrets masked)."""
    data = settings_from_env().model_dump(mode="json")
    if data["inference"].get("api_key"):
        data["inference"]["api_key"] = "***"
    console.print_json(json.dumps(data))


@app.command("check")
def check() -> None:
    """Check that the database and the event log are reachable."""
    rt = runtime_from_env()
    console.print(f"database: ok ({rt.engine.url.render_as_string(hide_password=True)})")
    console.print(f"event log: ok ({rt.settings.events.backend})")
    rt.close()


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Migrate the database up (creates it when it is a new SQLite file)."""
    from liftmeter import migrate

    rt = runtime_from_env(check_events=False)
    migrate.upgrade(rt.engine, revision)
    console.print(f"database at {revision}")
    rt.close()


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "base",
) -> None:
    """Migrate the database down (to `base` drops every liftmeter table)."""
    from liftmeter import migrate

    rt = runtime_from_env(check_events=False)
    migrate.downgrade(rt.engine, revision)
    console.print(f"database at {revision}")
    rt.close()


@db_app.command("check")
def db_check() -> None:
    """Fail if the models and the migration history disagree."""
    from liftmeter import migrate

    rt = runtime_from_env(check_events=False)
    migrate.check(rt.engine)
    console.print("no drift between models and migrations")
    rt.close()


@events_app.command("topics")
def events_topics() -> None:
    """Create liftmeter's topics where they are missing."""
    from liftmeter.events import TOPICS

    rt = runtime_from_env()
    rt.event_log.ensure_topics(TOPICS)
    console.print(f"topics ready: {', '.join(TOPICS)}")
    rt.close()


@events_app.command("relay")
def events_relay(
    once: Annotated[bool, typer.Option(help="Drain the outbox once and exit.")] = False,
) -> None:
    """Publish outbox rows to the event log (runs until interrupted unless --once)."""
    import signal
    import threading

    from liftmeter.outbox import OutboxRelay

    rt = runtime_from_env()
    relay = OutboxRelay(sessions=rt.sessions, log=rt.event_log)
    if once:
        console.print(f"published {relay.drain()} event(s)")
    else:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            relay.run(stop=stop)
    relay.close()
    rt.close()


@events_app.command("dead-letters")
def events_dead_letters(
    group: Annotated[str | None, typer.Option(help="Only this consumer group.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """List messages consumers could not apply, newest first, with the reason."""
    from sqlalchemy import select

    from liftmeter.models import DeadLetter

    rt = runtime_from_env(check_events=False)
    stmt = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
    if group:
        stmt = stmt.where(DeadLetter.group_id == group)
    table = Table("id", "group", "topic", "partition", "offset", "reason", "at")
    with rt.sessions() as session:
        for dl in session.scalars(stmt):
            table.add_row(
                str(dl.id),
                dl.group_id,
                dl.topic,
                str(dl.partition),
                str(dl.offset),
                dl.reason,
                dl.created_at.isoformat(timespec="seconds"),
            )
    console.print(table)
    rt.close()


@app.command("demo")
def demo(
    merchants: Annotated[int, typer.Option(min=1, max=20, help="Merchants to simulate.")] = 3,
    products: Annotated[
        int, typer.Option(min=1, max=200, help="Products per merchant, each described twice.")
    ] = 6,
    visitors: Annotated[
        int, typer.Option(min=1000, max=2_000_000, help="Storefront visitors per merchant.")
    ] = 60_000,
    seed: Annotated[int, typer.Option(help="Random seed of the simulated world.")] = 7,
    workdir: Annotated[
        Path, typer.Option(help="Where the demo's fresh SQLite database lives.")
    ] = Path("var/demo"),
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the gateway.")] = 8787,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Keep the dashboard serving at the end.")
    ] = True,
) -> None:
    """Run liftmeter end to end on embedded defaults: calls, lift, invoices, dashboard."""
    from gateway.demo import DemoOptions, run_demo

    options = DemoOptions(
        merchants=merchants,
        products=products,
        visitors=visitors,
        seed=seed,
        workdir=workdir,
        port=port,
        serve=serve,
    )
    run_demo(load_settings(), options, console)


if __name__ == "__main__":
    app()
