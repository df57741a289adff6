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


def test_evaluate_passes_the_gate() -> None:
    result = runner.invoke(app, ["evaluate", "--products", "16", "--unseen-products", "16"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout[: result.stdout.rindex("}") + 1])["passed"] is True


def test_export_writes_a_llama_directory(tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", str(tmp_path / "llama")])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "llama" / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert (tmp_path / "llama" / "tokenizer.json").is_file()
