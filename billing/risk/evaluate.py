"""Held-out evaluation of the risk model: per-class precision, recall, F1 and confusion.

`evaluate_model` scores the test split (phrasing families never seen in training) with
the *combined* model (rules + classifier + policy), and also reports the classifier alone
(argmax of its calibrated probabilities) and the rules alone (block on a high-severity
hit), so the contribution of each stage is visible. Pure computation, no printing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from billing.risk.dataset import LABELS, Example
from billing.risk.model import RiskModel
from billing.risk.rules import Severity, find_rule_hits
from billing.risk.schemas import ScoreRequest


def class_metrics(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Per-class precision/recall/F1/support, accuracy and the confusion matrix."""
    labels = list(LABELS)
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    per_class = {
        label: {
            "precision": round(float(precision[i]), 4),
            "recall": round(float(recall[i]), 4),
            "f1": round(float(f1[i]), 4),
            "support": int(support[i]),
        }
        for i, label in enumerate(labels)
    }
    matrix = confusion_matrix(truth, predicted, labels=labels).tolist()
    accuracy = sum(t == p for t, p in zip(truth, predicted, strict=True)) / max(len(truth), 1)
    return {
        "per_class": per_class,
        "accuracy": round(accuracy, 4),
        "confusion": matrix,
        "labels": labels,
    }


def combined_predictions(model: RiskModel, examples: Sequence[Example]) -> list[str]:
    """Verdicts of the combined model, category included."""
    requests = [ScoreRequest(text=e.text, category=e.category) for e in examples]
    return [verdict.verdict.value for verdict in model.score_many(requests)]


def classifier_predictions(model: RiskModel, examples: Sequence[Example]) -> list[str]:
    """The classifier's most probable class, without rules or policy."""
    probabilities = model.classifier.probabilities([e.text for e in examples])
    classes = model.classifier.classes
    return [classes[int(row.argmax())] for row in probabilities]


def rule_predictions(examples: Sequence[Example]) -> list[str]:
    """Rules alone: block on a high-severity hit, review on any other hit, else pass."""
    verdicts = []
    for example in examples:
        hits = find_rule_hits(example.text)
        if any(hit.severity is Severity.HIGH for hit in hits):
            verdicts.append("block")
        else:
            verdicts.append("review" if hits else "pass")
    return verdicts


def evaluate_model(model: RiskModel, examples: Sequence[Example]) -> dict[str, Any]:
    """Metrics of the combined model, the classifier alone and the rules alone."""
    truth = [e.label for e in examples]
    return {
        "model_version": model.version,
        "n_examples": len(examples),
        "combined": class_metrics(truth, combined_predictions(model, examples)),
        "classifier_only": class_metrics(truth, classifier_predictions(model, examples)),
        "rules_only": class_metrics(truth, rule_predictions(examples)),
    }
