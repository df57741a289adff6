"""Stage 1 of the risk model: lexicon and regular-expression rules with named reasons.

Each rule looks for one kind of prohibited or risky content in a generated description and
reports a `RuleHit` with a stable `ReasonCode` (what a merchant or reviewer reads) and a
`Severity`: `HIGH` hits are hard (the combined model blocks), `MEDIUM` hits send the text
to human review. Rules are pure, case-insensitive unless noted, and run in well under a
millisecond on a description of a few hundred words.

Precision choices, each covered by a test:
- a medical claim needs a claim verb *and* a disease within a few words, so "cures in 24
  hours" (glue, paint, epoxy) and "dog treats" are not claims;
- a claim verb after a negation ("not intended to diagnose, treat, cure or prevent any
  disease", the standard supplement disclaimer) is not a claim;
- "guarantee" alone is ordinary commerce ("money-back guarantee", "satisfaction
  guaranteed"); only guaranteed *results* or *outcomes* hit;
- card-like numbers must pass the Luhn check; phone numbers need separators, so model
  numbers and dimensions rarely match;
- street addresses need a house number, capitalised street words and a street suffix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

# Bumped whenever a rule changes what it matches: the model version carries it, so every
# verdict names the rule set as well as the classifier that produced it.
RULES_VERSION = 3


class ReasonCode(StrEnum):
    """Stable, machine-readable reasons a text was flagged."""

    MEDICAL_CLAIM = "medical_claim"
    GUARANTEE = "guarantee"
    FINANCIAL_PROMISE = "financial_promise"
    RISK_FREE = "risk_free"
    MIRACLE_CLAIM = "miracle_claim"
    CERTIFICATION_CLAIM = "certification_claim"
    CHILD_SAFETY_CLAIM = "child_safety_claim"
    WEIGHT_LOSS_CLAIM = "weight_loss_claim"
    UNSUBSTANTIATED_CLAIM = "unsubstantiated_claim"
    PROFANITY = "profanity"
    PII_EMAIL = "pii_email"
    PII_PHONE = "pii_phone"
    PII_CARD = "pii_card"
    PII_NATIONAL_ID = "pii_national_id"
    PII_ADDRESS = "pii_address"
    PII_BANK_ACCOUNT = "pii_bank_account"
    COMPETITOR_TRADEMARK = "competitor_trademark"


class Severity(StrEnum):
    """How hard a hit is: `high` blocks the output, `medium` sends it to review."""

    HIGH = "high"
    MEDIUM = "medium"


@dataclass(frozen=True, slots=True)
class RuleHit:
    """One rule match: the reason, its severity and the character span `[start, end)`."""

    code: ReasonCode
    severity: Severity
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class PatternRule:
    """A reason bound to one compiled pattern, with an optional check on each match."""

    code: ReasonCode
    severity: Severity
    pattern: re.Pattern[str]
    accept: Callable[[re.Match[str], str], bool] | None = None

    def find(self, text: str) -> list[RuleHit]:
        """Every accepted match of this rule in `text`."""
        return [
            RuleHit(self.code, self.severity, m.start(), m.end())
            for m in self.pattern.finditer(text)
            if self.accept is None or self.accept(m, text)
        ]


def _alt(words: Iterable[str]) -> str:
    return "(?:" + "|".join(sorted(words, key=len, reverse=True)) + ")"


_I = re.IGNORECASE

DISEASES = (
    "cancer",
    "cancers",
    "tumou?rs?",
    "diabetes",
    "diabetic",
    "arthritis",
    "alzheimer'?s",
    "dementia",
    "parkinson'?s",
    "covid(?:-19)?",
    "coronavirus",
    "flu",
    "influenza",
    "infections?",
    "hypertension",
    "high blood pressure",
    "heart disease",
    "strokes?",
    "depression",
    "anxiety disorders?",
    "adhd",
    "autism",
    "asthma",
    "eczema",
    "psoriasis",
    "insomnia",
    "obesity",
    "migraines?",
    "disease",
    "diseases",
    "illness",
    "illnesses",
    "hiv",
    "aids",
    "hepatitis",
    "leukemia",
    "cholesterol",
    "kidney stones",
    "ulcers?",
    "fibromyalgia",
    "lupus",
    "osteoporosis",
    "crohn'?s",
    "tinnitus",
    "neuropathy",
    "cold sores",
    "herpes",
    "shingles",
    "candida",
)
_CLAIM_VERBS = (
    "cures?",
    "cured",
    "curing",
    "treats?",
    "treated",
    "treating",
    "heals?",
    "healed",
    "healing",
    "prevents?",
    "prevented",
    "preventing",
    "reverses?",
    "reversed",
    "reversing",
    "eliminates?",
    "eliminating",
    "eradicates?",
    "fights?",
    "fighting",
    "beats?",
    "defeats?",
    "wipes? out",
    "gets? rid of",
    "cure for",
    "remedy for",
    "treatment for",
    "protects? against",
    "shrinks?",
    "dissolves?",
    "kills?",
)
# A determiner or a pet/food word before "treats" makes it the noun ("these dog treats").
_TREAT_NOUN_BEFORE = re.compile(
    r"(?:\b(?:dog|dogs|cat|cats|pet|pets|puppy|kitten|chewy|tasty|training|dental|crunchy|"
    r"soft|healthy|sweet|holiday|these|the|our|your|of|jerky|bacon|chicken|"
    r"salmon|beef|biscuit|natural|delicious|little|yummy|party|fun)\s+)$",
    _I,
)


_TREAT_SELF_AFTER = re.compile(r"\s+(?:yourself|themselves|someone|them|him|her)\b", _I)
_PLANT_CONTEXT = re.compile(
    r"\b(?:plants?|lawns?|gardens?|crops?|trees?|roses?|tomato(?:es)?|leaf|leaves|shrubs?)\b", _I
)
_GENERIC_DISEASE = re.compile(r"\b(?:diseases?|infections?)\W*$", _I)
_NEGATED_BEFORE = re.compile(
    r"\b(?:not|never|no|nor|cannot|can't|doesn't|does\s+not|isn't)\b(?:\W+\w+){0,4}\W*$", _I
)


def _is_medical_claim(match: re.Match[str], text: str) -> bool:
    if match.group("verb") is None:
        return True
    if _NEGATED_BEFORE.search(text[max(0, match.start() - 60) : match.start("verb")]):
        return False
    verb = match.group("verb").lower()
    if verb.startswith("treat") and (
        _TREAT_NOUN_BEFORE.search(text[: match.start("verb")])
        or _TREAT_SELF_AFTER.match(text, match.end("verb"))
    ):
        return False
    # Fungicides and lawn care prevent plant diseases; that is not a health claim.
    if _GENERIC_DISEASE.search(match.group(0)):
        window = text[max(0, match.start() - 60) : match.end() + 40]
        return _PLANT_CONTEXT.search(window) is None
    return True


_MEDICAL = PatternRule(
    ReasonCode.MEDICAL_CLAIM,
    Severity.HIGH,
    re.compile(
        rf"\b(?P<verb>{_alt(_CLAIM_VERBS)})\b(?:\W+\w+){{0,5}}?\W+{_alt(DISEASES)}\b"
        rf"|\b{_alt(DISEASES)}[- ](?:fighting|curing|killing|cure|remedy)\b",
        _I,
    ),
    accept=_is_medical_claim,
)

_GUARANTEE = PatternRule(
    ReasonCode.GUARANTEE,
    Severity.HIGH,
    re.compile(
        r"\bguarantee[ds]?\s+(?:to\s+)?(?:you\s+(?:will|'ll)\s+)?"
        r"(?:results?|lose|work|cure|grow|double|triple|eliminate|remove|erase|stop|fix|"
        r"transform|regrow|reverse|boost|increase|melt|burn|get rid|see|shed|drop|"
        r"permanent|instant|weight loss|fat loss|success)\b"
        r"|\b(?:results?|success|weight loss|fat loss)\s+(?:is\s+|are\s+)?(?:100%\s+)?guaranteed\b"
        r"|\b100\s?%\s+guaranteed\s+(?:to|results?)\b"
        r"|\bguarantees?\s+(?:that\s+)?you(?:\s+will|'ll)\b",
        _I,
    ),
)

_FINANCIAL = PatternRule(
    ReasonCode.FINANCIAL_PROMISE,
    Severity.HIGH,
    re.compile(
        r"\bguaranteed\s+(?:returns?|income|profits?|payouts?|gains?|earnings|yield|roi)\b"
        r"|\b(?:returns?|income|profits?|gains?|earnings)\s+(?:are\s+|is\s+)?guaranteed\b"
        r"|\b(?:double|triple|multiply)\s+your\s+(?:money|savings|investment|income|cash)\b"
        r"|\bearn\s+(?:up\s+to\s+)?\$\s?\d[\d,]*(?:\.\d+)?\s*(?:k\s*)?"
        r"(?:per|a|an|every|each)\s+(?:day|week|month|hour)\b"
        r"|\b\d+(?:\.\d+)?\s?%\s+(?:(?:daily|weekly|monthly|annual|yearly|guaranteed)\s+)+"
        r"(?:returns?|yield|profits?|roi|gains?)\b"
        r"|\bget\s+rich\s+(?:quick|fast)\b"
        r"|\b(?:never|can'?t|cannot|won'?t)\s+lose\s+(?:money|a\s+(?:dime|penny|cent))\b"
        r"|\bpassive\s+income\s+(?:for\s+life|guaranteed|forever)\b"
        r"|\bimpossible\s+to\s+lose\s+(?:money|a\s+(?:dime|penny|cent))\b"
        r"|\b(?:no|zero|without\s+any)\s+(?:chance|risk)\s+of\s+losing\s+"
        r"(?:money|a\s+(?:dime|penny|cent)|your\s+(?:money|investment|capital|savings))\b"
        r"|\brisk[- ]free\s+(?:investments?|returns?|income|profits?|gains?|trading)\b",
        _I,
    ),
)

_RISK_FREE = PatternRule(
    ReasonCode.RISK_FREE,
    Severity.MEDIUM,
    re.compile(
        r"\b(?:risk[- ]free|zero[- ]risk|no[- ]risk(?:\s+at\s+all)?|without\s+any\s+risk)\b", _I
    ),
)

_MIRACLE = PatternRule(
    ReasonCode.MIRACLE_CLAIM,
    Severity.MEDIUM,
    re.compile(
        r"\bmiracle\s+(?:cure|pill|drug|formula|supplement|treatment|remedy|diet|"
        r"weight[- ]loss|tonic|elixir|results?)\b"
        r"|\b(?:works|worked|performs)\s+miracles\b|\bmiraculous(?:ly)?\b|\bmagic\s+(?:pill|bullet|cure)\b",
        _I,
    ),
)

_CERTIFICATION = PatternRule(
    ReasonCode.CERTIFICATION_CLAIM,
    Severity.HIGH,
    re.compile(
        r"\b(?:fda|(?-i:CDC|WHO|EMA|NHS))[- ](?:approved|certified|endorsed|cleared|recommended)\b"
        r"|\b(?:approved|cleared|certified|endorsed)\s+by\s+(?:the\s+)?"
        r"(?:fda|food\s+and\s+drug\s+administration)\b",
        _I,
    ),
    # "has not been approved by the FDA" is a disclaimer (rule set 3)
    accept=lambda match, text: _is_certification(match, text),
)

# The FTC's "gut check" weight-loss claims: always false, so hard hits.
_WEIGHT_LOSS = PatternRule(
    ReasonCode.WEIGHT_LOSS_CLAIM,
    Severity.HIGH,
    re.compile(
        r"\b(?:lose|losing|drop|shed|melt|burn)\s+(?:up\s+to\s+)?\d+\s*(?:pounds|lbs?|kg|kilos)"
        r"\s+(?:of\s+fat\s+)?in\s+(?:just\s+|only\s+)?(?:\d+|a|one|two|three)\s+"
        r"(?:days?|weeks?|hours?)\b"
        r"|\bpermanent\s+weight[- ]loss\b"
        r"|\bwithout\s+(?:any\s+)?(?:diet(?:ing)?|exercise)\s+(?:or|and)\s+(?:diet(?:ing)?|exercise)\b"
        r"|\bblocks?\s+(?:the\s+)?absorption\s+of\s+fat\b",
        _I,
    ),
)

# "Clinically proven" and kin need evidence a description cannot show: a person checks.
_UNSUBSTANTIATED = PatternRule(
    ReasonCode.UNSUBSTANTIATED_CLAIM,
    Severity.MEDIUM,
    re.compile(
        r"\b(?:clinically|scientifically|medically|dermatologically)\s+(?:proven|shown|tested\s+and\s+proven)\b",
        _I,
    ),
)

_KIDS = r"(?:babies|baby|infants?|newborns?|toddlers?|children|child|kids)"
_CHILD_SAFETY = PatternRule(
    ReasonCode.CHILD_SAFETY_CLAIM,
    Severity.HIGH,
    re.compile(
        rf"\b(?:100\s?%|completely|totally|perfectly|entirely|absolutely|guaranteed)\s+"
        rf"safe\s+for\s+(?:your\s+|all\s+)?{_KIDS}\b"
        rf"|\bprevents?\s+(?:sids|sudden\s+infant\s+death|choking|suffocation)\b"
        rf"|\b(?:sids|choking|suffocation)[- ]proof\b"
        rf"|\bno\s+need\s+to\s+(?:supervise|watch)\s+(?:your\s+)?{_KIDS}\b",
        _I,
    ),
)

_STRONG_PROFANITY = (
    r"fuck\w*",
    r"motherfuck\w*",
    r"shit(?:s|ty|ting|head)?",
    r"bullshit",
    r"bitch(?:es|y)?",
    r"bastards?",
    r"assholes?",
    r"dumbass(?:es)?",
    r"cunts?",
    r"dickheads?",
    r"piss(?:ed)?",
    r"sluts?",
    r"whores?",
    r"retard(?:s|ed)?",
    r"wankers?",
    r"twats?",
    r"pricks?",
    r"douche(?:bag)?s?",
    r"morons?",
    r"idiots?",
    r"imbeciles?",
    r"dimwits?",
    r"nitwits?",
    r"halfwits?",
    r"numbskulls?",
    r"brain-dead",
)
_MILD_PROFANITY = (r"damn(?:ed)?", r"crap(?:py)?", r"badass", r"sucks", r"screw\s+(?:you|them)")

_PROFANITY_STRONG = PatternRule(
    ReasonCode.PROFANITY, Severity.HIGH, re.compile(rf"\b{_alt(_STRONG_PROFANITY)}\b", _I)
)
_PROFANITY_MILD = PatternRule(
    ReasonCode.PROFANITY, Severity.MEDIUM, re.compile(rf"\b{_alt(_MILD_PROFANITY)}\b", _I)
)

_EMAIL = PatternRule(
    ReasonCode.PII_EMAIL,
    Severity.HIGH,
    re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
)

_PHONE = PatternRule(
    ReasonCode.PII_PHONE,
    Severity.HIGH,
    re.compile(
        r"(?<![\w.-])(?:\+?1[\s.-])?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w-])"
        r"|(?<![\w+])\+\d{1,3}(?:[\s.-]\d{1,4}){2,5}(?![\w-])"
    ),
)


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn (mod 10) checksum."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _is_card_number(match: re.Match[str], _text: str) -> bool:
    digits = re.sub(r"\D", "", match.group(0))
    return 13 <= len(digits) <= 19 and luhn_valid(digits) and len(set(digits)) > 1


_CARD = PatternRule(
    ReasonCode.PII_CARD,
    Severity.HIGH,
    re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])"),
    accept=_is_card_number,
)

_NATIONAL_ID = PatternRule(
    ReasonCode.PII_NATIONAL_ID,
    Severity.HIGH,
    re.compile(
        r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])"
        r"|\b(?:ssn|social\s+security\s+(?:number|no\.?))\s*[:#]?\s*\d",
        _I,
    ),
)

_STREET_SUFFIX = (
    "Street",
    "St",
    "Avenue",
    "Ave",
    "Road",
    "Rd",
    "Boulevard",
    "Blvd",
    "Lane",
    "Ln",
    "Drive",
    "Dr",
    "Court",
    "Ct",
    "Place",
    "Pl",
    "Terrace",
    "Way",
    "Highway",
    "Hwy",
)
# Capitalised words that make "4 Wheel Drive" or "64 Flash Drive" look like an address.
_NOT_STREET_WORDS = {"Wheel", "Flash", "Hard", "Thumb", "Disk", "Pen", "Speed", "Port", "Way"}


def _is_address(match: re.Match[str], _text: str) -> bool:
    words = match.group("street").split()
    return not any(word in _NOT_STREET_WORDS for word in words)


_ADDRESS = PatternRule(
    ReasonCode.PII_ADDRESS,
    Severity.MEDIUM,
    re.compile(
        r"\b\d{1,5}\s+(?P<street>(?:[A-Z][a-z]+\.?\s+){1,3})"
        rf"{_alt(_STREET_SUFFIX)}\b\.?(?:,?\s+(?:Apt|Suite|Unit)\.?\s*\w+)?"
    ),
    accept=_is_address,
)


# --- Paraphrased claims --------------------------------------------------------------
# The rules above need the canonical wording ("cures cancer", "guaranteed returns"). The
# ones below cover the same prohibited claims of RISK.md when they are paraphrased, each
# built on a policy statement rather than on a phrase list, and each checked against the
# hard negatives of the training split (disclaimers, plant disease, dosages, prices).

# Named diseases only: "disease", "illness" and "infection" alone are generic (plant care,
# disclaimers); "strokes" is paint and swimming; "depression" can be a dent.
_GENERIC_OR_AMBIGUOUS = frozenset(
    ("disease", "diseases", "illness", "illnesses", "infections?", "strokes?", "depression")
    + ("diabetic", "flu")
)
_NAMED_DISEASES = tuple(d for d in DISEASES if d not in _GENERIC_OR_AMBIGUOUS) + (
    "kidney stones",
    "fibromyalgia",
    "lupus",
    "gout",
    "osteoporosis",
    "the flu",
)
# Dietary suitability is not a claim: "suitable for people with diabetes".
_SUITABILITY_BEFORE = re.compile(
    r"\b(?:suitable|safe|designed|made|formulated|friendly|appropriate|ideal)\s+for\s+"
    r"(?:people|those|anyone|customers|adults|kids|children)?\s*(?:with|living\s+with|who\s+have)?"
    r"\s*\W*$|\b(?:dogs?|cats?|pets?|horses?)\s+with\s*$",
    _I,
)


def _is_disease_claim(match: re.Match[str], text: str) -> bool:
    """A named disease in a product description is an implied disease claim, unless the
    sentence negates it (the supplement disclaimer) or only says who the product suits."""
    sentence_start = max(text.rfind(".", 0, match.start()), text.rfind("!", 0, match.start()))
    before = text[sentence_start + 1 : match.start()]
    if _NEGATED_BEFORE.search(before[-60:]) or _SUITABILITY_BEFORE.search(before[-60:]):
        return False
    if re.match(r"-(?:prone|friendly|safe)\b", text[match.end() : match.end() + 10]):
        return False
    window = text[max(0, match.start() - 60) : match.end() + 40]
    return _PLANT_CONTEXT.search(window) is None


_DISEASE_MENTION = PatternRule(
    ReasonCode.MEDICAL_CLAIM,
    Severity.HIGH,
    re.compile(rf"\b{_alt(_NAMED_DISEASES)}\b", _I),
    accept=_is_disease_claim,
)

_MEDICINES = (
    r"(?:insulin|chemo(?:therapy)?|antidepressants?|inhalers?|statins?|pain\s?killers?|"
    r"antibiotics?|(?:prescription|blood\s+pressure|heart|diabetes)\s+"
    r"(?:drugs?|medications?|medicines?|meds|pills|tablets)|medications?|medicines?|meds|"
    r"prescriptions?|pills)"
)
# Telling people to stop, replace or skip their medicine: a drug-replacement claim.
_MEDICINE_SWAP = PatternRule(
    ReasonCode.MEDICAL_CLAIM,
    Severity.HIGH,
    re.compile(
        r"\b(?:replac(?:e[sd]?|ing|ement\s+for)|stop(?:s|ped|ping)?(?:\s+taking)?|quit|ditch(?:ed)?|"
        r"throw\s+away|cancel|alternative\s+to|instead\s+of|better\s+than|no\s+longer\s+need|"
        r"skip|does\s+everything|come\s+off|get\s+off|off\s+(?:your|their))\b"
        rf"(?:\W+\w+){{0,6}}?\W+(?:your\s+|their\s+|the\s+|all\s+)?{_MEDICINES}\b"
        rf"|\b{_MEDICINES}\b(?:\W+\w+){{0,4}}?\W+(?:no\s+longer|anymore|for\s+good)\b",
        _I,
    ),
)

_WARNING_BEFORE = re.compile(
    r"\b(?:never|do\s+not|don'?t|must\s+not|should\s+not)\b(?:\W+\w+){0,3}\W*$", _I
)


def _sentence_before(text: str, position: int) -> str:
    """The text of the sentence that contains `position`, up to `position`."""
    start = max(text.rfind(mark, 0, position) for mark in ".!?;")
    return text[start + 1 : position]


_KIDS_ANY = r"(?:babies|baby|infants?|newborns?|toddlers?|children|child|kids?|little\s+ones?)"
_UNSUPERVISED = (
    r"(?:unattended|unsupervised|without\s+(?:an?\s+)?(?:adult|supervision|supervising)|"
    r"skip\s+the\s+supervision|walk\s+away|while\s+you\s+(?:are|'re)\s+(?:out|away|gone)|"
    r"never\s+(?:choke|get\s+stuck|be\s+harmed|get\s+hurt)|(?:could|can|will)\s+ever\s+harm|"
    r"every\s+danger|all\s+dangers|(?:perfectly|completely|totally)\s+(?:safe|harmless)|"
    r"face\s+down|no\s+(?:baby\s+)?monitor)"
)
# An absolute safety promise about a child, or one that tells parents to stop watching.
_CHILD_UNSUPERVISED = PatternRule(
    ReasonCode.CHILD_SAFETY_CLAIM,
    Severity.HIGH,
    re.compile(
        rf"\b{_KIDS_ANY}\b[^.!?;]*\b{_UNSUPERVISED}"
        rf"|\b{_UNSUPERVISED}\b[^.!?;]*\b{_KIDS_ANY}\b"
        r"|\b(?:crib|cot|cradle)\s+(?:accidents?|deaths?)\b",
        _I,
    ),
    # "Never leave your child unattended" is the warning, not the claim (rule set 3).
    accept=lambda match, text: not _WARNING_BEFORE.search(_sentence_before(text, match.start())),
)

_EARN = (
    r"(?:make|makes|making|made|earn|earns|earning|bank|banks|rake|rakes|pull|pulls|take\s+home|"
    r"pays?\s+out|pays|generate|generates|income|profits?|returns?|gains?)"
)
_PER_PERIOD = r"(?:a|per|every|each|an)\s+(?:day|week|month|hour|year)"
# Income and investment promises: amounts earned per period, riches, no possible loss.
_INCOME_PROMISE = PatternRule(
    ReasonCode.FINANCIAL_PROMISE,
    Severity.HIGH,
    re.compile(
        rf"\b{_EARN}\b[^.!?;]*\$\s?\d[^.!?;]*\b{_PER_PERIOD}\b"
        rf"|\$\s?\d[\d,]*(?:\.\d+)?\s*k?\s+{_PER_PERIOD}\b[^.!?;]*\b{_EARN}\b"
        r"|\bmillionaire\b|\breplace\s+your\s+(?:salary|income|paycheck|day\s+job)\b"
        r"|\bimpossible\s+to\s+lose\b|\bnever\s+(?:had\s+)?a\s+losing\s+(?:month|trade|year|week)\b"
        r"|\b(?:certain|sure|assured|locked[- ]in)\s+(?:profits?|returns?|gains?)\b"
        r"|\bsure\s+to\s+(?:double|triple|\d+x|multiply|make|earn)\b|\bsure[- ]fire\b"
        r"|\bgains?\s+(?:are\s+)?locked\s+in\b"
        r"|\b(?:capital|money|savings|investment)\s+is\s+(?:completely\s+|fully\s+|100\s?%\s+)?"
        r"(?:protected|safe)\b"
        r"|\bzero\s+downside\b|\bonly\s+go(?:es)?\s+(?:one\s+way:?\s+)?up\b"
        r"|\b(?:system|strategy|fund|bot|plan|method)\s+(?:cannot|can'?t|will\s+never)\s+lose\b"
        r"|\bno\s+chance\s+of\s+losing\b|\bturns?\s+\$\s?\d",
        _I,
    ),
)

# Results promised to everyone, always: a guarantee without the word.
_ABSOLUTE_RESULT = PatternRule(
    ReasonCode.GUARANTEE,
    Severity.HIGH,
    re.compile(
        r"\bworks\s+for\s+everyone\b|\bevery\s+single\s+time\b"
        r"|\b(?:works?|results?|succeeds?|effective)\b[^.!?;]*\bevery\s+time\b"
        r"|\b100\s?%\s+(?:effective|of\s+the\s+time|successful)\b"
        r"|\bwithout\s+(?:exception|fail)\b|\bnever\s+(?:once\s+)?failed\b"
        r"|\bcertain\s+to\s+(?:see|get|lose|work)\b|\b(?:results?|success)\s+(?:are|is)\s+assured\b"
        r"|\bor\s+we\s+pay\s+you\b|\bwill\s+work\s+for\s+you\b",
        _I,
    ),
)

_BODY = r"(?:belly\s+)?(?:fat|wrinkles?|bald\s+spots?|weight|pounds|lbs|kg|cellulite)"
_FOREVER = r"(?:overnight|permanently|for\s+good|disappears?|vanish(?:es)?|melts?\s+away)"
# Body transformations promised without effort or for good (FTC "gut check" claims).
_BODY_CLAIM = PatternRule(
    ReasonCode.WEIGHT_LOSS_CLAIM,
    Severity.HIGH,
    re.compile(
        rf"\b{_FOREVER}\b[^.!?;]*\b{_BODY}\b|\b{_BODY}\b[^.!?;]*\b{_FOREVER}\b"
        r"|\b(?:eat(?:ing)?\s+(?:anything|whatever\s+you\s+want))\b[^.!?;]*"
        r"\b(?:slim|lose|shed|weight|fat)\b"
        r"|\b(?:slim|lose|shed|weight|fat)\b[^.!?;]*\beat(?:ing)?\s+(?:anything|whatever\s+you\s+want)\b"
        r"|\b(?:add|gain|grow)\s+\w+\s+inches\s+to\s+your\s+height\b",
        _I,
    ),
)

# --- Rule set 3 ------------------------------------------------------------------------
# More of RISK.md's prohibited kinds, each written from the policy statement and checked
# against the training split's hard negatives (pharmacy accessories, certified-organic
# labels, "foolproof", "for Dummies", safe-sleep warnings, cured ham and epoxy, business
# addresses, savings rates).

_INSULT_NOUNS = (
    r"fools?(?!-?proof)(?!\s+for\s+(?:this|these|it|the)\b)",
    r"losers?",
    r"dunces?",
    r"dolts?",
    r"simpletons?",
    r"cretins?",
    r"airheads?",
    r"boneheads?",
    r"knuckleheads?",
    r"jerks",
    r"scumbags?",
    r"jackass(?:es)?",
    r"dipshits?",
    r"twits?",
    r"buffoons?",
    r"goddamn(?:ed)?",
    r"arseholes?",
    r"bollocks",
)
_INSULT_ADJECTIVES = (
    r"(?:stupid|dumb|brainless|clueless|gullible|pathetic|ignorant|lazy|ugly|worthless|"
    r"spineless|dim-witted|feeble-minded)"
)
_PEOPLE = (
    r"(?:people|person|customers?|shoppers?|buyers?|folks|users?|parents|sheep|ones|"
    r"losers|fools|suckers|idiots)"
)
# Insults aimed at people (shoppers, rivals' customers, reviewers): the words themselves,
# an insulting adjective on a word for people, or "you are dumb".
_INSULT = PatternRule(
    ReasonCode.PROFANITY,
    Severity.HIGH,
    re.compile(
        rf"\b{_alt(_INSULT_NOUNS)}\b"
        r"|\b(?:total|complete|absolute|real|such|bunch\s+of|for)\s+suckers\b"
        rf"|\b{_INSULT_ADJECTIVES}(?:,\s+\w+)?\s+{_PEOPLE}\b"
        rf"|\b(?:you(?:'re|\s+are)|are\s+you|you\s+must\s+be|to\s+be)\s+(?:so\s+|too\s+|a\s+)?"
        rf"{_INSULT_ADJECTIVES}\b"
        rf"|\btoo\s+(?:dumb|stupid|brainless)\s+(?:to|for)\b"
        rf"|\b{_PEOPLE}\s+(?:are|is)\s+(?:so\s+|just\s+)?{_INSULT_ADJECTIVES}\b",
        _I,
    ),
)

_BUSINESS_PLACE = re.compile(
    r"\b(?:our|we|us|showroom|store|shop|boutique|office|studio|warehouse|outlet|gallery|"
    r"factory|headquarters|branch|caf[eé]|restaurant|market|booth|stall|clinic|salon)\b",
    _I,
)


def _is_private_address(match: re.Match[str], text: str) -> bool:
    """A street address that the sentence does not present as the merchant's premises."""
    if not _is_address(match, text):
        return False
    start = max(text.rfind(mark, 0, match.start()) for mark in ".!?")
    ends = [i for i in (text.find(mark, match.end()) for mark in ".!?") if i >= 0]
    sentence = text[start + 1 : min(ends, default=len(text))]
    return _BUSINESS_PLACE.search(sentence) is None


