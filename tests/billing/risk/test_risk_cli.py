"""`liftmeter risk` through typer's CliRunner: score and evaluate."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from billing.risk.cli import app
from billing.risk.model import RiskModel

runner = CliRunner()


def test_score_prints_one_verdict_per_line(risk_model: RiskModel) -> None:
    lines = [
        {"text": "A cosy wool rug for the living room.", "category": "home"},
        {"text": "This tea cures cancer."},
    ]
    stdin = "\n".join(json.dumps(line) for line in lines) + "\n"
    result = runner.invoke(app, ["score"], input=stdin)
    assert result.exit_code == 0, result.output
    verdicts = [json.loads(line) for line in result.output.splitlines()]
    assert [v["verdict"] for v in verdicts][1] == "block"
    assert all(v["model_version"] == risk_model.version for v in verdicts)
    assert set(verdicts[0]) >= {"verdict", "score", "reasons", "model_version"}


def test_bad_lines_give_json_errors_and_a_nonzero_exit() -> None:
    stdin = 'not json\n{"category": "home"}\n{"text": "A cosy wool rug."}\n'
    result = runner.invoke(app, ["score"], input=stdin)
    assert result.exit_code == 1
    first, second, third = (json.loads(line) for line in result.output.splitlines())
    assert (first["line"], first["field"]) == (1, "line")
    assert (second["line"], second["field"]) == (2, "text")
    assert third["verdict"] in {"pass", "review"}
    assert "Traceback" not in result.output


def test_evaluate_json_reports_per_class_metrics_and_confusion() -> None:
    result = runner.invoke(app, ["evaluate", "--json", "--limit", "60"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report["combined"]["per_class"]) == {"pass", "review", "block"}
    assert len(report["combined"]["confusion"]) == 3


def test_evaluate_prints_tables() -> None:
    result = runner.invoke(app, ["evaluate", "--limit", "60"])
    assert result.exit_code == 0, result.output
    assert "precision" in result.output
    assert "confusion" in result.output
