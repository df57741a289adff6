"""Stage 2 of the risk model: TF-IDF n-grams and a calibrated logistic regression.

Features are word unigrams and bigrams plus character n-grams (2-5, within word
boundaries), sublinear TF-IDF, joined. The classifier is a multinomial logistic
regression wrapped in `CalibratedClassifierCV` (sigmoid, 3 unshuffled stratified folds),
so `predict_proba` is calibrated. The vectorisers are fitted once on the whole training
split and the calibration folds see those features: a small leak of document frequencies
across folds, accepted to keep one vectoriser (and a small artefact) instead of three.

The artefact is a directory: `risk_classifier.joblib` (the fitted pipeline) and
`manifest.json` (`ClassifierManifest`). Loading checks the model file's SHA-256 against
the manifest, so a file swapped under a manifest is refused. joblib files are pickles:
only load artefacts from this repository or another trusted source.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline

from liftmeter.errors import ConfigurationError

MODEL_DIR = Path(__file__).parent / "model"
MODEL_FILE = "risk_classifier.joblib"
MANIFEST_FILE = "manifest.json"
MODEL_FAMILY = "risk-tfidf-lr"
FEATURE_SCHEME = 1
_C = 8.0

CalibrationFolds = list[tuple[NDArray[np.intp], NDArray[np.intp]]]


class ClassifierManifest(BaseModel):
    """What an artefact is: version, where its training data came from, how it scored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    model_family: str
    feature_scheme: int
    classes: tuple[str, ...]
    data_path: str
    data_sha256: str
    model_sha256: str
    sklearn_version: str
    n_train: int
    n_test: int
    metrics: dict[str, Any]


def model_version(data_sha256: str) -> str:
    """The version string: family, feature scheme and the first 10 hex of the data hash."""
    return f"{MODEL_FAMILY}-v{FEATURE_SCHEME}-{data_sha256[:10]}"


def build_pipeline(calibration_folds: CalibrationFolds | None = None) -> Pipeline:
    """An unfitted pipeline: joined word and char TF-IDF, calibrated logistic regression.

    `calibration_folds` are (train, calibrate) index pairs; by default 3 stratified folds.
    """
    features = FeatureUnion(
        [
            ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                                     max_features=20_000, dtype=np.float32)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                     sublinear_tf=True, max_features=40_000, dtype=np.float32)),
        ]
    )
    base = LogisticRegression(C=_C, max_iter=3000)
    folds = calibration_folds or StratifiedKFold(n_splits=3, shuffle=False)
    calibrated = CalibratedClassifierCV(base, method="sigmoid", cv=folds)
    return Pipeline([("features", features), ("classifier", calibrated)])


def group_folds(groups: Sequence[str], n_splits: int = 3) -> CalibrationFolds:
    """Calibration folds that keep each phrasing family on one side of every split.

    Calibrating on families the fold's model never saw makes the probabilities reflect
    how sure the model is on new phrasings, not on the templates it memorised.
    """
    splitter = GroupKFold(n_splits=n_splits)
    placeholder = np.zeros(len(groups))
    return [(train, test) for train, test in splitter.split(placeholder, groups=list(groups))]


def train_classifier(
    texts: Sequence[str], labels: Sequence[str], *, groups: Sequence[str] | None = None
) -> Pipeline:
    """Fit a fresh pipeline; deterministic for the same inputs in the same order.

    With `groups` (phrasing families) calibration folds are split by group.
    """
    folds = group_folds(groups) if groups is not None else None
    pipeline = build_pipeline(folds)
    pipeline.fit(list(texts), list(labels))
    return pipeline


def predict_probabilities(pipeline: Pipeline, texts: Sequence[str]) -> list[dict[str, float]]:
    """Calibrated class probabilities, one `{class: p}` mapping per text."""
    matrix: NDArray[np.float64] = pipeline.predict_proba(list(texts))
    classes = [str(c) for c in pipeline.classes_]
    return [dict(zip(classes, map(float, row), strict=True)) for row in matrix]


def _drop_pruned_terms(pipeline: Pipeline) -> None:
    """Drop the vectorisers' `stop_words_` (terms cut by `max_features`/`min_df`).

    It is only kept for introspection, is large, and is a set whose pickled order depends
    on the interpreter's hash seed, which would make the artefact bytes differ per run.
    """
    for _, vectorizer in pipeline.named_steps["features"].transformer_list:
        if hasattr(vectorizer, "stop_words_"):
            del vectorizer.stop_words_


def save_artefact(pipeline: Pipeline, manifest: ClassifierManifest, directory: Path) -> Path:
    """Write the model file and its manifest (with the file's hash) under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    _drop_pruned_terms(pipeline)
    model_path = directory / MODEL_FILE
    joblib.dump(pipeline, model_path, compress=3)
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


def load_artefact(directory: Path = MODEL_DIR) -> tuple[Pipeline, ClassifierManifest]:
    """Load a fitted pipeline and its manifest; refuse a model whose hash does not match."""
    manifest = read_manifest(directory)
    model_path = directory / MODEL_FILE
    data = model_path.read_bytes() if model_path.is_file() else b""
    if hashlib.sha256(data).hexdigest() != manifest.model_sha256:
        raise ConfigurationError(
            f"{model_path} is missing or does not match its manifest", param="risk_model_path"
        )
    pipeline: Pipeline = joblib.load(model_path)
    return pipeline, manifest


def sklearn_version() -> str:
    """The scikit-learn version that trains (and must load) the artefact."""
    return str(sklearn.__version__)
