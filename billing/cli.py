"""Command line of billing, mounted as ``liftmeter billing``.

- ``plans set --merchant M --file plan.yaml [--effective-from YYYY-MM-DD]``: add a plan
  version (JSON or YAML file; ``effective_from`` may also be a key of the file);
- ``plans show --merchant M``: the merchant's plan versions;
- ``run --period 2026-11 [--merchant M]``: create or recompute the period's drafts;
- ``invoices list|show|finalize|void|mark-paid|export``: the lifecycle, as finance.

Actions are audited with the actor ``cli:<os user>``. Errors print one line, exit code 2.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from liftmeter.errors import LiftmeterError, ValidationFailed
from liftmeter.logging import configure_logging
from liftmeter.runtime import Runtime, open_runtime
from liftmeter.settings import load_settings

# The billing modules reach the attribution read side (scipy, pandas) through the lift
# results table; commands import them when they run so `liftmeter --help` stays fast.

console = Console()
err_console = Console(stderr=True)
app = typer.Typer(help="Plans, invoice runs and the invoice lifecycle.", no_args_is_help=True)
plans_app = typer.Typer(help="Price plans (effective-dated versions).", no_args_is_help=True)
invoices_app = typer.Typer(
    help="Invoices: list, show, finalize, void, pay, export.", no_args_is_help=True
)
app.add_typer(plans_app, name="plans")
app.add_typer(invoices_app, name="invoices")

Merchant_ = Annotated[str, typer.Option("--merchant", help="Merchant id.")]
Reason = Annotated[str | None, typer.Option(help="Why (kept in the audit log).")]


def _runtime() -> Runtime:
    settings = load_settings()
    configure_logging(settings.log)
    return open_runtime(settings, check_events=False)


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _fail(exc: LiftmeterError) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def _read_spec(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ValidationFailed(f"cannot read {path}: {exc}", param="file") from None
    if not isinstance(data, dict):
        raise ValidationFailed("must hold one plan object", param="file")
    return data


@plans_app.command("set")
def plans_set(
    merchant: Merchant_,
    file: Annotated[Path, typer.Option(help="Plan as JSON or YAML.")],
    effective_from: Annotated[str | None, typer.Option(help="YYYY-MM-01 (UTC).")] = None,
    reason: Reason = None,
) -> None:
    """Add a plan version for a merchant, effective from the first day of a month."""
    from billing import service

    rt = _runtime()
    try:
        spec = _read_spec(file)
        start = effective_from or spec.pop("effective_from", None)
        spec.pop("effective_from", None)
        with rt.sessions.begin() as session:
            version = service.set_plan(
                session,
                merchant_id=merchant,
                effective_from=start,
                spec=spec,
                actor=_actor(),
                reason=reason,
            )
            console.print(
                f"plan version {version.id} effective from {version.effective_from:%Y-%m-%d}"
            )
    except LiftmeterError as exc:
        raise _fail(exc) from None
    finally:
        rt.close()


@plans_app.command("show")
def plans_show(merchant: Merchant_) -> None:
    """Print the merchant's plan versions, oldest first, as JSON."""
    from billing import service

    rt = _runtime()
    try:
        with rt.sessions() as session:
            versions = service.list_plans(session, merchant)
            data = [
                {
                    "id": v.id,
                    "effective_from": v.effective_from.date().isoformat(),
                    "created_by": v.created_by,
                    "plan": v.spec,
                }
                for v in versions
            ]
        console.print_json(json.dumps(data))
    except LiftmeterError as exc:
        raise _fail(exc) from None
    finally:
        rt.close()