# A private person's street address is personal data (RISK.md); a shop's is not.
_PRIVATE_ADDRESS = PatternRule(
    ReasonCode.PII_ADDRESS,
    Severity.HIGH,
    _ADDRESS.pattern,
    accept=_is_private_address,
)


def _is_iban(match: re.Match[str], _text: str) -> bool:
    compact = re.sub(r"\s", "", match.group(0)).upper()
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(char, 36)) for char in rearranged)
    return 15 <= len(compact) <= 34 and int(digits) % 97 == 1


_BANK_IBAN = PatternRule(
    ReasonCode.PII_BANK_ACCOUNT,
    Severity.HIGH,
    re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b"),
    accept=_is_iban,
)
_BANK_DETAILS = PatternRule(
    ReasonCode.PII_BANK_ACCOUNT,
    Severity.HIGH,
    re.compile(
        r"\b(?:bank\s+details|(?:bank\s+)?account(?:\s+(?:number|no\.?))?|routing(?:\s+number)?|"
        r"sort\s+code)\s*[:#]?\s*\d[\d\s/-]{5,}\d",
        _I,
    ),
)

_AGENCY = (
    r"(?:(?-i:FDA|CDC|WHO|EMA|NHS|MHRA|AMA|TGA)|(?:u\.s\.\s+)?food\s+and\s+drug\s+administration|"
    r"centers\s+for\s+disease\s+control|world\s+health\s+organi[sz]ation|health\s+canada|"
    r"american\s+medical\s+association|ministry\s+of\s+health|fda)"
)
_ENDORSED = (
    r"(?:approved|cleared|certified|endorsed|recommended|authori[sz]ed|sanctioned|backed|"
    r"confirmed|licensed)"
)
_NEGATION_NEAR = re.compile(r"\b(?:not|never|no|nor|isn't|hasn't|wasn't|without)\b", _I)


