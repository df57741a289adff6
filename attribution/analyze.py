"""Analysis of an exported per-unit table (CSV or Parquet): validation, then every statistic.

Input: one row per unit (visitor) with its id, its arm, whether it converted (0/1) and
its revenue in the attribution window (currency units, ≥ 0), optionally its pre-period
revenue (the CUPED covariate, same unit). Column names and arm labels are configurable
(`ColumnMap`). Problems are reported as `ValidationFailed` naming the column (``param``)
and the first offending data row (1-based, header not counted).

Output (`analyze_units`): a JSON-ready dict with unit counts, the SRM check, the revenue
cap, conversion rate and revenue per unit (capped; uncapped for context), and the
incremental revenue with the conservative billable amount (a decimal string).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from attribution.assignment import Arm
from attribution.capping import DEFAULT_CAP_PERCENTILE, cap_revenue, revenue_cap
from attribution.lift import MetricKind
from attribution.metric import AnalysisOptions, MetricResult, analyze_metric
from attribution.revenue import METHOD_VERSION, estimate_incremental_revenue
from attribution.srm import check_holdout_srm
from attribution.sufficient import ArmStats, arm_stats_by_arm
from liftmeter.errors import ValidationFailed

PRE = "pre_revenue"


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Names of the input columns and the arm labels used in the file."""

    unit_id: str = "unit_id"
    arm: str = "arm"
    converted: str = "converted"
    revenue: str = "revenue"
    pre_period: str | None = None
    treatment_label: str = "treatment"
    holdout_label: str = "holdout"


def read_table(path: Path) -> pd.DataFrame:
    """Read ``path`` as CSV (``.csv``) or Parquet (``.parquet``/``.pq``)."""
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".parquet", ".pq"}:
        raise ValidationFailed(f"{path.name}: expected a .csv or .parquet file", param="file")
    try:
        if suffix == ".csv":
            return pd.read_csv(path, dtype={0: str}, keep_default_na=True)
        return pd.read_parquet(path)
    except FileNotFoundError:
        raise ValidationFailed(f"{path}: no such file", param="file") from None
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ValidationFailed(f"{path.name}: cannot be read ({exc})", param="file") from None


def _first_bad_row(mask: pd.Series) -> int:
    return int(np.flatnonzero(mask.to_numpy())[0]) + 1


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() | ~np.isfinite(values.fillna(0.0))
    if bad.any():
        row = _first_bad_row(bad)
        raise ValidationFailed(
            f"row {row}: {frame[column].iloc[row - 1]!r} is not a number", param=column
        )
    return values.astype(np.float64)


def _non_negative(frame: pd.DataFrame, column: str) -> pd.Series:
    values = _numeric(frame, column)
    if (values < 0).any():
        row = _first_bad_row(values < 0)
        raise ValidationFailed(f"row {row}: negative value {values.iloc[row - 1]}", param=column)
    return values


def _arms(frame: pd.DataFrame, columns: ColumnMap) -> pd.Series:
    labels = {
        columns.treatment_label: Arm.TREATMENT.value,
        columns.holdout_label: Arm.HOLDOUT.value,
    }
    raw = frame[columns.arm].astype(str).str.strip()
    bad = ~raw.isin(list(labels))
    if bad.any():
        row = _first_bad_row(bad)
        raise ValidationFailed(
            f"row {row}: arm {raw.iloc[row - 1]!r} is neither "
            f"{columns.treatment_label!r} nor {columns.holdout_label!r}",
            param=columns.arm,
        )
    return raw.map(labels)


def _converted(frame: pd.DataFrame, column: str) -> pd.Series:
    values = _numeric(frame, column)
    bad = ~values.isin([0.0, 1.0])
    if bad.any():
        row = _first_bad_row(bad)
        raise ValidationFailed(f"row {row}: {values.iloc[row - 1]} is not 0 or 1", param=column)
    return values.astype(np.int64)


