"""Stage 2: the numpy head reproduces scikit-learn; the numpy encoder reproduces
sentence-transformers on the bundled all-MiniLM-L6-v2 weights."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression

from billing.risk.classifier import LinearHead, group_folds
from billing.risk.encoder import EMBEDDING_DIM, SentenceEncoder, bundled_model_dir
from billing.risk.model import RiskModel

TEXTS = ["A cosy wool rug for the living room.", "This tea cures cancer.", "short"]


def test_linear_head_matches_sklearn_predict_proba() -> None:
    rng = np.random.default_rng(7)
    features = rng.normal(size=(120, 6))
    classes = np.array(["pass", "review", "block"])
    labels = classes[(features[:, 0] > 0).astype(int) + (features[:, 1] > 1).astype(int)]
    groups = [f"g{i % 6}" for i in range(120)]
    model = CalibratedClassifierCV(LogisticRegression(), method="sigmoid", cv=group_folds(groups))
    model.fit(features, labels)
    head = LinearHead.from_calibrated(model)
    ours = head.probabilities(features @ head.weights.T)
    np.testing.assert_allclose(ours, model.predict_proba(features), rtol=1e-9, atol=1e-12)


def test_encoder_returns_unit_vectors_and_batches_agree_with_single_texts(
    risk_model: RiskModel,
) -> None:
    encoder = risk_model.classifier.encoder
    assert encoder is not None
    batch = encoder.encode(TEXTS)
    assert batch.shape == (len(TEXTS), EMBEDDING_DIM)
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, rtol=1e-5)
    single = np.stack([encoder.encode_one(text) for text in TEXTS])
    np.testing.assert_allclose(single, batch, atol=1e-5)


def test_encoder_matches_sentence_transformers(risk_model: RiskModel) -> None:
    sentence_transformers = pytest.importorskip("sentence_transformers")
    reference = sentence_transformers.SentenceTransformer(str(bundled_model_dir()), device="cpu")
    expected = reference.encode(TEXTS, convert_to_numpy=True)
    encoder = risk_model.classifier.encoder
    assert encoder is not None
    np.testing.assert_allclose(encoder.encode(TEXTS), expected, atol=1e-4)


def test_encoder_weights_hash_is_recorded(risk_model: RiskModel) -> None:
    assert risk_model.manifest.encoder_sha256 == SentenceEncoder().weights_sha256