def _is_certification(match: re.Match[str], text: str) -> bool:
    return _NEGATION_NEAR.search(_sentence_before(text, match.end())) is None


# An agency's approval, clearance or endorsement claimed in any word order (rule set 1
# covered "FDA-approved" and "approved by the FDA").
_AGENCY_APPROVAL = PatternRule(
    ReasonCode.CERTIFICATION_CLAIM,
    Severity.HIGH,
    re.compile(
        rf"\b{_ENDORSED}\s+by\s+(?:the\s+)?{_AGENCY}\b"
        rf"|\b{_AGENCY}\s+(?:has\s+|have\s+)?(?:officially\s+|fully\s+)?"
        r"(?:approved|cleared|certified|endorsed|recommends?|recommended|authori[sz]ed|confirmed)\b"
        rf"|\b{_AGENCY}[- ](?:approval|clearance|endorsement|certification|approved|cleared)\b"
        rf"|\b(?:approval|clearance|endorsement)\s+(?:from|of)\s+(?:the\s+)?{_AGENCY}\b"
        r"|\b(?:government|official|federal|regulatory)\s+approval\s+(?:for|to)\s+"
        r"(?:treat|cure|prevent|relieve|heal)\w*",
        _I,
    ),
    accept=_is_certification,
)

_MORE_DISEASES = (
    "pneumonia",
    "bronchitis",
    "sinusitis",
    "glaucoma",
    "cataracts?",
    "multiple sclerosis",
    "epilepsy",
    "seizures",
    "schizophrenia",
    "bipolar disorder",
    "hypothyroidism",
    "anemia",
    "anaemia",
    "irritable bowel syndrome",
    "ibs",
    "acid reflux",
    "gerd",
    "erectile dysfunction",
    "infertility",
    "sepsis",
    "malaria",
    "tuberculosis",
    "measles",
    "heart attacks?",
    "cancer cells",
    "memory loss",
)
# Named diseases that rule set 2 did not list, under the same sentence checks.
_MORE_DISEASE_MENTION = PatternRule(
    ReasonCode.MEDICAL_CLAIM,
    Severity.HIGH,
    re.compile(rf"\b{_alt(_MORE_DISEASES)}\b", _I),
    accept=_is_disease_claim,
)

