"""The combination policy: rule hits and classifier probabilities in, a verdict out.

In order, first match wins for the verdict; every reason that applies is reported:

1. a `HIGH`-severity rule hit                              -> block
2. classifier P(block) >= `block_threshold`                -> block
3. a `MEDIUM`-severity rule hit                            -> review
4. P(block) in the gray band [`gray_low`, `block_threshold`) -> review
5. P(review) >= `review_threshold`                         -> review
6. a sensitive category (health, finance, children) and
   1 - P(pass) >= `sensitive_review_floor`                 -> review
7. otherwise                                               -> pass

With the default `sensitive_review_floor` of 0.0 every output in a sensitive category is
seen by a person; raising it lets clearly clean ones through. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from billing.risk.rules import RuleHit, Severity, reason_codes
from billing.risk.schemas import Verdict

SENSITIVE_CATEGORIES = frozenset({"health", "finance", "children"})


class DecisionReason(StrEnum):
    """Reasons that come from the classifier or the category rather than a rule."""

    CLASSIFIER_BLOCK = "classifier_block"
    CLASSIFIER_GRAY_ZONE = "classifier_gray_zone"
    CLASSIFIER_REVIEW = "classifier_review"
    SENSITIVE_CATEGORY = "sensitive_category"


@dataclass(frozen=True, slots=True)
class RiskPolicy:
    """Thresholds of the combination policy; probabilities are calibrated, 0..1."""

    block_threshold: float = 0.5
    gray_low: float = 0.35
    review_threshold: float = 0.4
    sensitive_review_floor: float = 0.0
    sensitive_categories: frozenset[str] = field(default=SENSITIVE_CATEGORIES)

    def __post_init__(self) -> None:
        if not 0.0 <= self.gray_low <= self.block_threshold <= 1.0:
            raise ValueError("need 0 <= gray_low <= block_threshold <= 1")


@dataclass(frozen=True, slots=True)
class Decision:
    """A verdict and the reasons behind it, in a stable order (rules first)."""

    verdict: Verdict
    reasons: tuple[str, ...]


def _classifier_reasons(probabilities: Mapping[str, float], policy: RiskPolicy) -> list[str]:
    p_block = probabilities.get(Verdict.BLOCK, 0.0)
    reasons: list[str] = []
    if p_block >= policy.block_threshold:
        reasons.append(DecisionReason.CLASSIFIER_BLOCK)
    elif p_block >= policy.gray_low:
        reasons.append(DecisionReason.CLASSIFIER_GRAY_ZONE)
    if probabilities.get(Verdict.REVIEW, 0.0) >= policy.review_threshold:
        reasons.append(DecisionReason.CLASSIFIER_REVIEW)
    return reasons


def is_sensitive(category: str | None, policy: RiskPolicy) -> bool:
    """True when `category` (case-insensitive) is one of the policy's sensitive categories."""
    return category is not None and category.strip().lower() in policy.sensitive_categories


def decide(
    hits: Sequence[RuleHit],
    probabilities: Mapping[str, float],
    *,
    category: str | None,
    policy: RiskPolicy,
) -> Decision:
    """Apply the policy to rule hits and class probabilities (keys pass/review/block)."""
    reasons: list[str] = [code.value for code in reason_codes(hits)]
    reasons.extend(_classifier_reasons(probabilities, policy))
    not_pass = 1.0 - probabilities.get(Verdict.PASS, 0.0)
    if is_sensitive(category, policy) and not_pass >= policy.sensitive_review_floor:
        reasons.append(DecisionReason.SENSITIVE_CATEGORY)
    hard = any(hit.severity is Severity.HIGH for hit in hits)
    if hard or DecisionReason.CLASSIFIER_BLOCK in reasons:
        return Decision(Verdict.BLOCK, tuple(reasons))
    return Decision(Verdict.REVIEW if reasons else Verdict.PASS, tuple(reasons))
