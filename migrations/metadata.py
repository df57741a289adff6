"""Every module that defines tables, imported so `Base.metadata` holds the whole schema.

Add a domain's `models` module here when it gets tables.
"""

from __future__ import annotations

import importlib

MODEL_MODULES: tuple[str, ...] = (
    "liftmeter.models",
    "liftmeter.audit",
    "gateway.models",
    "attribution.models",
    "attribution.results",
    "metering.models",
    "billing.risk.terms",
    "billing.models",
    "billing.review.models",
)


def import_all_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