_ORGANS = (
    r"(?:arteries|pancreas|liver|kidneys?|nerves?|brain(?:\s+cells)?|cartilage|lungs?|heart|"
    r"thyroid|immune\s+system|blood\s+vessels|joints?)"
)
_CURE_CONTEXT_VETO = re.compile(
    r"\b(?:epoxy|glue|paint|sealant|concrete|resin|varnish|adhesive|coat|finish|ham|bacon|"
    r"meats?|salmon|salami|pork|beef|tobacco|cheese)\b",
    _I,
)


def _is_cure_testimonial(match: re.Match[str], text: str) -> bool:
    window = text[max(0, match.start() - 80) : match.end() + 40]
    return _CURE_CONTEXT_VETO.search(window) is None


# Claims that a product repairs organs, beats infections inside the body, replaces
# vaccines, or cured someone: disease claims without a disease's name.
_BODY_REPAIR = PatternRule(
    ReasonCode.MEDICAL_CLAIM,
    Severity.HIGH,
    re.compile(
        r"\b(?:unclogs?|unclogging|clears?\s+out|flush(?:es)?\s+out|repairs?|rebuilds?|"
        r"regenerates?|resets?|reboots?|detox(?:es|ifies)?)\s+(?:your\s+|the\s+|damaged\s+|"
        rf"worn\s+|clogged\s+|failing\s+)*{_ORGANS}\b"
        r"|\b(?:kills?|neutrali[sz]es?|destroys?|wipes?\s+out)\s+(?:\w+\s+){0,2}"
        r"(?:viruses|virus|bacteria|germs|parasites)\s+(?:in|inside|within|before\s+they\s+reach)"
        r"\s+(?:your|the)\s+(?:body|lungs|blood|system|gut)\b"
        r"|\b(?:better\s+than|replaces?|instead\s+of|no\s+need\s+for)\s+(?:a\s+|the\s+|your\s+)?"
        r"(?:flu\s+shots?|vaccines?|vaccinations?|jabs?)\b"
        r"|\bvaccines?\s+(?:are\s+)?unnecessary\b|\bmakes?\s+vaccines?\s+unnecessary\b"
        r"|\b(?:scans?|tests?|biopsy|blood\s+work)\s+came\s+back\s+(?:clean|clear|normal)\b",
        _I,
    ),
)
_CURED_PERSON = PatternRule(
    ReasonCode.MEDICAL_CLAIM,
    Severity.HIGH,
    re.compile(r"\b(?:i|i'm|he|she|they|we|my\s+\w+)\b(?:\W+\w+){0,3}?\W+cured\b", _I),
    accept=_is_cure_testimonial,
)
_MORE_MEDICINE_SWAP = PatternRule(
    ReasonCode.MEDICAL_CLAIM,
    Severity.HIGH,
    re.compile(
        r"\b(?:taper(?:ing)?\s+off|trade\s+(?:in\s+)?|swap\s+(?:out\s+)?|threw\s+out|throw\s+out|"
        r"tossed|binned|refill(?:ing)?|version\s+of|works\s+(?:just\s+)?as\s+well\s+as)"
        rf"\s+(?:your\s+|their\s+|my\s+|the\s+)?{_MEDICINES}\b",
        _I,
    ),
)

