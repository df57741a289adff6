"""Personal data masking, applied to every merchant-supplied string before the model sees it.

Detected: e-mail addresses, phone numbers (international `+…` and North-American forms),
payment-card numbers (13–19 digits passing the Luhn check, spaces or dashes allowed) and
street addresses ("221B Baker Street", "1600 Pennsylvania Ave NW"). Each is replaced by a
typed placeholder (`[EMAIL]`, `[PHONE]`, `[CARD]`, `[ADDRESS]`). Product facts such as
"1000 mAh" or "Model 3000" are left alone: phones need separators or a `+`, cards a valid
Luhn checksum, addresses a street word after the number.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

EMAIL = re.compile(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b")
PHONE = re.compile(
    r"(?<![\d\-.])(?<!\d\s)"
    r"(?:(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{2,4}\)[\s.\-]?|\d{2,4}[\s.\-])\d{3,4}[\s.\-]\d{3,4}"
    r"|\+\d{8,15})"
    r"(?![\s.\-]?\d)"
)
CARD = re.compile(r"\b(?:\d[ \-]?){12,18}\d\b")
STREET_WORDS = (
    "street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|"
    "square|sq|terrace|parkway|pkwy|highway|hwy|strasse|straße"
)
ADDRESS = re.compile(
    rf"\b\d{{1,5}}[A-Za-z]?\s+(?:[A-Z][\w'\-]*\s+){{1,4}}(?:{STREET_WORDS})\b\.?(?:\s+[NSEW]{{1,2}}\b)?",
    re.IGNORECASE,
)


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _mask_cards(text: str, counts: Counter[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            counts["card"] += 1
            return "[CARD]"
        return match.group()

    return CARD.sub(replace, text)


def mask_text(text: str, counts: Counter[str] | None = None) -> str:
    """`text` with personal data replaced by placeholders; `counts` tallies what was masked."""
    counts = counts if counts is not None else Counter()
    text = _mask_cards(text, counts)
    for kind, pattern, placeholder in (
        ("email", EMAIL, "[EMAIL]"),
        ("phone", PHONE, "[PHONE]"),
        ("address", ADDRESS, "[ADDRESS]"),
    ):
        text, n = pattern.subn(placeholder, text)
        counts[kind] += n
    return text


def mask_value(value: Any, counts: Counter[str]) -> Any:
    """Mask every string inside a JSON-like value (dicts, lists), keys included."""
    if isinstance(value, str):
        return mask_text(value, counts)
    if isinstance(value, dict):
        return {mask_text(k, counts): mask_value(v, counts) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v, counts) for v in value]
    return value
