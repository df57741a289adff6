"""`liftmeter inference ...` commands, run in process with the local backend."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from inference.cli import app

runner = CliRunner()
PRODUCT = {
    "id": "p1",
    "title": "Summit Pro backpack",
    "brand": "Kestrel",
    "category": "backpack",
    "attributes": {"capacity": "24 L", "color": "sand"},
    "features": ["hidden passport pocket", "reflective trim"],
    "price": "79.99",
}


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("train", "serve", "generate", "evaluate", "export"):
        assert command in result.output


def test_generate_prints_a_description_with_the_slots() -> None:
    result = runner.invoke(app, ["generate", json.dumps(PRODUCT)])
    assert result.exit_code == 0, result.output
    for slot in ("Kestrel", "Summit Pro backpack", "24 L", "sand", "reflective trim"):
        assert slot in result.output
    assert "79.99" not in result.stdout


def _report(stdout: str) -> dict[str, dict[str, object]]:
    return json.loads(stdout[: stdout.rindex("}") + 1])  # type: ignore[no-any-return]


def test_evaluate_passes_the_held_out_gate() -> None:
    result = runner.invoke(app, ["evaluate", "--products", "16", "--unseen-products", "0"])
    assert result.exit_code == 0, result.output
    assert _report(result.stdout)["passed"] is True


def test_evaluate_passes_the_unseen_vocabulary_gate() -> None:
    result = runner.invoke(app, ["evaluate", "--products", "4", "--unseen-products", "4"])
    report = _report(result.stdout)
    assert report["held_out"]["passed"] is True
    unseen = report["unseen_vocabulary"]
    assert {"attribute_recall", "invented_attribute_rate", "memorised_name_rate"} <= set(unseen)
    # the shipped checkpoint is delexicalized: it copies values it never saw
    assert unseen["passed"] is True
    assert result.exit_code == 0


def test_export_writes_a_llama_directory(tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", str(tmp_path / "llama")])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "llama" / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert (tmp_path / "llama" / "tokenizer.json").is_file()