def _unit_ids(frame: pd.DataFrame, column: str) -> pd.Series:
    ids = frame[column].astype(str)
    missing = frame[column].isna()
    if missing.any():
        raise ValidationFailed(f"row {_first_bad_row(missing)}: empty unit id", param=column)
    duplicated = ids.duplicated()
    if duplicated.any():
        row = _first_bad_row(duplicated)
        raise ValidationFailed(f"row {row}: unit {ids.iloc[row - 1]!r} appears twice", param=column)
    return ids


def validate_units(frame: pd.DataFrame, columns: ColumnMap) -> pd.DataFrame:
    """The normalised per-unit table (unit_id, arm, converted, revenue[, pre_revenue])."""
    wanted = [columns.unit_id, columns.arm, columns.converted, columns.revenue]
    wanted += [columns.pre_period] if columns.pre_period else []
    for column in wanted:
        if column not in frame.columns:
            raise ValidationFailed(f"missing column {column!r}", param=column)
    frame = frame.reset_index(drop=True)
    table = pd.DataFrame(
        {
            "unit_id": _unit_ids(frame, columns.unit_id),
            "arm": _arms(frame, columns),
            "converted": _converted(frame, columns.converted),
            "revenue": _non_negative(frame, columns.revenue),
        }
    )
    if columns.pre_period:
        table[PRE] = _non_negative(frame, columns.pre_period)
    return table


def load_units(path: Path, columns: ColumnMap) -> pd.DataFrame:
    """Read and validate a per-unit export."""
    return validate_units(read_table(path), columns)


def _stats(table: pd.DataFrame, outcome: str) -> dict[Arm, ArmStats]:
    covariate = PRE if PRE in table.columns else None
    return arm_stats_by_arm(table, outcome_col=outcome, covariate_col=covariate)


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums, Decimals and NaN/inf turned into plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def _metrics(
    table: pd.DataFrame, capped: pd.DataFrame, opts: AnalysisOptions
) -> dict[str, MetricResult]:
    h, t = Arm.HOLDOUT, Arm.TREATMENT
    conv, rev, raw = _stats(table, "converted"), _stats(capped, "revenue"), _stats(table, "revenue")
    return {
        "conversion_rate": analyze_metric(
            conv[h], conv[t], kind=MetricKind.CONVERSION, options=opts
        ),
        "revenue_per_unit": analyze_metric(rev[h], rev[t], kind=MetricKind.REVENUE, options=opts),
        "revenue_per_unit_uncapped": analyze_metric(
            raw[h], raw[t], kind=MetricKind.REVENUE, options=opts
        ),
    }


def analyze_units(
    table: pd.DataFrame,
    *,
    holdout_share: float,
    currency: str = "USD",
    options: AnalysisOptions | None = None,
    cap_percentile: float | None = DEFAULT_CAP_PERCENTILE,
) -> dict[str, Any]:
    """Every statistic of a validated per-unit table, as a JSON-ready dict."""
    opts = options or AnalysisOptions()
    cap = (
        None if cap_percentile is None else revenue_cap(table["revenue"], percentile=cap_percentile)
    )
    capped = table.assign(revenue=cap_revenue(table["revenue"], cap))
    rev = _stats(capped, "revenue")
    holdout, treatment = rev[Arm.HOLDOUT], rev[Arm.TREATMENT]
    report = {
        "method_version": METHOD_VERSION,
        "units": {"holdout": holdout.n, "treatment": treatment.n},
        "options": opts,
        "srm": check_holdout_srm(
            holdout_units=holdout.n, treatment_units=treatment.n, holdout_share=holdout_share
        ),
        "revenue_cap": {"percentile": cap_percentile, "value": cap},
        "metrics": _metrics(table, capped, opts),
        "incremental_revenue": estimate_incremental_revenue(
            holdout,
            treatment,
            currency=currency,
            holdout_share=holdout_share,
            options=opts,
            revenue_cap=cap,
        ),
    }
    return dict(to_jsonable(report))
