"""Wire and value types of the risk model: verdicts, score requests, review decisions.

`RiskVerdict` is what every screened output carries downstream (the gateway's response
and call event, the review queue, billing). `ReviewDecision` is what a reviewer records
for a verdict routed to review; the queue's tables and API store it, and an accepted
decision can become a labelled example for the next model version.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Verdict(StrEnum):
    """What happens to an output: billed as good work, held for a person, or withheld."""

    PASS = "pass"
    REVIEW = "review"
    BLOCK = "block"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RiskVerdict(_Frozen):
    """The risk model's decision on one text.

    `score` is the calibrated classifier probability (0..1) that the text belongs to the
    block class; rule hits do not change it, they show up in `reasons`. `reasons` are
    stable codes (rule codes from `rules.ReasonCode`, decision codes from
    `policy.DecisionReason`); `evidence` lists the n-grams that pushed the classifier most
    towards block. `model_version` names the artefact that produced the verdict.
    """

    verdict: Verdict
    score: float = Field(ge=0.0, le=1.0)
    reasons: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    model_version: str


class ScoreRequest(_Frozen):
    """One text to screen, as read by `liftmeter risk score` (a JSON line)."""

    text: str = Field(min_length=1, max_length=20_000)
    category: str | None = Field(default=None, max_length=64)
    merchant_terms: tuple[str, ...] = ()


class ReviewOutcome(StrEnum):
    """A reviewer's ruling: release the output (billable) or withhold it (credited)."""

    APPROVE = "approve"
    REJECT = "reject"


class ReviewDecision(_Frozen):
    """A reviewer's decision on one output routed to review; audit-logged, never edited.

    `label` is the reviewer's content label (pass/review/block) that feeds the next
    training set; `model_version` is the version whose verdict was reviewed.
    """

    call_id: str = Field(min_length=1, max_length=64)
    merchant_id: str = Field(min_length=1, max_length=64)
    reviewer_id: str = Field(min_length=1, max_length=64)
    outcome: ReviewOutcome
    label: Verdict
    reasons: tuple[str, ...] = ()
    note: str | None = Field(default=None, max_length=2000)
    model_version: str
    decided_at: AwareDatetime
