"""`record_events` on both databases: the per-unit merge commutes (any order, any batching
gives the same tables), and a conversion that arrives before its exposure is still linked."""

from __future__ import annotations

import random
import shutil
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from attribution.models import Experiment, ExperimentUnit, Exposure
from attribution.repository import experiment_statistics
from attribution.service import record_events
from liftmeter.runtime import open_runtime

from attribution_support import START, add_experiment, add_merchant, synthetic_events, totals
from factories import conversion_event, exposure_event
from support import make_settings


def test_any_order_and_batching_of_events_gives_the_same_tables(
    db_url: str, sqlite_template: Path, tmp_path: Path
) -> None:
    other = tmp_path / "shuffled.db"
    shutil.copy(sqlite_template, other)
    events = synthetic_events("mer_a", "exp_a", units=200, seed=11)
    shuffled = list(events)
    random.Random(3).shuffle(shuffled)
    results = []
    for url, stream, batch in ((db_url, events, 1000), (f"sqlite:///{other}", shuffled, 37)):
        rt = open_runtime(make_settings(url))
        add_merchant(rt.sessions, "mer_a")
        add_experiment(rt.sessions, "mer_a", "exp_a")
        for start in range(0, len(stream), batch):
            with rt.sessions.begin() as session:
                assert record_events(session, stream[start : start + batch]) == []
        results.append(totals(rt.engine))
        rt.close()
    assert results[0] == results[1]
    assert any(multiple for *_, multiple in results[0]["units"])  # type: ignore[attr-defined]


def test_a_conversion_before_its_exposure_arrives_is_still_linked(db_url: str) -> None:
    rt = open_runtime(make_settings(db_url))
    add_merchant(rt.sessions, "mer_a")
    add_experiment(rt.sessions, "mer_a", "exp_1")
    exposed_at = START + timedelta(days=2)
    purchase = conversion_event(occurred_at=exposed_at + timedelta(days=1), revenue="25.00")
    late = conversion_event(order_id="o-late", occurred_at=exposed_at + timedelta(days=8))
    with rt.sessions.begin() as session:  # the conversions topic ran ahead
        assert record_events(session, [purchase, late]) == []
    with rt.sessions.begin() as session:
        exposures = [
            exposure_event(occurred_at=exposed_at + timedelta(hours=3)),
            exposure_event(occurred_at=exposed_at),  # the earlier one anchors the window
            exposure_event(unit_id="v2", arm="holdout", occurred_at=exposed_at),
        ]
        assert record_events(session, exposures) == []
    with rt.sessions() as session:
        experiment = session.get(Experiment, "exp_1")
        assert experiment is not None
        stats = experiment_statistics(
            session,
            experiment=experiment,
            start=START,
            end=START + timedelta(days=30),
            window_days=7,
            pre_period_days=0,
            cap_percentile=None,
        )
    rt.close()
    by_arm = {s.arm: s for s in stats.segments}
    treated = by_arm["treatment"].revenue
    assert (treated.n, treated.sum_y, treated.n_nonzero) == (1, 25.0, 1)  # o-late is outside
    assert by_arm["treatment"].conversion.sum_y == 1
    assert (by_arm["holdout"].revenue.n, by_arm["holdout"].revenue.sum_y) == (1, 0.0)


def test_a_unit_keeps_the_category_of_its_first_exposure_whatever_arrives_first(
    db_url: str,
) -> None:
    rt = open_runtime(make_settings(db_url))
    add_merchant(rt.sessions, "mer_a")
    add_experiment(rt.sessions, "mer_a", "exp_1")
    first = START + timedelta(days=2)
    later = exposure_event(occurred_at=first + timedelta(hours=3), category="home")
    earlier = exposure_event(occurred_at=first, product_id="sku-2", category="shoes")
    uncategorised = exposure_event(unit_id="v2", arm="holdout", occurred_at=first)
    for batch in ([later], [earlier, uncategorised], [later]):
        with rt.sessions.begin() as session:
            assert record_events(session, batch) == []
    with rt.sessions() as session:
        units = dict(
            session.execute(
                select(ExperimentUnit.unit_id, ExperimentUnit.category).order_by(
                    ExperimentUnit.unit_id
                )
            ).all()
        )
        stored = set(session.execute(select(Exposure.category)).scalars())
    rt.close()
    assert units == {"v1": "shoes", "v2": None}
    assert stored == {"home", "shoes", None}