@app.command("run")
def run(
    period: Annotated[str, typer.Option(help="The month to invoice, YYYY-MM.")],
    merchant: Annotated[str | None, typer.Option("--merchant", help="Only this merchant.")] = None,
) -> None:
    """Create or recompute the draft invoices of a period (one transaction)."""
    from billing.invoice import Period, run_invoices

    rt = _runtime()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console) as progress, rt.sessions.begin() as session:
            task = progress.add_task(f"rating {period}", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            summary = run_invoices(
                session,
                period=Period.parse(period),
                merchant_id=merchant,
                progress=advance,
                actor=_actor(),
            )
        console.print(
            f"{summary.period}: {summary.created} created, {summary.recomputed} recomputed, "
            f"{summary.skipped_final} already final, {summary.skipped_no_plan} without a plan, "
            f"{summary.lines} lines"
        )
    except LiftmeterError as exc:
        raise _fail(exc) from None
    finally:
        rt.close()


@invoices_app.command("list")
def invoices_list(
    merchant: Annotated[str | None, typer.Option("--merchant")] = None,
    status: Annotated[str | None, typer.Option()] = None,
    period: Annotated[str | None, typer.Option(help="YYYY-MM")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
) -> None:
    """Invoices, newest period first."""
    from billing import repository
    from billing.invoice import Period

    rt = _runtime()
    table = Table("id", "number", "merchant", "period", "status", "total")
    try:
        with rt.sessions() as session:
            start = Period.parse(period).start if period else None
            for inv in repository.list_invoices(
                session, merchant_id=merchant, status=status, period_start=start, limit=limit
            ):
                table.add_row(
                    inv.id,
                    inv.number or "",
                    inv.merchant_id,
                    f"{inv.period_start:%Y-%m}",
                    inv.status,
                    f"{inv.total} {inv.currency}",
                )
        console.print(table)
    except LiftmeterError as exc:
        raise _fail(exc) from None
    finally:
        rt.close()


@invoices_app.command("show")
def invoices_show(invoice_id: str) -> None:
    """One invoice with its lines."""
    from billing import service
    from billing.invoice import invoice_lines

    rt = _runtime()
    try:
        with rt.sessions() as session:
            inv = service.get_invoice(session, invoice_id)
            table = Table(
                "#",
                "kind",
                "description",
                "quantity",
                "amount",
                title=f"{inv.number or inv.id} {inv.status} {inv.merchant_id} "
                f"{inv.period_start:%Y-%m}",
            )
            for line in invoice_lines(session, inv):
                table.add_row(
                    str(line.position),
                    line.kind,
                    line.description,
                    str(line.quantity.normalize()),
                    str(line.amount),
                )
            table.add_row("", "", "Total", "", f"{inv.total} {inv.currency}")
        console.print(table)
    except LiftmeterError as exc:
        raise _fail(exc) from None
    finally:
        rt.close()


def _act(action: str, invoice_id: str, reason: str | None) -> None:
    from billing import service
    from billing.models import Invoice

    rt = _runtime()
    try:
        with rt.sessions.begin() as session:
            inv: Invoice
            if action == "finalize":
                inv = service.finalize_invoice(session, invoice_id, actor=_actor(), reason=reason)
            elif action == "void":
                inv = service.void_invoice(session, invoice_id, actor=_actor(), reason=reason or "")
            else:
                inv = service.mark_paid(session, invoice_id, actor=_actor(), reason=reason)
            console.print(f"{inv.id}: {inv.status} {inv.number or ''} {inv.total} {inv.currency}")
    except LiftmeterError as exc:
        raise _fail(exc) from None
    finally:
        rt.close()


@invoices_app.command("finalize")
def invoices_finalize(invoice_id: str, reason: Reason = None) -> None:
    """Finalize a draft (numbers it and closes the merchant's period in the ledger)."""
    _act("finalize", invoice_id, reason)


@invoices_app.command("void")
def invoices_void(
    invoice_id: str, reason: Annotated[str, typer.Option(help="Why (required).")]
) -> None:
    """Void a finalized invoice."""
    _act("void", invoice_id, reason)


@invoices_app.command("mark-paid")
def invoices_mark_paid(invoice_id: str, reason: Reason = None) -> None:
    """Record the payment of a finalized invoice."""
    _act("mark_paid", invoice_id, reason)


@invoices_app.command("export")
def invoices_export(
    invoice_id: str,
    out: Annotated[Path, typer.Option(help="File to write.")],
    format: Annotated[str, typer.Option(help="csv or pdf")] = "csv",  # noqa: A002
) -> None:
    """Write the invoice as CSV or PDF."""
    from billing import service
    from billing.exports import invoice_csv, invoice_pdf
    from billing.invoice import invoice_lines
    from liftmeter.models import Merchant

    rt = _runtime()
    try:
        with rt.sessions() as session:
            inv = service.get_invoice(session, invoice_id)
            lines = invoice_lines(session, inv)
            if format == "csv":
                out.write_text(invoice_csv(inv, lines))
            elif format == "pdf":
                merchant = session.get(Merchant, inv.merchant_id)
                out.write_bytes(
                    invoice_pdf(inv, lines, merchant_name=merchant.name if merchant else "")
                )
            else:
                raise ValidationFailed("must be csv or pdf", param="format")
        console.print(f"wrote {out}")
    except LiftmeterError as exc:
        raise _fail(exc) from None
    finally:
        rt.close()
