"""`liftmeter risk queue` and `liftmeter risk decide` against a real (SQLite) database."""

from __future__ import annotations

import json

import pytest
from review_support import review_call
from typer.testing import CliRunner

from billing.risk.cli import app
from liftmeter.audit import list_audit

from gateway_harness import harness_with
from support import make_settings

runner = CliRunner()


def test_queue_lists_and_decide_records_with_audit(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIFTMETER_DATABASE__URL", sqlite_url)
    with harness_with(make_settings(sqlite_url)) as gw:
        mid, merchant = gw.merchant()
        body = review_call(gw, merchant)

        listed = runner.invoke(app, ["queue", "--json"])
        assert listed.exit_code == 0, listed.output
        [item] = [json.loads(line) for line in listed.output.splitlines()]
        assert (item["id"], item["merchant_id"], item["status"]) == (
            body["review_id"],
            mid,
            "pending",
        )

        no_note = runner.invoke(app, ["decide", body["review_id"], "--reject"])
        assert no_note.exit_code == 2
        assert json.loads(no_note.output)["error"] == "review_note_required"

        done = runner.invoke(app, ["decide", body["review_id"], "--reject", "--note", "cure claim"])
        assert done.exit_code == 0, done.output
        assert json.loads(done.output)["status"] == "rejected"

        again = runner.invoke(app, ["decide", body["review_id"], "--approve"])
        assert again.exit_code == 2
        assert json.loads(again.output)["error"] == "review_already_decided"

        assert runner.invoke(app, ["queue", "--json"]).output == ""
        table = runner.invoke(app, ["queue", "--status", "rejected"])
        assert table.exit_code == 0
        assert "review queue" in table.output
        with gw.runtime.sessions() as session:
            [entry] = list_audit(session, subject_id=body["review_id"])
        assert entry.actor.startswith("cli:")
        assert entry.reason == "cure claim"


def test_decide_needs_approve_or_reject() -> None:
    result = runner.invoke(app, ["decide", "rev_x"])
    assert result.exit_code == 2
    assert json.loads(result.output)["param"] == "approve"