_BODY_WORDS = (
    r"(?:lose|losing|shed|shedding|melts?|melting|slim\w*|sculpts?|fat|weight|abs|pounds|lbs|kg)"
)
_NO_EFFORT = (
    r"(?:while\s+you\s+sleep|without\s+(?:a\s+single\s+|any\s+)?(?:effort|workouts?|exercis\w*|"
    r"diet\w*|giving\s+up)|(?:with\s+)?zero\s+effort|no\s+effort\s+at\s+all)"
)
_SKIN_FLAWS = (
    r"(?:acne|wrinkles?|stretch\s+marks|dark\s+spots|cellulite|hair\s+loss|"
    r"bald(?:ness|\s+spots?)?|varicose\s+veins)"
)
_GONE_FOR_GOOD = (
    r"(?:never\s+come\s+back|(?:disappear|vanish)\w*\s+(?:completely|forever|for\s+good)|"
    r"permanently|gone\s+(?:forever|for\s+good)|erases?\s+every)"
)
# Guaranteed results without the word: effortless body change, results that cannot fail,
# certain for everyone, permanent and instant.
_EFFORTLESS_RESULT = PatternRule(
    ReasonCode.GUARANTEE,
    Severity.HIGH,
    re.compile(
        rf"\b{_BODY_WORDS}\b[^.!?;]*\b{_NO_EFFORT}"
        rf"|\b{_NO_EFFORT}\b[^.!?;]*\b{_BODY_WORDS}\b"
        r"|\bpermanent\s+results\b|\binstant(?:ly)?,?\s+(?:and\s+)?permanent\b"
        r"|\b(?:cannot|can'?t)\s+(?:possibly\s+)?fail\b(?!\s+to\b)|\bimpossible\s+to\s+fail\b"
        r"|\b(?:certain|assured|guaranteed)\s+for\s+every(?:one|\s+(?:single\s+)?"
        r"(?:user|customer|person|buyer))\b"
        r"|\b100\s?%\s+(?:win|success|hit)\s+rate\b"
        rf"|\b{_SKIN_FLAWS}\b[^.!?;]*\b{_GONE_FOR_GOOD}"
        rf"|\b{_GONE_FOR_GOOD}\b[^.!?;]*\b{_SKIN_FLAWS}\b",
        _I,
    ),
)

