"""CLI of the gateway: merchants, API keys, experiments, and `serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway import keys
from liftmeter.runtime import Runtime
from liftmeter.web import Scope

console = Console()
merchants_app = typer.Typer(help="Register merchants.", no_args_is_help=True)
keys_app = typer.Typer(help="Issue, list and revoke API keys.", no_args_is_help=True)
experiments_app = typer.Typer(
    help="Start, list and stop holdout experiments.", no_args_is_help=True
)


def _runtime() -> Runtime:
    from liftmeter.cli import runtime_from_env

    return runtime_from_env(check_events=False)


@merchants_app.command("create")
def create_merchant(
    name: Annotated[str, typer.Argument(help="Display name.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 billing currency.")] = "USD",
    merchant_id: Annotated[str | None, typer.Option("--id", help="Choose the id.")] = None,
) -> None:
    """Register a merchant and print its id."""
    rt = _runtime()
    with rt.sessions.begin() as session:
        merchant = keys.create_merchant(
            session, name=name, currency=currency, merchant_id=merchant_id
        )
        console.print(merchant.id)
    rt.close()


@keys_app.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="What the key is for.")],
    merchant: Annotated[str | None, typer.Option(help="Merchant id (omit for staff keys).")] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option(help=f"Repeatable. One of: {', '.join(s.value for s in Scope)}."),
    ] = None,
    rpm: Annotated[int | None, typer.Option(help="Requests per minute.")] = None,
    tpm: Annotated[int | None, typer.Option(help="Tokens per minute.")] = None,
) -> None:
    """Issue a key and print its secret, once."""
    default = [s.value for s in keys.MERCHANT_SCOPES] if merchant else [Scope.ADMIN.value]
    rt = _runtime()
    with rt.sessions.begin() as session:
        issued = keys.issue_key(
            session,
            merchant_id=merchant,
            name=name,
            scopes=scope or default,
            requests_per_minute=rpm,
            tokens_per_minute=tpm,
        )
        console.print(f"key id: {issued.key.id}\nscopes: {issued.key.scopes}")
        console.print("secret (shown once, store it now):")
        print(issued.secret)
    rt.close()


@keys_app.command("list")
def list_keys(
    merchant: Annotated[str | None, typer.Option(help="Only this merchant.")] = None,
) -> None:
    """List keys (never their secrets)."""
    rt = _runtime()
    table = Table("id", "prefix", "merchant", "name", "scopes", "created", "revoked")
    with rt.sessions() as session:
        for k in keys.list_keys(session, merchant_id=merchant):
            table.add_row(
                k.id,
                k.prefix + "…",
                k.merchant_id or "(staff)",
                k.name,
                k.scopes,
                k.created_at.isoformat(timespec="seconds"),
                k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "",
            )
    console.print(table)
    rt.close()


@keys_app.command("revoke")
def revoke_key(key_id: Annotated[str, typer.Argument(help="The key id (key_…).")]) -> None:
    """Revoke a key; requests with it get 401 from then on."""
    rt = _runtime()
    with rt.sessions.begin() as session:
        keys.revoke_key(session, key_id)
    console.print(f"revoked {key_id}")
    rt.close()


@experiments_app.command("create")
def create_experiment(
    name: Annotated[str, typer.Argument(help="What the experiment tests.")],
    merchant: Annotated[str, typer.Option(help="Merchant id.")],
    holdout_share: Annotated[
        str, typer.Option(help="Share of units that keep the original (0 < x < 1, 4 decimals).")
    ] = "0.1",
    unit_type: Annotated[str, typer.Option(help="visitor (default) or product.")] = "visitor",
) -> None:
    """Start the merchant's experiment (one active at a time) and print its id."""
    from attribution import experiments

    rt = _runtime()
    with rt.sessions.begin() as session:
        created = experiments.create_experiment(
            session,
            merchant_id=merchant,
            name=name,
            holdout_share=holdout_share,
            unit_type=unit_type,
        )
        for warning in created.warnings:
            console.print(f"[yellow]warning:[/] {warning}", highlight=False)
        print(created.experiment.id)
    rt.close()


@experiments_app.command("list")
def list_experiments(
    merchant: Annotated[str | None, typer.Option(help="Only this merchant.")] = None,
) -> None:
    """List experiments, newest first."""
    from attribution import experiments

    rt = _runtime()
    table = Table("id", "merchant", "name", "holdout", "unit", "status", "starts", "ends")
    with rt.sessions() as session:
        for e in experiments.list_experiments(session, merchant_id=merchant):
            table.add_row(
                e.id,
                e.merchant_id,
                e.name,
                str(e.holdout_share),
                e.unit_type,
                e.status,
                experiments.as_utc(e.starts_at).isoformat(timespec="seconds"),
                experiments.as_utc(e.ends_at).isoformat(timespec="seconds") if e.ends_at else "",
            )
    console.print(table)
    rt.close()


@experiments_app.command("stop")
def stop_experiment(
    experiment_id: Annotated[str, typer.Argument(help="The experiment id (exp_…).")],
) -> None:
    """Stop an experiment; exposures before now still count."""
    from attribution import experiments

    rt = _runtime()
    with rt.sessions.begin() as session:
        experiments.stop_experiment(session, experiment_id, merchant_id=None)
    console.print(f"stopped {experiment_id}")
    rt.close()


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Run the gateway HTTP API with uvicorn (OpenAPI docs at /docs)."""
    import uvicorn

    from liftmeter.cli import settings_from_env

    settings = settings_from_env()
    uvicorn.run(
        "gateway.asgi:app",
        host=host or settings.gateway.host,
        port=port or settings.gateway.port,
        workers=workers,
        log_config=None,
        access_log=False,
    )


cache_app = typer.Typer(help="The description response cache.", no_args_is_help=True)


@cache_app.command("warm")
def warm_cache(
    catalog: Annotated[
        Path,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="CSV: id,title,brand,category[,features][,price]; "
            "other columns become attributes.",
        ),
    ],
    url: Annotated[str, typer.Option(help="The gateway's base URL.")] = "http://127.0.0.1:8080",
    key: Annotated[
        str,
        typer.Option(envvar="LIFTMETER_API_KEY", help="A merchant key with descriptions:write."),
    ] = "",
    style: Annotated[str | None, typer.Option(help="Writing style.")] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=64)] = 4,
) -> None:
    """Pre-generate descriptions for a catalogue through the gateway (fills its cache)."""
    import asyncio

    from gateway.warm import read_catalog, warm

    if not key:
        raise typer.BadParameter("give --key or set LIFTMETER_API_KEY", param_hint="--key")
    products = read_catalog(catalog)
    summary = asyncio.run(
        warm(products, url=url, key=key, style=style, concurrency=concurrency, console=console)
    )
    console.print(summary)
    if summary.get("failed"):
        raise typer.Exit(1)
