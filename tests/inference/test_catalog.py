"""The synthetic catalogue and its held-out split."""

from __future__ import annotations

from inference.catalog import BRANDS, CATEGORIES, generate_products, is_held_out


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