_RETURN_CONTEXT = (
    r"(?:grows?|earns?|returns?|yields?|gains?|profits?|lock\s+in|makes?|interest|deposit|"
    r"money|savings|capital|portfolio|account)"
)
# No-loss and get-rich promises that rule set 2 did not word.
_NO_LOSS = PatternRule(
    ReasonCode.FINANCIAL_PROMISE,
    Severity.HIGH,
    re.compile(
        r"\b(?:no|zero|without\s+(?:any\s+)?)\s*(?:chance|risk|possibility)\s+of\s+(?:a\s+)?loss(?:es)?\b"
        r"|\b(?:principal|deposit|capital)\s+is\s+(?:fully\s+|completely\s+|100\s?%\s+)?"
        r"(?:protected|guaranteed|safe)\b"
        r"|\bnever\s+los(?:es|e|t)\s+(?:a\s+)?(?:single\s+)?(?:trades?|bets?|months?)\b"
        r"|\bnot\s+lost\s+a\s+single\s+(?:trade|bet|month|penny|cent|dime)\b"
        r"|\b(?:bot|system|strategy|signals?|fund|method|algorithm|portfolio)\s+(?:that\s+)?"
        r"(?:never|cannot|can'?t)\s+lose[s]?\b"
        r"|\b(?:picks?|stocks?|shares?|investments?|portfolio|coins?|tokens?)\s+(?:that\s+)?"
        r"(?:simply\s+)?(?:cannot|can'?t|never)\s+go\s+down\b"
        r"|\b(?:fortune|rich|wealthy|millions?)\s+(?:overnight|in\s+(?:just\s+|only\s+)?"
        r"(?:\d+|a|one|two|three|a\s+few)\s+(?:days?|weeks?|months?|hours?))\b"
        r"|\b(?:beat|beats|beating|outperforms?)\s+the\s+market\s+every\b"
        r"|\bfull[- ]time\s+income\b"
        rf"|\b{_RETURN_CONTEXT}\b[^.!?;]*\b\d+(?:\.\d+)?\s?%\s+(?:a|per|every|each)\s+"
        r"(?:day|week|month)\b",
        _I,
    ),
)

