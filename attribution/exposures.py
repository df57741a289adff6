"""Exposure intake: check exposures that storefronts computed themselves, row by row.

A storefront that hashes locally reports `{experiment_id, unit_type, unit_id, product_id,
arm, description_id?, category?, occurred_at}` per exposure (`category`: the product's
category, at most 100 characters; the lift is segmented by it when present). Each row is
checked against the merchant's experiments:

- the experiment must be one of the merchant's (`unknown_experiment`; another merchant's id
  reads exactly like an id that does not exist);
- `unit_type` must be the experiment's (`unit_type_mismatch`); in a product-level
  experiment the unit is the product, so `unit_id` must equal `product_id`;
- `arm` must be what the published hash gives (`arm_mismatch`): a storefront whose hash is
  off would put units in the wrong arm and bias the lift that is billed;
- a holdout exposure shows the original, so it carries no `description_id`;
- `description_id`, when given, must be one of the merchant's descriptions;
- `occurred_at` must be timezone-aware, inside the experiment window [starts_at, ends_at)
  and not later than now plus five minutes of clock skew.

The checks are pure: the caller loads the experiments and known description ids, and writes
the accepted events (through the outbox, in its transaction).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from attribution.assignment import assign_arms
from attribution.errors import Rejection
from attribution.experiments import CLOCK_SKEW, as_utc, window_of
from attribution.models import Experiment, UnitType
from liftmeter.events import ExposureRecorded

MAX_EXPOSURES_PER_BATCH = 10_000
Id = Annotated[str, Field(min_length=1, max_length=128)]


class ExposureRow(BaseModel):
    """One exposure as a storefront reports it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    experiment_id: Id
    unit_type: Literal["visitor", "product"]
    unit_id: Id
    product_id: Id
    arm: Literal["treatment", "holdout"]
    description_id: Id | None = None
    category: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    occurred_at: AwareDatetime


@dataclass(frozen=True)
class CheckedExposures:
    accepted: list[ExposureRecorded]
    rejected: list[Rejection]


_REASONS = {"missing": "required", "extra_forbidden": "unknown_field"}


def rejection_from(position: int, exc: ValidationError) -> Rejection:
    """The first error of a row model as a `Rejection` naming the field."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "row"
    reason = _REASONS.get(first["type"], "invalid")
    if first["type"] == "timezone_aware":
        reason = "timezone_required"
    return Rejection(position, field, reason, first["msg"].removeprefix("Value error, "))


def parse_rows(raw_rows: Sequence[Any]) -> tuple[list[tuple[int, ExposureRow]], list[Rejection]]:
    parsed: list[tuple[int, ExposureRow]] = []
    rejected: list[Rejection] = []
    for index, raw in enumerate(raw_rows):
        if not isinstance(raw, Mapping):
            rejected.append(Rejection(index, "row", "invalid", "must be a JSON object"))
            continue
        try:
            parsed.append((index, ExposureRow.model_validate(raw)))
        except ValidationError as exc:
            rejected.append(rejection_from(index, exc))
    return parsed, rejected


def _expected_arms(
    merchant_id: str, rows: Iterable[tuple[int, ExposureRow]], experiments: Mapping[str, Experiment]
) -> dict[int, str]:
    """The hash's arm for every row whose experiment is known (vectorised per experiment)."""
    by_experiment: dict[str, list[tuple[int, str]]] = {}
    for index, row in rows:
        if row.experiment_id in experiments:
            by_experiment.setdefault(row.experiment_id, []).append((index, row.unit_id))
    expected: dict[int, str] = {}
    for experiment_id, units in by_experiment.items():
        arms = assign_arms(
            merchant_id=merchant_id,
            experiment_id=experiment_id,
            unit_ids=[unit for _, unit in units],
            holdout_share=float(experiments[experiment_id].holdout_share),
        )
        expected.update((index, str(arm)) for (index, _), arm in zip(units, arms, strict=True))
    return expected


def _check_row(
    index: int,
    row: ExposureRow,
    *,
    experiment: Experiment | None,
    expected_arm: str | None,
    description_ids: set[str],
    now: datetime,
) -> Rejection | None:
    if experiment is None:
        return Rejection(index, "experiment_id", "unknown_experiment", "no such experiment")
    if row.unit_type != experiment.unit_type:
        message = f"the experiment randomizes by {experiment.unit_type}"
        return Rejection(index, "unit_type", "unit_type_mismatch", message)
    if row.unit_type == UnitType.PRODUCT.value and row.unit_id != row.product_id:
        message = "in a product-level experiment the unit is the product"
        return Rejection(index, "unit_id", "unit_id_mismatch", message)
    if row.arm != expected_arm:
        message = f"the published hash puts this unit in {expected_arm}"
        return Rejection(index, "arm", "arm_mismatch", message)
    if row.description_id is not None:
        if row.arm == "holdout":
            message = "the holdout sees the original description"
            return Rejection(index, "description_id", "holdout_with_description", message)
        if row.description_id not in description_ids:
            return Rejection(index, "description_id", "unknown_description", "no such description")
    return _check_time(index, as_utc(row.occurred_at), experiment, now)


def _check_time(
    index: int, occurred_at: datetime, experiment: Experiment, now: datetime
) -> Rejection | None:
    if occurred_at > now + CLOCK_SKEW:
        return Rejection(index, "occurred_at", "in_future", "must not be in the future")
    start, end = window_of(experiment)
    if occurred_at < start or (end is not None and occurred_at >= end):
        message = "outside the experiment window [starts_at, ends_at)"
        return Rejection(index, "occurred_at", "outside_window", message)
    return None


def check_exposures(
    raw_rows: Sequence[Any],
    *,
    merchant_id: str,
    experiments: Mapping[str, Experiment],
    description_ids: set[str],
    now: datetime,
) -> CheckedExposures:
    """Validate every row; accepted rows become `ExposureRecorded` events, in input order.

    `experiments` holds the merchant's experiments by id (only those); `description_ids`
    the merchant's description ids among those the rows mention.
    """
    parsed, rejected = parse_rows(raw_rows)
    expected = _expected_arms(merchant_id, parsed, experiments)
    accepted: list[ExposureRecorded] = []
    for index, row in parsed:
        problem = _check_row(
            index,
            row,
            experiment=experiments.get(row.experiment_id),
            expected_arm=expected.get(index),
            description_ids=description_ids,
            now=now,
        )
        if problem is not None:
            rejected.append(problem)
            continue
        accepted.append(
            ExposureRecorded(
                merchant_id=merchant_id,
                occurred_at=as_utc(row.occurred_at),
                experiment_id=row.experiment_id,
                unit_type=row.unit_type,
                unit_id=row.unit_id,
                product_id=row.product_id,
                arm=row.arm,
                description_id=row.description_id,
                category=row.category,
            )
        )
    rejected.sort(key=lambda r: r.position)
    return CheckedExposures(accepted, rejected)


def mentioned(raw_rows: Sequence[Any], field: str) -> set[str]:
    """Distinct string values of `field` among the rows (to load only what is referenced)."""
    return {
        value
        for raw in raw_rows
        if isinstance(raw, Mapping) and isinstance(value := raw.get(field), str)
    }
