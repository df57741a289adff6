"""Synthetic product catalogue: categories, brands, attributes, features and prices.

Products are drawn deterministically from a seed. The (brand, category) pairs are split so
that a fixed share never appears in training: held-out products combine values the model has
seen, but never together, so evaluating on them measures copying, not memorisation.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from inference.prompts import ProductInput

BRANDS = (
    "Nordvik",
    "Aurelia",
    "Kestrel",
    "Lumora",
    "Brightfield",
    "Tidewater",
    "Ostara",
    "Vantor",
    "Maplecrest",
    "Solenne",
    "Ironbark",
    "Quillon",
    "Harbor & Pine",
    "Zephyra",
    "Calderon",
    "Wrenfield",
    "Novalux",
    "Pemberly",
    "Atlasmith",
    "Fernhollow",
    "Corvexa",
    "Bellhaven",
    "Driftwood Co",
    "Sablewood",
    "Orchid Lane",
    "Trivolt",
    "Glacier Peak",
    "Marlowe",
    "Evercraft",
    "Juniper Row",
    "Skyforge",
    "Halcyon",
)


@dataclass(frozen=True)
class Category:
    """One product category: its noun, series names, attribute domains and feature pool."""

    name: str
    series: tuple[str, ...]
    attributes: dict[str, tuple[str, ...]]
    features: tuple[str, ...]
    price_range: tuple[int, int]


CATEGORIES = (
    Category(
        "wireless headphones",
        ("Aero", "Pulse", "Echo", "Nova"),
        {
            "color": ("matte black", "silver", "midnight blue", "ivory"),
            "battery life": ("20 hours", "30 hours", "40 hours", "60 hours"),
            "driver size": ("32 mm", "40 mm", "50 mm"),
        },
        (
            "active noise cancelling",
            "foldable design",
            "USB-C fast charging",
            "multipoint pairing",
            "memory foam ear cushions",
            "built-in microphone",
        ),
        (29, 349),
    ),
    Category(
        "backpack",
        ("Trail", "Metro", "Summit", "Voyager"),
        {
            "capacity": ("18 L", "24 L", "30 L", "45 L"),
            "material": ("recycled nylon", "waxed canvas", "ripstop polyester"),
            "color": ("forest green", "charcoal", "sand", "navy"),
        },
        (
            "padded laptop sleeve",
            "water-resistant zippers",
            "hidden passport pocket",
            "adjustable chest strap",
            "luggage pass-through",
            "reflective trim",
        ),
        (39, 229),
    ),
    Category(
        "coffee maker",
        ("Brew", "Crema", "Morning", "Barista"),
        {
            "capacity": ("4 cups", "8 cups", "10 cups", "12 cups"),
            "power": ("800 W", "1000 W", "1200 W"),
            "finish": ("brushed steel", "matte black", "white"),
        },
        (
            "programmable timer",
            "keep-warm plate",
            "reusable filter",
            "auto shut-off",
            "thermal carafe",
            "brew strength control",
        ),
        (25, 299),
    ),
    Category(
        "running shoes",
        ("Stride", "Glide", "Tempo", "Apex"),
        {
            "drop": ("4 mm", "6 mm", "8 mm", "10 mm"),
            "weight": ("210 g", "240 g", "265 g", "290 g"),
            "color": ("coral", "black and white", "volt green", "grey"),
        },
        (
            "breathable knit upper",
            "carbon fibre plate",
            "grippy rubber outsole",
            "cushioned midsole",
            "padded heel collar",
            "reflective details",
        ),
        (59, 249),
    ),
    Category(
        "desk lamp",
        ("Halo", "Beam", "Lumen", "Arc"),
        {
            "brightness": ("400 lumens", "600 lumens", "800 lumens"),
            "color temperature": ("2700 K", "4000 K", "5000 K"),
            "finish": ("oak", "matte white", "graphite"),
        },
        (
            "touch dimmer",
            "adjustable arm",
            "USB charging port",
            "flicker-free light",
            "auto-off timer",
            "weighted base",
        ),
        (19, 179),
    ),
    Category(
        "water bottle",
        ("Flow", "Hydra", "Glacier", "Sip"),
        {
            "capacity": ("500 ml", "750 ml", "1 L"),
            "material": ("stainless steel", "Tritan plastic", "borosilicate glass"),
            "color": ("ocean blue", "sage", "black", "blush pink"),
        },
        (
            "double-wall insulation",
            "leak-proof lid",
            "carry loop",
            "dishwasher safe",
            "wide mouth",
            "sweat-free exterior",
        ),
        (12, 59),
    ),
    Category(
        "blender",
        ("Vortex", "Blend", "Fusion", "Whirl"),
        {
            "power": ("600 W", "900 W", "1400 W"),
            "jar size": ("1.2 L", "1.5 L", "2 L"),
            "speeds": ("3 speeds", "5 speeds", "10 speeds"),
        },
        (
            "pulse mode",
            "ice crushing blades",
            "self-cleaning program",
            "BPA-free jar",
            "overload protection",
            "travel cup included",
        ),
        (35, 399),
    ),
    Category(
        "office chair",
        ("Ergo", "Posture", "Atlas", "Flex"),
        {
            "seat height": ("42-52 cm", "45-55 cm", "48-58 cm"),
            "max load": ("120 kg", "136 kg", "150 kg"),
            "upholstery": ("mesh", "leather", "fabric"),
        },
        (
            "adjustable lumbar support",
            "4D armrests",
            "tilt lock",
            "breathable mesh back",
            "smooth-rolling casters",
            "headrest",
        ),
        (99, 899),
    ),
    Category(
        "tent",
        ("Camp", "Ridge", "Haven", "Nomad"),
        {
            "sleeps": ("2 people", "3 people", "4 people", "6 people"),
            "weight": ("1.8 kg", "2.4 kg", "3.1 kg", "4.5 kg"),
            "season rating": ("3-season", "4-season"),
        },
        (
            "color-coded poles",
            "full-coverage rainfly",
            "two vestibules",
            "mesh ceiling",
            "quick-pitch setup",
            "taped seams",
        ),
        (79, 599),
    ),
    Category(
        "smartwatch",
        ("Pace", "Orbit", "Vital", "Chrono"),
        {
            "display": ("1.2 inch AMOLED", "1.4 inch AMOLED", "1.6 inch LCD"),
            "battery life": ("5 days", "7 days", "14 days"),
            "water resistance": ("5 ATM", "10 ATM"),
        },
        (
            "heart rate tracking",
            "built-in GPS",
            "sleep tracking",
            "contactless payments",
            "blood oxygen sensor",
            "swim tracking",
        ),
        (49, 499),
    ),
)

_MODEL_SUFFIXES = ("", " Pro", " Lite", " Max", " Air", " Plus", " S", " X")
HELD_OUT_SHARE = 0.15


def is_held_out(brand: str, category: str) -> bool:
    """Whether the (brand, category) pair belongs to the held-out split (stable hash)."""
    digest = hashlib.sha256(f"{brand}|{category}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < HELD_OUT_SHARE


def generate_product(rng: random.Random, *, held_out: bool, index: int) -> ProductInput:
    """Draw one product whose (brand, category) pair is in the requested split."""
    while True:
        category = rng.choice(CATEGORIES)
        brand = rng.choice(BRANDS)
        if is_held_out(brand, category.name) == held_out:
            break
    keys = rng.sample(sorted(category.attributes), k=rng.randint(2, len(category.attributes)))
    low, high = category.price_range
    return ProductInput(
        id=f"{'h' if held_out else 't'}{index:06d}",
        title=f"{rng.choice(category.series)}{rng.choice(_MODEL_SUFFIXES)} {category.name}",
        brand=brand,
        category=category.name,
        attributes={key: rng.choice(category.attributes[key]) for key in keys},
        features=rng.sample(category.features, k=rng.randint(2, 3)),
        price=Decimal(rng.randint(low, high)) + Decimal("0.99") if rng.random() < 0.8 else None,
    )


def generate_products(count: int, *, seed: int, held_out: bool = False) -> Iterator[ProductInput]:
    """`count` products of one split, reproducible from `seed`."""
    rng = random.Random(f"{seed}:{held_out}")
    for index in range(count):
        yield generate_product(rng, held_out=held_out, index=index)