_SAFETY_GEAR = (
    r"(?:straps?|harness|car\s+seat|safe[- ]sleep\s+(?:rules|guidelines)|baby\s+gate|rails?)"
)
# Absolute child safety, rule set 3: unsafe sleep positions, hazards declared impossible,
# safety equipment declared unnecessary.
_CHILD_HAZARD = PatternRule(
    ReasonCode.CHILD_SAFETY_CLAIM,
    Severity.HIGH,
    re.compile(
        r"\b(?:sleep|sleeps|sleeping|nap|naps|napping)\b[^.!?;]*\b(?:on\s+(?:their|his|her|its)\s+"
        r"(?:tummy|stomach|front)|face\s+down|on\s+(?:any|the|an)\s+(?:sofa|couch|adult\s+bed))\b"
        r"|\bco-?sleeping\b[^.!?;]*\b(?:safe|risk-free)\b"
        r"|\bimpossible\s+(?:for\s+(?:a|your|the)\s+(?:\w+\s+){1,2})?to\s+(?:choke|suffocate|drown|"
        r"fall\s+out|get\s+hurt|be\s+hurt|get\s+injured)\b"
        rf"|\b(?:zero|no)\s+risk\s+of\s+(?:injury|injuries|harm|choking|suffocation|drowning)\b"
        rf"[^.!?;]*\b{_KIDS_ANY}\b"
        r"|\bmakes?\s+(?:\w+\s+)?(?:accidents?|injur(?:y|ies)|choking|suffocation|drowning|falls)"
        r"\s+impossible\b"
        rf"|\b(?:skip|ditch|forget|no\s+need\s+for)\s+(?:the\s+|your\s+)?{_SAFETY_GEAR}"
        rf"|\bno\s+{_KIDS_ANY}\s+(?:has\s+|have\s+)?(?:ever\s+)?(?:been\s+|got\s+)?"
        r"(?:hurt|injured|harmed)\b"
        r"|\bprotects?\s+(?:your\s+\w+(?:\s+\w+)?\s+)?in\s+(?:any|every)\s+(?:crash|accident|fall)\b",
        _I,
    ),
    accept=lambda match, text: not _WARNING_BEFORE.search(_sentence_before(text, match.start())),
)

