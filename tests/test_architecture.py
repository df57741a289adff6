"""Dependency rules of ARCHITECTURE.md and STYLE.md, checked on the import statements."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOMAINS = {"liftmeter", "gateway", "metering", "attribution", "billing", "inference", "dashboards"}
ALLOWED = {
    "liftmeter": {"liftmeter", "migrations"},
    "inference": {"liftmeter", "inference"},
    "metering": {"liftmeter", "metering"},
    "attribution": {"liftmeter", "metering", "attribution"},
    "billing": {"liftmeter", "metering", "attribution", "billing"},
    "dashboards": {"liftmeter", "metering", "attribution", "billing", "dashboards"},
    "gateway": DOMAINS,
}
ENTRY_POINTS = {ROOT / "liftmeter" / "cli.py"}
TRANSPORT_LIBS = {"fastapi", "starlette", "kafka", "confluent_kafka", "httpx", "typer"}
PURE_MODULES = {"models.py", "repository.py", "service.py"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _sources() -> list[Path]:
    return [p for pkg in ALLOWED if (ROOT / pkg).is_dir() for p in (ROOT / pkg).rglob("*.py")]


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_packages_import_only_what_the_architecture_allows(path: Path) -> None:
    package = path.relative_to(ROOT).parts[0]
    imported = _imports(path)
    if path not in ENTRY_POINTS:
        assert (imported & DOMAINS) <= ALLOWED[package], f"{path} imports {imported & DOMAINS}"
    if package != "inference":
        assert "torch" not in imported, f"{path}: torch stays inside inference/"
    if path.name in PURE_MODULES:
        assert not imported & TRANSPORT_LIBS, (
            f"{path} imports transport {imported & TRANSPORT_LIBS}"
        )
