"""`liftmeter risk queue` and `liftmeter risk decide`: the review queue from a terminal.

Both read `Settings` from the environment (`LIFTMETER_DATABASE__URL`, ...). `decide`
records the decision and its audit row in one transaction, as the API does; the audit
actor is `cli:<login name>`. Errors print one JSON line and exit 2 (not found, already
decided: `{"error": code, "param", "message"}`).
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from billing.review.models import ReviewStatus
from billing.review.schemas import ReviewItemOut
from billing.review.service import decide_review, list_review_items
from billing.risk.schemas import ReviewOutcome
from liftmeter.errors import LiftmeterError
from liftmeter.runtime import open_runtime
from liftmeter.settings import load_settings


@contextmanager
def _sessions() -> Iterator[sessionmaker[Session]]:
    runtime = open_runtime(load_settings(), check_events=False)
    try:
        yield runtime.sessions
    finally:
        runtime.close()


def _fail(exc: LiftmeterError) -> typer.Exit:
    typer.echo(json.dumps({"error": exc.code, "param": exc.param, "message": exc.message}))
    return typer.Exit(2)


def _table(items: list[ReviewItemOut]) -> Table:
    table = Table(title="review queue")
    for column in ("id", "merchant", "status", "score", "reasons", "text"):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(
            item.id,
            item.merchant_id,
            item.status,
            f"{item.score:.3f}",
            ",".join(item.reasons),
            item.text[:80],
        )
    return table


def queue(
    status: Annotated[
        ReviewStatus | None, typer.Option(help="pending, approved or rejected (default: all).")
    ] = ReviewStatus.PENDING,
    merchant: Annotated[
        str | None, typer.Option("--merchant", help="One merchant's items.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many items.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON item per line.")] = False,
) -> None:
    """List the review queue, oldest first (pending items unless --status says otherwise)."""
    try:
        with _sessions() as factory, factory() as session:
            rows, _ = list_review_items(session, status=status, merchant_id=merchant, limit=limit)
            items = [ReviewItemOut.of(row) for row in rows]
    except LiftmeterError as exc:
        raise _fail(exc) from None
    if as_json:
        for item in items:
            typer.echo(item.model_dump_json())
        return
    Console().print(_table(items))


def decide(
    item_id: Annotated[str, typer.Argument(help="The review item id (rev_...).")],
    approve: Annotated[
        bool | None, typer.Option("--approve/--reject", help="Release or withhold the output.")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Why; required with --reject.")] = None,
) -> None:
    """Approve or reject one pending item; prints the decided item as JSON."""
    if approve is None:
        typer.echo(
            json.dumps(
                {
                    "error": "validation_failed",
                    "param": "approve",
                    "message": "pass --approve or --reject",
                }
            )
        )
        raise typer.Exit(2)
    outcome = ReviewOutcome.APPROVE if approve else ReviewOutcome.REJECT
    actor = f"cli:{getpass.getuser()}"
    try:
        with _sessions() as factory, factory.begin() as session:
            item = ReviewItemOut.of(
                decide_review(session, item_id, outcome=outcome, actor=actor, note=note)
            )
    except LiftmeterError as exc:
        raise _fail(exc) from None
    typer.echo(item.model_dump_json())
