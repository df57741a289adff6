"""The published assignment hash: fixed vectors, agreement of the vectorised form, balance."""

from __future__ import annotations

import pytest

from attribution.assignment import (
    Arm,
    assign_arm,
    assign_arms,
    bucket,
    buckets_many,
    experiment_seed,
    fnv1a32,
    fnv1a32_many,
)
from liftmeter.errors import ValidationFailed


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", 0x811C9DC5), ("a", 0xE40C292C), ("foobar", 0xBF9CF968)],
)
def test_fnv1a32_matches_reference_vectors(text: str, expected: int) -> None:
    assert fnv1a32(text) == expected


def test_bucket_matches_growthbook_v2_vector() -> None:
    assert bucket("seed", "a") == pytest.approx(0.0505, abs=1e-12)


def test_single_hash_matches_growthbook_v1_vector() -> None:
    assert (fnv1a32("a") % 1000) / 1000 == pytest.approx(0.22)


def test_non_ascii_ids_hash_utf16_code_units() -> None:
    # "é" is one UTF-16 unit (0x00E9); "😀" is a surrogate pair (0xD83D, 0xDE00).
    h = 0x811C9DC5
    for unit in (0xD83D, 0xDE00):
        h = ((h ^ unit) * 0x01000193) & 0xFFFFFFFF
    assert fnv1a32("😀") == h
    assert fnv1a32("é") == ((0x811C9DC5 ^ 0xE9) * 0x01000193) & 0xFFFFFFFF


@pytest.mark.parametrize(
    ("unit_id", "expected_bucket", "expected_arm"),
    [
        ("u1", 0.3916, Arm.TREATMENT),
        ("u2", 0.1414, Arm.TREATMENT),
        ("user-42", 0.6649, Arm.TREATMENT),
    ],
)
def test_assignment_vectors_are_stable(
    unit_id: str, expected_bucket: float, expected_arm: Arm
) -> None:
    assert experiment_seed("m1", "e1") == "m1:e1"
    assert bucket("m1:e1", unit_id) == pytest.approx(expected_bucket, abs=1e-12)
    arm = assign_arm(merchant_id="m1", experiment_id="e1", unit_id=unit_id, holdout_share=0.1)
    assert arm is expected_arm


def test_holdout_is_the_low_bucket_range() -> None:
    arm = assign_arm(merchant_id="m1", experiment_id="e1", unit_id="u2", holdout_share=0.15)
    assert arm is Arm.HOLDOUT  # bucket 0.1414 < 0.15


def test_vectorised_hash_equals_scalar_hash() -> None:
    ids = ["a", "foobar", "héllo", "😀x", "", "visitor-000123"]
    assert [int(v) for v in fnv1a32_many(ids)] == [fnv1a32(i) for i in ids]
    assert list(buckets_many("s:", ids)) == [bucket("s:", i) for i in ids]


def test_assignment_is_deterministic_and_order_free() -> None:
    ids = [f"v{i}" for i in range(200)]
    forward = assign_arms(merchant_id="m", experiment_id="x", unit_ids=ids, holdout_share=0.3)
    backward = assign_arms(
        merchant_id="m", experiment_id="x", unit_ids=ids[::-1], holdout_share=0.3
    )
    assert forward == backward[::-1]


def test_holdout_share_is_respected_over_many_units() -> None:
    ids = [f"visitor-{i}" for i in range(40_000)]
    arms = assign_arms(merchant_id="m7", experiment_id="exp", unit_ids=ids, holdout_share=0.1)
    share = sum(a is Arm.HOLDOUT for a in arms) / len(arms)
    # binomial sd is 0.0015; allow 4 sd
    assert share == pytest.approx(0.1, abs=0.006)


def test_experiments_hash_independently() -> None:
    ids = [f"visitor-{i}" for i in range(20_000)]
    a = assign_arms(merchant_id="m", experiment_id="e1", unit_ids=ids, holdout_share=0.5)
    b = assign_arms(merchant_id="m", experiment_id="e2", unit_ids=ids, holdout_share=0.5)
    agree = sum(x is y for x, y in zip(a, b, strict=True)) / len(ids)
    assert agree == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize("share", [0.0, 1.0, -0.1])
def test_invalid_holdout_share_is_rejected(share: float) -> None:
    with pytest.raises(ValidationFailed) as info:
        assign_arm(merchant_id="m", experiment_id="e", unit_id="u", holdout_share=share)
    assert info.value.param == "holdout_share"
