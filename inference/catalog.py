"""Synthetic product catalogue: categories, brands, attributes, features and prices.

Products are drawn deterministically from a seed. The (brand, category) pairs are split so
that a fixed share never appears in training: held-out products combine values the model has
seen, but never together, so evaluating on them measures copying, not memorisation.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
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


# Open vocabulary: products whose slot values the model cannot have memorised. Merchants send
# brands, titles and features that are not in any list, so a large share of the training
# products draw theirs from here; the model has to copy them from the prompt.

_ONSETS = (
    "b",
    "br",
    "c",
    "ch",
    "cl",
    "d",
    "dr",
    "f",
    "fl",
    "g",
    "gr",
    "h",
    "j",
    "k",
    "kl",
    "l",
    "m",
    "n",
    "p",
    "pl",
    "qu",
    "r",
    "s",
    "sh",
    "sk",
    "st",
    "t",
    "th",
    "tr",
    "v",
    "w",
    "x",
    "y",
    "z",
    "",
    "",
)
_VOWELS = ("a", "e", "i", "o", "u", "y", "ae", "ai", "ea", "ee", "io", "oo", "ou")
_CODAS = ("", "", "", "n", "r", "s", "l", "x", "k", "m", "nd", "rk", "st", "th", "ck", "sh")
_WORDS = (
    "herbal",
    "tea",
    "that",
    "cures",
    "arthritis",
    "miracle",
    "cure",
    "guaranteed",
    "results",
    "approved",
    "natural",
    "organic",
    "classic",
    "premium",
    "ultra",
    "soft",
    "bright",
    "silent",
    "rapid",
    "gentle",
    "golden",
    "crystal",
    "velvet",
    "rustic",
    "urban",
    "coastal",
    "alpine",
    "vintage",
    "modern",
    "tiny",
    "giant",
    "smart",
    "eco",
    "solar",
    "lunar",
    "royal",
    "wild",
    "happy",
    "lucky",
    "daily",
    "night",
    "morning",
    "garden",
    "kitchen",
    "travel",
    "studio",
    "office",
    "pocket",
    "family",
    "kids",
    "pet",
    "dog",
    "cat",
    "bird",
    "horse",
    "fish",
    "baby",
    "candle",
    "soap",
    "lotion",
    "serum",
    "scarf",
    "jacket",
    "sweater",
    "mug",
    "bowl",
    "plate",
    "knife",
    "pan",
    "kettle",
    "speaker",
    "cable",
    "charger",
    "mouse",
    "keyboard",
    "monitor",
    "blanket",
    "pillow",
    "mattress",
    "rug",
    "curtain",
    "lamp",
    "clock",
    "mirror",
    "frame",
    "puzzle",
    "game",
    "toy",
    "book",
    "journal",
    "pen",
    "pencil",
    "brush",
    "paint",
    "glue",
    "rope",
    "hammer",
    "drill",
    "saw",
    "glove",
    "boot",
    "sock",
    "hat",
    "belt",
    "wallet",
    "ring",
    "necklace",
    "bracelet",
    "watch",
    "vase",
    "planter",
    "seed",
    "spice",
    "honey",
    "coffee",
    "chocolate",
    "cookie",
    "sauce",
    "oil",
    "vinegar",
    "salt",
    "pepper",
    "rice",
    "pasta",
    "cleaner",
    "sponge",
    "towel",
    "bucket",
    "ladder",
    "tool",
    "kit",
    "set",
    "pack",
    "box",
    "stand",
    "holder",
    "rack",
    "shelf",
    "cart",
    "basket",
    "bag",
    "case",
    "cover",
    "sleeve",
    "works",
    "labs",
    "co",
    "company",
    "house",
    "goods",
    "supply",
    "and",
    "sons",
    "brothers",
    "the",
    "of",
    "for",
    "with",
    "by",
    "in",
    "on",
    "best",
    "first",
    "pure",
    "true",
    "blue",
    "red",
    "green",
    "black",
    "white",
    "yellow",
    "purple",
    "orange",
    "pink",
    "brown",
    "grey",
    "teal",
    "olive",
    "amber",
    "copper",
    "bronze",
    "steel",
    "wood",
    "stone",
    "glass",
    "clay",
    "cotton",
    "linen",
    "wool",
    "silk",
    "leather",
    "bamboo",
    "cork",
    "rubber",
    "paper",
    "hemp",
    "fast",
    "slow",
    "warm",
    "cool",
    "fresh",
    "sweet",
    "sour",
    "bitter",
    "spicy",
    "mild",
    "dry",
    "wet",
    "heavy",
    "light",
    "strong",
    "quiet",
    "loud",
    "sharp",
    "smooth",
    "rough",
    "round",
    "square",
    "long",
    "short",
    "wide",
    "narrow",
    "deep",
    "flat",
    "folding",
    "portable",
    "washable",
    "reusable",
    "refillable",
    "handmade",
    "waterproof",
    "windproof",
    "magnetic",
    "wireless",
    "rechargeable",
    "adjustable",
    "stackable",
    "scented",
    "unscented",
    "vegan",
)
OPEN_ATTRIBUTE_NAMES = (
    "material",
    "color",
    "colour",
    "size",
    "finish",
    "pattern",
    "origin",
    "weight",
    "length",
    "width",
    "height",
    "volume",
    "capacity",
    "fit",
    "scent",
    "flavor",
    "flavour",
    "voltage",
    "power",
    "fabric",
    "filling",
    "shape",
    "texture",
    "thread count",
    "grade",
    "roast",
    "strength",
    "age range",
    "compatibility",
    "connector",
    "mount",
    "closure",
    "sole",
    "lining",
    "edition",
    "format",
    "pages",
    "pieces",
    "servings",
    "grip",
    "handle",
    "base",
    "lid",
    "blade",
    "tip",
    "nib",
    "ink",
    "glaze",
    "wick",
    "burn time",
    "fragrance",
    "skin type",
    "hair type",
    "season",
    "occasion",
    "theme",
    "care",
)
_UNITS = (
    "cm",
    "mm",
    "m",
    "kg",
    "g",
    "ml",
    "L",
    "oz",
    "lb",
    "in",
    "W",
    "V",
    "mAh",
    "h",
    "hours",
    "days",
    "pieces",
    "pages",
    "servings",
    "pack",
    "cups",
    "%",
)
_CATEGORY_NOUNS = (
    "tea",
    "mug",
    "candle",
    "scarf",
    "lamp",
    "speaker",
    "toy",
    "book",
    "tool kit",
    "rug",
    "serum",
    "soap",
    "jacket",
    "knife",
    "pan",
    "planter",
    "puzzle",
    "wallet",
    "blanket",
    "bag",
    "phone case",
    "dog bed",
    "spice blend",
    "notebook",
    "board game",
    "cutting board",
)
OPEN_VOCAB_SHARE = 0.6


def _syllable_word(rng: random.Random) -> str:
    parts = [
        rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
        for _ in range(rng.choice((1, 1, 2, 2, 3)))
    ]
    return "".join(parts) or "xo"


def _casing(word: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.5:
        return word.capitalize()
    if roll < 0.65:
        return word.upper()
    if roll < 0.9:
        return word
    return word[:1].upper() + word[1:-1] + word[-1:].upper()


def _code(rng: random.Random) -> str:
    letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTVWXZ") for _ in range(rng.randint(1, 3)))
    digits = str(rng.randint(1, 9999))
    return rng.choice((f"{letters}-{digits}", f"{letters}{digits}", f"{digits}{letters}"))


def _word(rng: random.Random) -> str:
    return rng.choice(_WORDS) if rng.random() < 0.6 else _syllable_word(rng)


def random_brand(rng: random.Random) -> str:
    """A brand name nobody listed: syllables, real words, codes, `&`, `-`, `'`."""
    shape = rng.randint(0, 6)
    first = _casing(_syllable_word(rng), rng)
    if shape == 0:
        return first
    if shape == 1:
        return f"{first} {_casing(_word(rng), rng)}"
    if shape == 2:
        return f"{first} & {_casing(_word(rng), rng)}"
    if shape == 3:
        return f"{first}-{_casing(_syllable_word(rng), rng)}"
    if shape == 4:
        return f"{_casing(rng.choice(_WORDS), rng)} {_casing(rng.choice(_WORDS), rng)}"
    if shape == 5:
        return f"{rng.choice(('O', 'D', 'L'))}'{_syllable_word(rng).capitalize()}"
    return f"{first} {_code(rng)}"


def random_title(rng: random.Random, category: str) -> str:
    """A product title of 1-7 mixed words, sometimes with a model code or the category."""
    words = [_word(rng) for _ in range(rng.randint(1, 5))]
    if rng.random() < 0.3:
        words.insert(rng.randint(0, len(words)), _code(rng))
    if rng.random() < 0.4:
        words.append(category)
    text = " ".join(words)
    return text.capitalize() if rng.random() < 0.6 else _casing(text, rng)


def random_value(rng: random.Random) -> str:
    """An attribute value: a number with a unit, a word or two, or a code."""
    roll = rng.random()
    if roll < 0.3:
        number = rng.choice((str(rng.randint(1, 999)), f"{rng.randint(0, 99)}.{rng.randint(1, 9)}"))
        return f"{number} {rng.choice(_UNITS)}"
    if roll < 0.75:
        return " ".join(_word(rng) for _ in range(rng.randint(1, 3)))
    if roll < 0.85:
        return _code(rng)
    return _casing(_syllable_word(rng), rng)


def random_feature(rng: random.Random) -> str:
    """A free-text feature phrase of 1-5 words."""
    return " ".join(_word(rng) for _ in range(rng.randint(1, 5)))


def is_held_out_value(value: str) -> bool:
    """Whether an open-vocabulary slot value belongs to the held-out split (stable hash)."""
    digest = hashlib.sha256(f"value|{value.lower()}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < HELD_OUT_SHARE


def _in_split(rng: random.Random, draw: Callable[[random.Random], str], held_out: bool) -> str:
    while True:
        value = draw(rng)
        if is_held_out_value(value) == held_out:
            return value


def generate_open_product(rng: random.Random, *, held_out: bool, index: int) -> ProductInput:
    """A product with random slot values; every value is in the requested split.

    Training products only get values whose hash puts them in the training split, held-out
    products only values in the held-out split, so no held-out brand, title, attribute value
    or feature ever appears in training. Products have 0-5 attributes and 0-5 features.
    """
    category = rng.choice(CATEGORIES).name if rng.random() < 0.5 else rng.choice(_CATEGORY_NOUNS)
    attribute_count = rng.choice((0, 1, 1, 2, 2, 3, 3, 4, 5))
    names = rng.sample(OPEN_ATTRIBUTE_NAMES, k=attribute_count)
    attributes = {name: _in_split(rng, random_value, held_out) for name in names}
    features: list[str] = []
    for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 3, 4, 5))):
        feature = _in_split(rng, random_feature, held_out)
        if feature.lower() not in {f.lower() for f in features}:
            features.append(feature)
    return ProductInput(
        id=f"{'u' if held_out else 'o'}{index:06d}",
        title=_in_split(rng, lambda r: random_title(r, category), held_out),
        brand=_in_split(rng, random_brand, held_out),
        category=category,
        attributes=attributes,
        features=features,
        price=Decimal(rng.randint(1, 999)) + Decimal("0.99") if rng.random() < 0.7 else None,
    )


def widen_product(
    product: ProductInput, rng: random.Random, *, held_out: bool, low: int = 6, high: int = 16
) -> ProductInput:
    """`product` with `low`-`high` open-vocabulary attributes and as many features.

    Merchants send up to 16 of each (`ProductInput`'s limit); the other generators stop at 5.
    Values are drawn in the requested split, like `generate_open_product`'s.
    """
    names = rng.sample(OPEN_ATTRIBUTE_NAMES, k=rng.randint(low, high))
    features: list[str] = []
    wanted = rng.randint(low, high)
    while len(features) < wanted:
        feature = _in_split(rng, random_feature, held_out)
        if feature.lower() not in {f.lower() for f in features}:
            features.append(feature)
    return product.model_copy(
        update={
            "attributes": {name: _in_split(rng, random_value, held_out) for name in names},
            "features": features,
        }
    )


def generate_unseen_products(count: int, *, seed: int) -> Iterator[ProductInput]:
    """`count` open-vocabulary held-out products: no slot value of theirs is in training."""
    rng = random.Random(f"unseen:{seed}")
    for index in range(count):
        yield generate_open_product(rng, held_out=True, index=index)


def generate_mixed_products(
    count: int, *, seed: int, held_out: bool = False, open_share: float = OPEN_VOCAB_SHARE
) -> Iterator[ProductInput]:
    """`count` products, a share `open_share` of them open-vocabulary, the rest catalogue."""
    rng = random.Random(f"mixed:{seed}:{held_out}")
    catalogue = generate_products(count, seed=seed, held_out=held_out)
    for index, product in enumerate(catalogue):
        if rng.random() < open_share:
            yield generate_open_product(rng, held_out=held_out, index=index)
        else:
            yield product
