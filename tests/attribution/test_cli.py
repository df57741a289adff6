"""``liftmeter attribution analyze FILE`` on CSV and Parquet exports, and on bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from attribution.cli import app
from attribution.simulate import SimulationConfig, simulate_experiment

runner = CliRunner()


@pytest.fixture(scope="module")
def units() -> pd.DataFrame:
    config = SimulationConfig(n_units=30_000, holdout_share=0.5, true_relative_lift=0.6, seed=12)
    return simulate_experiment(config).units


def _analyze(path: Path, *extra: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["analyze", str(path), "--holdout-share", "0.5", *extra])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_analyze_prints_the_statistics_as_json(
    units: pd.DataFrame, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"units{suffix}"
    if suffix == ".csv":
        units.to_csv(path, index=False)
    else:
        units.to_parquet(path, index=False)
    code, out, _ = _analyze(path, "--pre-col", "pre_revenue")
    assert code == 0
    report = json.loads(out)
    assert report["units"]["holdout"] + report["units"]["treatment"] == len(units)
    assert report["srm"]["passed"] is True
    conversion = report["metrics"]["conversion_rate"]
    assert conversion["status"] == "ok"
    assert conversion["cuped_applied"] is True
    assert conversion["relative"]["ci_low"] < 0.6 < conversion["relative"]["ci_high"]
    revenue = report["incremental_revenue"]
    assert revenue["reason"] == "measured"
    assert float(revenue["conservative_amount"]) > 0
    assert report["revenue_cap"]["value"] > 0


def test_csv_and_parquet_give_the_same_report(units: pd.DataFrame, tmp_path: Path) -> None:
    units.to_csv(tmp_path / "u.csv", index=False)
    units.to_parquet(tmp_path / "u.parquet", index=False)
    csv_report = json.loads(_analyze(tmp_path / "u.csv")[1])
    parquet_report = json.loads(_analyze(tmp_path / "u.parquet")[1])
    csv_revenue, parquet_revenue = (
        csv_report["incremental_revenue"],
        parquet_report["incremental_revenue"],
    )
    assert csv_revenue["conservative_amount"] == parquet_revenue["conservative_amount"]
    assert csv_revenue["estimate"] == pytest.approx(parquet_revenue["estimate"], rel=1e-12)


def test_column_names_and_arm_labels_are_configurable(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "visitor": ["a", "b", "c", "d"],
            "group": ["B", "A", "B", "A"],
            "bought": [1, 0, 0, 1],
            "spend": [10.0, 0.0, 0.0, 5.0],
        }
    )
    frame.to_csv(tmp_path / "f.csv", index=False)
    code, out, _ = _analyze(
        tmp_path / "f.csv",
        "--unit-col",
        "visitor",
        "--arm-col",
        "group",
        "--converted-col",
        "bought",
        "--revenue-col",
        "spend",
        "--treatment-label",
        "B",
        "--holdout-label",
        "A",
    )
    assert code == 0
    report = json.loads(out)
    assert report["metrics"]["conversion_rate"]["status"] == "insufficient_data"
    assert report["incremental_revenue"]["reason"] == "insufficient_data"
    assert report["incremental_revenue"]["conservative_amount"] == "0.00"


def _bad_file(tmp_path: Path, **changes: list[object]) -> Path:
    frame = pd.DataFrame(
        {
            "unit_id": ["u1", "u2", "u3"],
            "arm": ["treatment", "holdout", "treatment"],
            "converted": [1, 0, 1],
            "revenue": [12.5, 0.0, 3.0],
        }
    )
    for column, values in changes.items():
        if values:
            frame[column] = values
        else:
            frame = frame.drop(columns=column)
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"revenue": []}, "revenue: missing column 'revenue'"),
        ({"arm": ["treatment", "control", "holdout"]}, "arm: row 2: arm 'control' is neither"),
        ({"revenue": [1.0, 2.0, -4.0]}, "revenue: row 3: negative value -4.0"),
        ({"revenue": [1.0, "abc", 2.0]}, "revenue: row 2: 'abc' is not a number"),
        ({"converted": [1, 2, 0]}, "converted: row 2: 2.0 is not 0 or 1"),
        ({"unit_id": ["u1", "u2", "u1"]}, "unit_id: row 3: unit 'u1' appears twice"),
    ],
    ids=["missing-column", "bad-arm", "negative-revenue", "not-a-number", "bad-flag", "dupe"],
)
def test_bad_files_exit_2_with_a_clear_message(
    tmp_path: Path, changes: dict[str, list[object]], message: str
) -> None:
    code, out, err = _analyze(_bad_file(tmp_path, **changes))
    assert code == 2
    assert message in err
    assert "Traceback" not in out + err


def test_unknown_file_type_and_missing_file_exit_2(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{}")
    code, _, err = _analyze(tmp_path / "x.json")
    assert code == 2
    assert "file:" in err
    code, _, err = _analyze(tmp_path / "absent.csv")
    assert code == 2
    assert "no such file" in err


def test_corrupt_parquet_exits_2(tmp_path: Path) -> None:
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    code, _, err = _analyze(tmp_path / "broken.parquet")
    assert code == 2
    assert "cannot be read" in err
