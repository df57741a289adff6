"""The synthetic catalogue and its held-out split."""

from __future__ import annotations

from inference.catalog import (
    BRANDS,
    CATEGORIES,
    generate_mixed_products,
    generate_products,
    generate_unseen_products,
    is_held_out,
    is_held_out_value,
)
from inference.quality import required_slots


def test_generation_is_reproducible_from_the_seed() -> None:
    first = list(generate_products(20, seed=7))
    assert first == list(generate_products(20, seed=7))
    assert first != list(generate_products(20, seed=8))


def test_held_out_products_use_only_held_out_brand_category_pairs() -> None:
    train = list(generate_products(300, seed=1))
    held = list(generate_products(100, seed=1, held_out=True))
    train_pairs = {(p.brand, p.category) for p in train}
    held_pairs = {(p.brand, p.category) for p in held}
    assert not train_pairs & held_pairs
    assert all(is_held_out(brand, category) for brand, category in held_pairs)


def test_held_out_share_is_a_minority_of_pairs() -> None:
    pairs = [(b, c.name) for b in BRANDS for c in CATEGORIES]
    share = sum(is_held_out(b, c) for b, c in pairs) / len(pairs)
    assert 0.05 < share < 0.3


def test_products_draw_attributes_from_their_category() -> None:
    by_name = {category.name: category for category in CATEGORIES}
    for product in generate_products(50, seed=3):
        category = by_name[product.category]
        assert product.title.endswith(category.name)
        for key, value in product.attributes.items():
            assert value in category.attributes[key]
        assert set(product.features) <= set(category.features)


def test_unseen_vocabulary_values_never_appear_in_training() -> None:
    train = list(generate_mixed_products(2000, seed=1, open_share=0.6))
    unseen = list(generate_unseen_products(200, seed=1))
    train_values = {slot.lower() for product in train for slot in required_slots(product)}
    unseen_values = {slot.lower() for product in unseen for slot in required_slots(product)}
    assert not train_values & unseen_values
    assert all(is_held_out_value(value) for value in unseen_values)
    catalogue = {b.lower() for b in BRANDS} | {
        f.lower() for category in CATEGORIES for f in category.features
    }
    assert not {p.brand.lower() for p in unseen} & catalogue


def test_open_vocabulary_products_vary_in_shape() -> None:
    products = list(generate_mixed_products(1000, seed=2, open_share=0.6))
    opened = [p for p in products if p.id.startswith("o")]
    assert 0.5 < len(opened) / len(products) < 0.7
    assert len({p.brand for p in opened}) > 0.9 * len(opened)  # brands almost never repeat
    assert any(len(p.attributes) == 0 for p in opened)
    assert any(len(p.attributes) == 1 for p in opened)
    assert any(not p.features for p in opened)
    assert any(len(p.features) >= 4 for p in opened)
    assert any(any(c in p.brand for c in "&-'") for p in opened)
