"""The combined risk model: rules, then the calibrated classifier, then the routing policy.

`RiskModel.score` runs the stage-1 rules and the stage-2 classifier on one text and
applies `policy.decide` (the combination policy is documented there). `load_risk_model()`
loads the committed artefact under `billing/risk/model/` so the gateway needs no training
at start. A model is immutable and safe to share between threads once loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from sklearn.pipeline import Pipeline

from billing.risk.classifier import MODEL_DIR, ClassifierManifest, load_artefact
from billing.risk.policy import RiskPolicy, decide
from billing.risk.rules import find_rule_hits
from billing.risk.schemas import RiskVerdict, ScoreRequest, Verdict

EVIDENCE_TERMS = 3
_WORD_PREFIX = "word__"


class RiskModel:
    """Screens generated descriptions; every verdict records `version`."""

    def __init__(
        self, pipeline: Pipeline, manifest: ClassifierManifest, *, policy: RiskPolicy | None = None
    ) -> None:
        self.pipeline = pipeline
        self._features = pipeline.named_steps["features"]
        self._classifier = pipeline.named_steps["classifier"]
        self._classes = [str(c) for c in self._classifier.classes_]
        self._manifest = manifest
        self.policy = policy or RiskPolicy()
        self._block_weights, self._terms = self._word_block_weights()

    @property
    def version(self) -> str:
        """The artefact version that every verdict of this model carries."""
        return self._manifest.version

    @property
    def manifest(self) -> ClassifierManifest:
        """The artefact's manifest (data hash, metrics)."""
        return self._manifest

    def _word_block_weights(self) -> tuple[NDArray[np.float64], NDArray[np.str_]]:
        block = self._classes.index(Verdict.BLOCK)
        coefs = [fold.estimator.coef_[block] for fold in self._classifier.calibrated_classifiers_]
        names = np.asarray(self._features.get_feature_names_out(), dtype=np.str_)
        return np.mean(coefs, axis=0), names

    def score(
        self, text: str, *, category: str | None = None, merchant_terms: Sequence[str] = ()
    ) -> RiskVerdict:
        """Screen one text; `merchant_terms` are the merchant's forbidden terms."""
        return self._score_row(self._features.transform([text]), text, category, merchant_terms)

    def score_many(self, requests: Sequence[ScoreRequest]) -> list[RiskVerdict]:
        """Screen a batch (one vectoriser call for all texts, faster per text)."""
        matrix = self._features.transform([request.text for request in requests])
        return [
            self._score_row(matrix[i], r.text, r.category, r.merchant_terms)
            for i, r in enumerate(requests)
        ]

    def _score_row(
        self, row: csr_matrix, text: str, category: str | None, terms: Sequence[str]
    ) -> RiskVerdict:
        probabilities = dict(
            zip(self._classes, map(float, self._classifier.predict_proba(row)[0]), strict=True)
        )
        hits = find_rule_hits(text, merchant_terms=terms)
        decision = decide(hits, probabilities, category=category, policy=self.policy)
        return RiskVerdict(
            verdict=decision.verdict,
            score=round(probabilities[Verdict.BLOCK], 6),
            reasons=decision.reasons,
            evidence=self._evidence(row) if decision.verdict is not Verdict.PASS else (),
            model_version=self.version,
        )

    def _evidence(self, row: csr_matrix) -> tuple[str, ...]:
        """The word n-grams in `row` that contribute most towards block."""
        contributions = row.data * self._block_weights[row.indices]
        order = np.argsort(-contributions)
        terms = [
            str(self._terms[row.indices[i]]).removeprefix(_WORD_PREFIX)
            for i in order
            if contributions[i] > 0 and str(self._terms[row.indices[i]]).startswith(_WORD_PREFIX)
        ]
        return tuple(terms[:EVIDENCE_TERMS])


def load_risk_model(path: Path | None = None, *, policy: RiskPolicy | None = None) -> RiskModel:
    """Load the artefact in `path` (default: the committed `billing/risk/model/`)."""
    pipeline, manifest = load_artefact(path or MODEL_DIR)
    return RiskModel(pipeline, manifest, policy=policy)
