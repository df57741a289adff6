"""``liftmeter billing``: plans from YAML, the invoice run with progress, finalize, export."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from billing.models import Invoice
from liftmeter.cli import app
from liftmeter.runtime import open_runtime

from billing_support import PLAN, add_merchants, add_plan, ingest, october_calls
from support import make_settings

runner = CliRunner()


def test_plans_run_finalize_and_export(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIFTMETER_DATABASE__URL", pg_url)
    rt = open_runtime(make_settings(pg_url))
    add_merchants(rt.sessions, ["mer_a", "mer_b"])
    add_plan(rt.sessions, "mer_a")
    ingest(rt.sessions, october_calls("mer_a"))
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(yaml.safe_dump({**PLAN, "effective_from": "2099-01-01"}))
    result = runner.invoke(
        app, ["billing", "plans", "set", "--merchant", "mer_b", "--file", str(plan_file)]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["billing", "plans", "show", "--merchant", "mer_b"])
    assert json.loads(result.stdout)[0]["effective_from"] == "2099-01-01"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"currency": "USD", "charges": {"calls": {"unit_price": "-1"}}}))
    result = runner.invoke(
        app,
        [
            "billing",
            "plans",
            "set",
            "--merchant",
            "mer_b",
            "--file",
            str(bad),
            "--effective-from",
            "2099-02-01",
        ],
    )
    assert result.exit_code == 2
    assert "charges.calls.unit_price" in result.stderr
    result = runner.invoke(app, ["billing", "run", "--period", "2026-10"])
    assert result.exit_code == 0, result.output
    assert "1 created" in result.stdout
    assert "1 without a plan" in result.stdout
    result = runner.invoke(app, ["billing", "run", "--period", "2099-10"])
    assert result.exit_code == 2
    with rt.sessions() as session:
        invoice_id = session.scalars(select(Invoice.id)).one()
    result = runner.invoke(app, ["billing", "invoices", "finalize", invoice_id])
    assert result.exit_code == 0, result.output
    assert "finalized INV-" in result.stdout
    out = tmp_path / "invoice.csv"
    result = runner.invoke(app, ["billing", "invoices", "export", invoice_id, "--out", str(out)])
    assert result.exit_code == 0
    rows = list(csv.DictReader(out.open()))
    with rt.sessions() as session:
        stored = session.get(Invoice, invoice_id)
        assert stored is not None
        assert rows[-1]["amount"] == str(stored.total.quantize(stored.total.__class__("0.01")))
    rt.close()
