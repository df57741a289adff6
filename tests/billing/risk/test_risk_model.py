"""The combined model and its committed artefact: loading, versions, metrics, latency."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from billing.risk.classifier import MANIFEST_FILE, MODEL_DIR, MODEL_FILE, read_manifest
from billing.risk.dataset import DEFAULT_DATASET_PATH, file_sha256, load_dataset
from billing.risk.model import RiskModel, load_risk_model
from billing.risk.rules import find_rule_hits
from billing.risk.schemas import ScoreRequest, Verdict
from billing.risk.training import retrain
from liftmeter.errors import ConfigurationError


def test_committed_artefact_loads_and_matches_the_shipped_dataset(risk_model: RiskModel) -> None:
    manifest = read_manifest(MODEL_DIR)
    assert risk_model.version == manifest.version
    assert manifest.data_sha256 == file_sha256(DEFAULT_DATASET_PATH)
    assert manifest.version.endswith(manifest.data_sha256[:10])


def test_every_verdict_records_the_model_version(risk_model: RiskModel) -> None:
    verdict = risk_model.score("A cosy wool rug for the living room.", category="home")
    assert verdict.model_version == risk_model.version
    assert 0.0 <= verdict.score <= 1.0


def test_hard_rule_hit_blocks_with_its_reason(risk_model: RiskModel) -> None:
    verdict = risk_model.score("This tea cures cancer.", category="food")
    assert verdict.verdict is Verdict.BLOCK
    assert "medical_claim" in verdict.reasons


def test_merchant_terms_block(risk_model: RiskModel) -> None:
    verdict = risk_model.score("Better than Acme Pro.", merchant_terms=("Acme Pro",))
    assert verdict.verdict is Verdict.BLOCK
    assert "competitor_trademark" in verdict.reasons


def test_sensitive_category_is_reviewed(risk_model: RiskModel) -> None:
    verdict = risk_model.score("Each softgel provides 1000 IU of vitamin D3.", category="health")
    assert verdict.verdict is Verdict.REVIEW
    assert "sensitive_category" in verdict.reasons


def test_batch_and_single_scoring_agree(risk_model: RiskModel) -> None:
    texts = ["A cosy wool rug.", "Earn $500 per day from home!", "Only idiots pay more."]
    batch = risk_model.score_many([ScoreRequest(text=t) for t in texts])
    assert batch == [risk_model.score(t) for t in texts]


def _per_call_ms(call: Callable[[], object], runs: int = 100) -> float:
    call()
    started = time.perf_counter()
    for _ in range(runs):
        call()
    return (time.perf_counter() - started) * 1000 / runs


def test_rules_and_linear_head_take_a_few_milliseconds(risk_model: RiskModel) -> None:
    text = load_dataset()[0].text
    encoder = risk_model.classifier.encoder
    embedding = encoder.encode_one(text)[None, :] if encoder is not None else None

    def rules_and_head() -> None:
        find_rule_hits(text)
        ngrams = risk_model.classifier.ngram_rows([text])
        risk_model.classifier.head.probabilities(
            risk_model.classifier.raw_scores(ngrams, embedding)
        )

    # 3-5 ms measured on a shared 2-core machine at load average ~6 (rules ~0.6 ms,
    # TF-IDF ~2.8 ms, numpy head ~0.06 ms); the bound leaves room for that noise
    assert _per_call_ms(rules_and_head, runs=200) < 15.0


def test_full_scoring_of_one_text_is_bounded(risk_model: RiskModel) -> None:
    text = load_dataset()[0].text
    # the encoder dominates: 40-75 ms measured on a shared 2-core machine at load average
    # 4-6 (one BLAS thread; ~0.85 GFLOP per 40-token text)
    assert _per_call_ms(lambda: risk_model.score(text, category="home"), runs=20) < 250.0


def test_swapped_model_file_is_refused(tmp_path: Path) -> None:
    shutil.copytree(MODEL_DIR, tmp_path / "model")
    (tmp_path / "model" / MODEL_FILE).write_bytes(b"not a model")
    with pytest.raises(ConfigurationError, match="does not match"):
        load_risk_model(tmp_path / "model")


def test_model_trained_on_other_encoder_weights_is_refused(tmp_path: Path) -> None:
    shutil.copytree(MODEL_DIR, tmp_path / "model")
    manifest = read_manifest(tmp_path / "model").model_copy(update={"encoder_sha256": "0" * 64})
    (tmp_path / "model" / MANIFEST_FILE).write_text(manifest.model_dump_json(), encoding="utf-8")
    with pytest.raises(ConfigurationError, match="weights differ"):
        load_risk_model(tmp_path / "model")


def test_missing_artefact_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        load_risk_model(tmp_path)


@pytest.mark.slow
def test_retraining_is_deterministic(tmp_path: Path, risk_model: RiskModel) -> None:
    manifest = retrain(DEFAULT_DATASET_PATH, tmp_path)
    assert manifest.version == risk_model.version
    assert manifest.metrics == risk_model.manifest.metrics
    retrained = load_risk_model(tmp_path)
    sample = [ScoreRequest(text=e.text) for e in load_dataset()[:50]]
    assert retrained.score_many(sample) == risk_model.score_many(sample)


def test_rules_alone_are_precise_on_held_out_block(held_out_report: dict[str, Any]) -> None:
    report = held_out_report
    assert report["rules_only"]["per_class"]["block"]["precision"] >= 0.95


def test_held_out_block_outputs_almost_never_pass(held_out_report: dict[str, Any]) -> None:
    """A block the model misses should land in review (a person), not reach shoppers."""
    combined = held_out_report["combined"]
    labels = combined["labels"]
    block_row = combined["confusion"][labels.index("block")]
    assert block_row[labels.index("pass")] / sum(block_row) <= 0.01


def test_combined_model_meets_block_recall_at_precision_bar(
    held_out_report: dict[str, Any],
) -> None:
    """The issue's bar on the held-out phrasing families: block recall >= 0.95 at block
    precision >= 0.90 (model `risk-minilm-lr-v3-r3-4a2334968b`: 0.962 / 0.970)."""
    report = held_out_report
    block = report["combined"]["per_class"]["block"]
    assert block["precision"] >= 0.90
    assert block["recall"] >= 0.95