RULE_SET_3: tuple[PatternRule, ...] = (
    _INSULT,
    _PRIVATE_ADDRESS,
    _BANK_IBAN,
    _BANK_DETAILS,
    _AGENCY_APPROVAL,
    _MORE_DISEASE_MENTION,
    _BODY_REPAIR,
    _CURED_PERSON,
    _MORE_MEDICINE_SWAP,
    _EFFORTLESS_RESULT,
    _NO_LOSS,
    _CHILD_HAZARD,
)

PARAPHRASE_RULES: tuple[PatternRule, ...] = (
    _DISEASE_MENTION,
    _MEDICINE_SWAP,
    _CHILD_UNSUPERVISED,
    _INCOME_PROMISE,
    _ABSOLUTE_RESULT,
    _BODY_CLAIM,
)

DEFAULT_RULES: tuple[PatternRule, ...] = (
    _MEDICAL,
    _GUARANTEE,
    _FINANCIAL,
    _RISK_FREE,
    _MIRACLE,
    _CERTIFICATION,
    _CHILD_SAFETY,
    _WEIGHT_LOSS,
    _UNSUBSTANTIATED,
    _PROFANITY_STRONG,
    _PROFANITY_MILD,
    _EMAIL,
    _PHONE,
    _CARD,
    _NATIONAL_ID,
    _ADDRESS,
    *PARAPHRASE_RULES,
    *RULE_SET_3,
)


@lru_cache(maxsize=1024)
def _merchant_rule(terms: tuple[str, ...]) -> PatternRule | None:
    cleaned = sorted({term.strip() for term in terms if term.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    alternatives = "|".join(re.escape(term) for term in cleaned)
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", _I)
    return PatternRule(ReasonCode.COMPETITOR_TRADEMARK, Severity.HIGH, pattern)


def find_rule_hits(text: str, *, merchant_terms: Sequence[str] = ()) -> list[RuleHit]:
    """Every rule hit in `text`, in order of position.

    `merchant_terms` are the merchant's forbidden terms (competitor marks); they match
    case-insensitively as whole words or phrases. Compiled patterns are cached per term set.
    """
    hits = [hit for rule in DEFAULT_RULES for hit in rule.find(text)]
    merchant_rule = _merchant_rule(tuple(merchant_terms))
    if merchant_rule is not None:
        hits.extend(merchant_rule.find(text))
    return sorted(hits, key=lambda hit: (hit.start, hit.end, hit.code))


def reason_codes(hits: Iterable[RuleHit]) -> list[ReasonCode]:
    """The distinct reason codes of `hits`, in first-seen order."""
    return list(dict.fromkeys(hit.code for hit in hits))
