"""Helpers for the attribution tests: merchants, experiments, synthetic event streams, and
the attribution tables read back (as totals, or as frames for the row-level baseline)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from attribution.models import AttributedConversion, Experiment, ExperimentUnit, Exposure
from attribution.repository import as_utc
from liftmeter.events import ConversionRecorded, Event, ExposureRecorded
from liftmeter.models import Merchant

START = datetime(2026, 9, 1, tzinfo=UTC)


def add_merchant(sessions: sessionmaker[Session], merchant_id: str, currency: str = "USD") -> None:
    with sessions.begin() as session:
        session.add(Merchant(id=merchant_id, name=merchant_id, currency=currency))


def add_experiment(
    sessions: sessionmaker[Session],
    merchant_id: str,
    experiment_id: str,
    *,
    starts_at: datetime = START,
    unit_type: str = "visitor",
    holdout_share: str = "0.5",
    status: str = "stopped",
) -> None:
    """An experiment row written directly (the service refuses starts in the past)."""
    with sessions.begin() as session:
        session.add(
            Experiment(
                id=experiment_id,
                merchant_id=merchant_id,
                name=experiment_id,
                holdout_share=Decimal(holdout_share),
                unit_type=unit_type,
                starts_at=starts_at,
                ends_at=None,
                status=status,
            )
        )


def synthetic_events(
    merchant_id: str,
    experiment_id: str,
    *,
    units: int,
    seed: int = 1,
    start: datetime = START,
    days: int = 20,
    lift: float = 0.3,
) -> list[Event]:
    """Exposures (some units more than once, a few in both arms) and conversions (some
    before exposure: the pre-period; some after the window; repeated orders)."""
    rng = random.Random(seed)
    events: list[Event] = []
    for i in range(units):
        unit = f"v{i}"
        arm = "holdout" if rng.random() < 0.5 else "treatment"
        product = f"sku-{rng.randrange(5)}"
        t0 = start + timedelta(days=2, seconds=rng.randrange(days * 86400))
        for repeat in range(rng.choice([1, 1, 2])):
            events.append(
                ExposureRecorded(
                    merchant_id=merchant_id,
                    occurred_at=t0 + timedelta(hours=repeat * 5),
                    experiment_id=experiment_id,
                    unit_type="visitor",
                    unit_id=unit,
                    product_id=product,
                    arm=arm,
                )
            )
        if rng.random() < 0.02:  # a unit seen in both arms (excluded from the statistics)
            events.append(
                ExposureRecorded(
                    merchant_id=merchant_id,
                    occurred_at=t0 + timedelta(hours=1),
                    experiment_id=experiment_id,
                    unit_type="visitor",
                    unit_id=unit,
                    product_id=product,
                    arm="treatment" if arm == "holdout" else "holdout",
                )
            )
        rate = 0.3 * (1 + lift if arm == "treatment" else 1.0)
        for k in range(rng.choice([0, 1, 1, 2, 3])):
            offset = timedelta(hours=rng.uniform(-24 * 2, 24 * 9))
            if rng.random() > rate and offset > timedelta(0):
                continue
            revenue = Decimal(str(round(rng.lognormvariate(3, 1.2), 2)))
            events.append(
                ConversionRecorded(
                    merchant_id=merchant_id,
                    occurred_at=max(t0 + offset, start),
                    kind="purchase",
                    visitor_id=unit,
                    product_id=product,
                    order_id=f"o-{i}-{k}",
                    revenue=format(revenue, "f"),
                    currency="USD",
                )
            )
        if rng.random() < 0.2:
            events.append(
                ConversionRecorded(
                    merchant_id=merchant_id,
                    occurred_at=t0 + timedelta(minutes=3),
                    kind="view",
                    visitor_id=unit,
                    product_id=product,
                    currency="USD",
                )
            )
    return events


def frames(
    engine: Engine, experiment_id: str, merchant_id: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The experiment's unit rows and the merchant's conversion rows, as the baseline reads them."""
    u, c = ExperimentUnit.__table__.c, AttributedConversion.__table__.c
    with engine.connect() as conn:
        units = pd.DataFrame(
            conn.execute(
                select(
                    u.unit_id, u.arm, u.product_id, u.category, u.first_exposed_at, u.multiple_arms
                ).where(u.experiment_id == experiment_id)
            ).all(),
            columns=[
                "unit_id",
                "arm",
                "product_id",
                "category",
                "first_exposed_at",
                "multiple_arms",
            ],
        )
        conversions = pd.DataFrame(
            conn.execute(
                select(c.visitor_id, c.kind, c.revenue, c.occurred_at).where(
                    c.merchant_id == merchant_id
                )
            ).all(),
            columns=["key", "kind", "revenue", "occurred_at"],
        )
    for frame, column in ((units, "first_exposed_at"), (conversions, "occurred_at")):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    conversions["revenue"] = conversions["revenue"].astype(float)
    return units, conversions


def totals(engine: Engine) -> dict[str, object]:
    """Everything the consumer writes, summarised: equal totals mean equal tables."""
    with engine.connect() as conn:
        exposures = conn.execute(select(func.count()).select_from(Exposure)).scalar_one()
        units = conn.execute(
            select(
                ExperimentUnit.unit_id,
                ExperimentUnit.arm,
                ExperimentUnit.first_exposed_at,
                ExperimentUnit.multiple_arms,
            ).order_by(ExperimentUnit.unit_id)
        ).all()
        conversions = conn.execute(
            select(func.count(), func.sum(AttributedConversion.revenue)).select_from(
                AttributedConversion
            )
        ).one()
    return {
        "exposures": int(exposures),
        "units": [(r[0], r[1], as_utc(r[2]), bool(r[3])) for r in units],
        "conversions": int(conversions[0]),
        "revenue": Decimal(conversions[1] or 0).quantize(Decimal("0.01")),
    }


def with_categories(events: list[Event], categories: dict[str, str]) -> list[Event]:
    """`events` with each exposure of a product in `categories` carrying its category."""
    return [
        e.model_copy(update={"category": categories[e.product_id]})
        if isinstance(e, ExposureRecorded) and e.product_id in categories
        else e
        for e in events
    ]
