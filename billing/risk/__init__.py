"""The risk model: screens every generated product description before it is billed.

Three stages (see `shared/design/RISK.md`): `rules` (lexicon and regular expressions, named
reasons), `classifier` (all-MiniLM-L6-v2 sentence embeddings from `encoder` joined with TF-IDF
n-grams, a calibrated logistic regression scored with numpy), and people
(`policy` routes gray-zone scores and sensitive categories to review). `model.RiskModel`
combines them; `load_risk_model()` loads the committed artefact under `model/`.
"""
