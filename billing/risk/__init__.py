"""The risk model: screens every generated product description before it is billed.

Three stages (see `shared/design/RISK.md`): `rules` (lexicon and regular expressions, named
reasons), `classifier` (TF-IDF n-grams and a calibrated logistic regression), and people
(`policy` routes gray-zone scores and sensitive categories to review). `model.RiskModel`
combines them; `load_risk_model()` loads the committed artefact under `model/`.
"""
