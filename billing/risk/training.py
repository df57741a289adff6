"""Retraining: dataset file in, versioned artefact (model file + manifest) out.

Steps, all on the train split (the test split is only scored at the end):

1. embed every text once (`EmbeddingCache`, kept for this run only, never saved);
2. carve a validation split out of the training *families* (every `VALIDATION_EVERY`-th
   family of each label, by name), fit each feature scheme on the rest and score it on
   the validation families; keep the scheme with the best block-class average precision;
3. pick the policy's `block_threshold` by grouped cross-validation of the kept scheme over
   *all* training families (`CV_FOLDS` folds, a family never on both sides): on the
   out-of-fold probabilities, the threshold with the highest block recall of the
   classifier *alone* whose label-balanced block precision is at least
   `THRESHOLD_PRECISION`, the highest such threshold on ties. The classifier alone, not
   rules + classifier: the rules were written from the training families, so a combined
   score there would credit them with hits they were written to make; rule blocks are
   precise on their own, so a classifier that is precise on unseen families keeps the
   combined model precise. Label-balanced (every label weighs the same in the precision):
   the share of block rows in training is only how many block families were written
   (43% in data version 2, 48% in version 3), and precision at a fixed threshold rises
   with that share, so an unweighted floor would loosen as block families are added;
4. refit the kept scheme on the whole train split, evaluate on the held-out test split,
   and, for the record, evaluate the other schemes there too (they are not used).

Deterministic: the same dataset bytes and encoder weights give the same model, version,
thresholds and metrics. A few minutes on a busy two-core machine, most of it embedding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import average_precision_score
from sklearn.model_selection import GroupKFold

from billing.risk.classifier import (
    FEATURE_SCHEME,
    MODEL_DIR,
    MODEL_FAMILY,
    ClassifierManifest,
    FeatureScheme,
    RiskClassifier,
    build_vectoriser,
    fit_head,
    join_features,
    model_version,
    save_artefact,
    sklearn_version,
)
from billing.risk.dataset import DEFAULT_DATASET_PATH, Example, file_sha256, load_dataset
from billing.risk.encoder import ENCODER_NAME, EmbeddingCache, SentenceEncoder, TextEncoder
from billing.risk.evaluate import evaluate_model
from billing.risk.model import RiskModel
from billing.risk.policy import RiskPolicy

VALIDATION_EVERY = 4
CV_FOLDS = 5
THRESHOLD_PRECISION = 0.90
_THRESHOLD_GRID = tuple(round(t, 2) for t in np.arange(0.2, 0.91, 0.02))


@dataclass(frozen=True, slots=True)
class _Fitted:
    classifier: RiskClassifier
    probabilities: NDArray[np.float64]


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path.name


def split_validation(train: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    """(fit, validation): every `VALIDATION_EVERY`-th training family of each label."""
    held: set[str] = set()
    for label in sorted({e.label for e in train}):
        families = sorted({e.family for e in train if e.label == label})
        held.update(families[VALIDATION_EVERY - 1 :: VALIDATION_EVERY])
    return [e for e in train if e.family not in held], [e for e in train if e.family in held]


def fit_scheme(
    scheme: FeatureScheme, fit: Sequence[Example], scored: Sequence[Example], encoder: TextEncoder
) -> _Fitted:
    """Fit `scheme` on `fit` and return it with its probabilities on `scored`."""
    texts = [e.text for e in fit]
    vectoriser = build_vectoriser() if scheme.uses_ngrams else None
    ngrams = vectoriser.fit_transform(texts) if vectoriser is not None else None
    embeddings = encoder.encode(texts) if scheme.uses_embedding else None
    head = fit_head(
        join_features(scheme, ngrams, embeddings), [e.label for e in fit], [e.family for e in fit]
    )
    classifier = RiskClassifier(
        scheme, head, vectoriser=vectoriser, encoder=encoder if scheme.uses_embedding else None
    )
    scored_texts = [e.text for e in scored]
    k = len(classifier.classes)
    probabilities = classifier.probabilities(scored_texts) if scored else np.zeros((0, k))
    return _Fitted(classifier, probabilities)


def out_of_fold_block(
    scheme: FeatureScheme, train: Sequence[Example], encoder: TextEncoder
) -> NDArray[np.float64]:
    """P(block) of every training example from a model that never saw its family."""
    groups = [e.family for e in train]
    scores = np.zeros(len(train))
    splitter = GroupKFold(n_splits=CV_FOLDS)
    for fit_rows, scored_rows in splitter.split(np.zeros(len(train)), groups=groups):
        fitted = fit_scheme(
            scheme, [train[i] for i in fit_rows], [train[i] for i in scored_rows], encoder
        )
        block = fitted.classifier.classes.index("block")
        scores[scored_rows] = fitted.probabilities[:, block]
    return scores


def label_balanced_weights(examples: Sequence[Example]) -> NDArray[np.float64]:
    """Per-example weights that give every label the same total weight (1 / its count)."""
    labels = np.array([e.label for e in examples])
    weights = np.zeros(len(examples))
    for label in set(labels.tolist()):
        weights[labels == label] = 1.0 / int((labels == label).sum())
    return weights


def choose_threshold(examples: Sequence[Example], p_block: NDArray[np.float64]) -> dict[str, float]:
    """The block threshold with the best out-of-fold recall at the (label-balanced)
    precision floor."""
    truth = np.array([e.label == "block" for e in examples])
    weights = label_balanced_weights(examples)
    best = (-1.0, 0.5, 0.0)  # recall, threshold, precision
    for threshold in _THRESHOLD_GRID:
        blocked = p_block >= threshold
        hits = int((blocked & truth).sum())
        flagged = float(weights[blocked].sum())
        precision = float(weights[blocked & truth].sum()) / flagged if flagged else 0.0
        recall = hits / max(int(truth.sum()), 1)
        if precision >= THRESHOLD_PRECISION and (recall, threshold) >= best[:2]:
            best = (recall, threshold, precision)
    recall, threshold, precision = best
    return {
        "block_threshold": threshold,
        "gray_low": min(0.35, threshold),
        "cv_classifier_block_precision_balanced": round(precision, 4),
        "cv_classifier_block_recall": round(max(recall, 0.0), 4),
    }


def _average_precision(examples: Sequence[Example], fitted: _Fitted) -> float:
    block = fitted.classifier.classes.index("block")
    truth = [e.label == "block" for e in examples]
    return round(float(average_precision_score(truth, fitted.probabilities[:, block])), 4)


def select_scheme(
    train: Sequence[Example], encoder: TextEncoder
) -> tuple[FeatureScheme, dict[str, float], dict[str, Any]]:
    """Pick the feature scheme on validation families and the threshold by grouped
    cross-validation over the training families; report all schemes."""
    fit, validation = split_validation(train)
    fitted = {scheme: fit_scheme(scheme, fit, validation, encoder) for scheme in FeatureScheme}
    scores = {scheme: _average_precision(validation, f) for scheme, f in fitted.items()}
    chosen = max(FeatureScheme, key=lambda scheme: (scores[scheme], scheme == "embedding"))
    thresholds = choose_threshold(train, out_of_fold_block(chosen, train, encoder))
    selection = {
        "validation_families": sorted({e.family for e in validation}),
        "validation_block_average_precision": {s.value: v for s, v in scores.items()},
        "chosen": chosen.value,
        "threshold_rule": (
            f"classifier-only label-balanced block precision >= {THRESHOLD_PRECISION} on "
            f"{CV_FOLDS}-fold family-grouped out-of-fold probabilities of the training split"
        ),
    }
    return chosen, thresholds, selection


def _manifest(
    data_path: Path, encoder: TextEncoder, classifier: RiskClassifier, counts: tuple[int, int]
) -> ClassifierManifest:
    data_sha = file_sha256(data_path)
    return ClassifierManifest(
        version=model_version(data_sha),
        model_family=MODEL_FAMILY,
        feature_scheme=FEATURE_SCHEME,
        features=classifier.scheme.value,
        encoder=ENCODER_NAME if classifier.scheme.uses_embedding else "",
        encoder_sha256=encoder.weights_sha256 if classifier.scheme.uses_embedding else "",
        classes=classifier.classes,
        data_path=_display_path(data_path),
        data_sha256=data_sha,
        model_sha256="",
        sklearn_version=sklearn_version(),
        n_train=counts[0],
        n_test=counts[1],
        thresholds={},
        selection={},
        metrics={},
    )


def retrain(
    data_path: Path = DEFAULT_DATASET_PATH,
    out_dir: Path = MODEL_DIR,
    *,
    encoder: TextEncoder | None = None,
) -> ClassifierManifest:
    """Select, fit, evaluate on the test split and write the artefact under `out_dir`."""
    examples = load_dataset(data_path)
    train = [e for e in examples if e.split == "train"]
    test = [e for e in examples if e.split == "test"]
    cache = EmbeddingCache(encoder or SentenceEncoder())
    cache.encode([e.text for e in examples])
    scheme, thresholds, selection = select_scheme(train, cache)
    policy = RiskPolicy(
        block_threshold=thresholds["block_threshold"], gray_low=thresholds["gray_low"]
    )
    held_out: dict[str, Any] = {}
    final: RiskClassifier | None = None
    for candidate in FeatureScheme:
        fitted = fit_scheme(candidate, train, [], cache)
        base = _manifest(data_path, cache, fitted.classifier, (len(train), len(test)))
        report = evaluate_model(RiskModel(fitted.classifier, base, policy=policy), test)
        held_out[candidate.value] = {k: report[k] for k in ("combined", "classifier_only")}
        if candidate is scheme:
            final, metrics = fitted.classifier, report
    assert final is not None
    selection["held_out_by_scheme"] = held_out
    manifest = _manifest(data_path, cache, final, (len(train), len(test))).model_copy(
        update={"thresholds": thresholds, "selection": selection, "metrics": metrics}
    )
    save_artefact(final, manifest, out_dir)
    return manifest
