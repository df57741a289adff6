"""Retraining: dataset file in, versioned artefact (model file + manifest) out.

Deterministic: the same dataset bytes give the same model, the same version string
(derived from the dataset hash) and the same metrics. Takes a few seconds on two cores.
"""

from __future__ import annotations

from pathlib import Path

from billing.risk.classifier import (
    FEATURE_SCHEME,
    MODEL_DIR,
    MODEL_FAMILY,
    ClassifierManifest,
    model_version,
    save_artefact,
    sklearn_version,
    train_classifier,
)
from billing.risk.dataset import DEFAULT_DATASET_PATH, file_sha256, load_dataset, select_split
from billing.risk.evaluate import evaluate_model
from billing.risk.model import RiskModel


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path.name


def retrain(
    data_path: Path = DEFAULT_DATASET_PATH, out_dir: Path = MODEL_DIR
) -> ClassifierManifest:
    """Train on the train split, evaluate on the test split, write the artefact."""
    examples = load_dataset(data_path)
    train, test = select_split(examples, "train"), select_split(examples, "test")
    pipeline = train_classifier(
        [e.text for e in train], [e.label for e in train], groups=[e.family for e in train]
    )
    data_sha = file_sha256(data_path)
    manifest = ClassifierManifest(
        version=model_version(data_sha),
        model_family=MODEL_FAMILY,
        feature_scheme=FEATURE_SCHEME,
        classes=tuple(str(c) for c in pipeline.classes_),
        data_path=_display_path(data_path),
        data_sha256=data_sha,
        model_sha256="",
        sklearn_version=sklearn_version(),
        n_train=len(train),
        n_test=len(test),
        metrics={},
    )
    metrics = evaluate_model(RiskModel(pipeline, manifest), test)
    final = manifest.model_copy(update={"metrics": metrics})
    save_artefact(pipeline, final, out_dir)
    return final
