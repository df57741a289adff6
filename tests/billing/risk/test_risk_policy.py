"""The combination policy: rules, classifier bands and sensitive categories."""

from __future__ import annotations

import pytest

from billing.risk.policy import DecisionReason, RiskPolicy, decide
from billing.risk.rules import ReasonCode, RuleHit, Severity
from billing.risk.schemas import Verdict

CLEAN = {"pass": 0.9, "review": 0.05, "block": 0.05}
POLICY = RiskPolicy(block_threshold=0.5, gray_low=0.3, review_threshold=0.4)


def hit(severity: Severity) -> RuleHit:
    return RuleHit(ReasonCode.RISK_FREE, severity, 0, 4)


def test_clean_text_in_ordinary_category_passes() -> None:
    assert decide([], CLEAN, category="home", policy=POLICY).verdict is Verdict.PASS


def test_high_severity_hit_blocks_whatever_the_classifier_says() -> None:
    decision = decide([hit(Severity.HIGH)], CLEAN, category=None, policy=POLICY)
    assert decision.verdict is Verdict.BLOCK
    assert decision.reasons == (ReasonCode.RISK_FREE.value,)


def test_medium_severity_hit_goes_to_review() -> None:
    assert decide([hit(Severity.MEDIUM)], CLEAN, category=None, policy=POLICY).verdict is (
        Verdict.REVIEW
    )


@pytest.mark.parametrize(
    ("p_block", "verdict", "reason"),
    [
        (0.6, Verdict.BLOCK, DecisionReason.CLASSIFIER_BLOCK),
        (0.35, Verdict.REVIEW, DecisionReason.CLASSIFIER_GRAY_ZONE),
        (0.1, Verdict.PASS, None),
    ],
)
def test_classifier_bands(p_block: float, verdict: Verdict, reason: str | None) -> None:
    probabilities = {"pass": 1 - p_block, "review": 0.0, "block": p_block}
    decision = decide([], probabilities, category=None, policy=POLICY)
    assert decision.verdict is verdict
    assert (reason in decision.reasons) if reason else decision.reasons == ()


def test_probable_review_class_goes_to_review() -> None:
    probabilities = {"pass": 0.5, "review": 0.45, "block": 0.05}
    decision = decide([], probabilities, category=None, policy=POLICY)
    assert decision.reasons == (DecisionReason.CLASSIFIER_REVIEW,)


@pytest.mark.parametrize("category", ["health", "Finance", "children"])
def test_sensitive_category_goes_to_review(category: str) -> None:
    decision = decide([], CLEAN, category=category, policy=POLICY)
    assert decision.verdict is Verdict.REVIEW
    assert DecisionReason.SENSITIVE_CATEGORY in decision.reasons


def test_sensitive_floor_lets_clearly_clean_text_pass() -> None:
    policy = RiskPolicy(sensitive_review_floor=0.2)
    assert decide([], CLEAN, category="health", policy=policy).verdict is Verdict.PASS


def test_policy_rejects_inverted_band() -> None:
    with pytest.raises(ValueError, match="gray_low"):
        RiskPolicy(block_threshold=0.3, gray_low=0.4)
