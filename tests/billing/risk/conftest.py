"""Shared fixtures for the risk model tests: the committed artefact, loaded once."""

from __future__ import annotations

import pytest

from billing.risk.model import RiskModel, load_risk_model


@pytest.fixture(scope="session")
def risk_model() -> RiskModel:
    return load_risk_model()
