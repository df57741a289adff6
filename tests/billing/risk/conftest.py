"""Shared fixtures for the risk model tests: the committed artefact, loaded once."""

from __future__ import annotations

from typing import Any

import pytest

from billing.risk.dataset import load_dataset, select_split
from billing.risk.evaluate import evaluate_model
from billing.risk.model import RiskModel, load_risk_model


@pytest.fixture(scope="session")
def risk_model() -> RiskModel:
    return load_risk_model()


@pytest.fixture(scope="session")
def held_out_report(risk_model: RiskModel) -> dict[str, Any]:
    """The evaluation on the whole held-out split, computed once (embedding is the cost)."""
    return evaluate_model(risk_model, select_split(load_dataset(), "test"))
