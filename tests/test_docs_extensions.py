"""docs/griffe_extensions.py: roles become cross-references, attributes show values.

The extensions run on a small package written for these tests, loaded by griffe as
mkdocstrings loads ours (through ``extensions:``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import griffe
import pytest

MODULE = Path(__file__).resolve().parents[1] / "docs" / "griffe_extensions.py"

SHOP = {
    "__init__.py": '''
"""The shop: see :class:`Basket` and :func:`~shop.pricing.total`."""
from shop.basket import Basket
''',
    "basket.py": '''
"""Baskets. Prices come from :mod:`.pricing`."""
import attrs


class Basket:
    """A basket; :meth:`add` puts things in, :attr:`items` holds them.

    Frozen baskets raise :exc:`ValueError`; equality is :meth:`!__eq__`;
    see :meth:`the total <shop.pricing.total>` and :class:`attrs.Factory`.
    """

    kind = "basket"
    """The kind of container."""

    def __init__(self, items=None):
        self.items = items if items is not None else []
        """What is in the basket."""

    def add(self, item):
        """Add ``item``; :meth:`Basket.remove` takes it out again, :func:`nothing_here` no."""

    def remove(self, item):
        """Take ``item`` out."""
''',
    "price.py": '''
"""A price, as an attrs class."""
import attrs
from attrs import field


@attrs.frozen
class Price:
    """A price."""

    amount: int = attrs.field(validator=attrs.validators.ge(0))
    currency: str = attrs.field(default="EUR", kw_only=True)
    taxes: tuple = field(factory=tuple)
    notes: list = attrs.field(default=attrs.Factory(list))
    made: object = attrs.field(factory=lambda: object())
    rounding: int = 2
''',
    "pricing.py": '''
"""Prices."""


def total(basket):
    """The price of everything in ``basket`` (a :class:`~shop.Basket`)."""
''',
}


@pytest.fixture(scope="module")
def shop() -> Iterator[griffe.Module]:
    """The shop package, loaded with both extensions, as mkdocstrings would."""
    extensions = griffe.load_extensions(f"{MODULE}:SphinxRoles", f"{MODULE}:DefaultValues")
    with griffe.temporary_visited_package("shop", SHOP, extensions=extensions) as package:
        yield package


def ref(identifier: str, title: str) -> str:
    """The HTML the extension writes for a role that resolves to ``identifier``."""
    return f'<autoref identifier="{identifier}" optional><code>{title}</code></autoref>'


def test_a_re_exported_class_points_at_its_canonical_path(shop: griffe.Module) -> None:
    """`:class:`Basket`` in the package resolves through the import to shop.basket.Basket."""
    assert shop.docstring is not None
    expected = (
        f"The shop: see {ref('shop.basket.Basket', 'Basket')} and "
        f"{ref('shop.pricing.total', 'total()')}."
    )
    assert expected == shop.docstring.value


def test_a_relative_module_role_resolves_in_the_current_package(shop: griffe.Module) -> None:
    """`:mod:`.pricing`` in shop.basket points at shop.pricing."""
    docstring = shop["basket"].docstring
    assert docstring is not None
    assert f"Baskets. Prices come from {ref('shop.pricing', '.pricing')}." == docstring.value


def test_roles_in_a_class_resolve_against_its_members(shop: griffe.Module) -> None:
    """Members, builtins, `!`, explicit titles and other packages each render as Sphinx would."""
    docstring = shop["basket.Basket"].docstring
    assert docstring is not None
    expected = (
        f"A basket; {ref('shop.basket.Basket.add', 'add()')} puts things in, "
        f"{ref('shop.basket.Basket.items', 'items')} holds them.\n\n"
        "Frozen baskets raise <code>ValueError</code>; equality is <code>__eq__()</code>;\n"
        f"see {ref('shop.pricing.total', 'the total')} and "
        f"{ref('attrs.Factory', 'attrs.Factory')}."
    )
    assert expected == docstring.value


def test_a_method_role_resolves_a_dotted_name_and_leaves_unknown_ones_as_code(
    shop: griffe.Module,
) -> None:
    """`:meth:`Basket.remove`` links; a name that resolves to nothing is plain code."""
    docstring = shop["basket.Basket.add"].docstring
    assert docstring is not None
    expected = (
        f"Add ``item``; {ref('shop.basket.Basket.remove', 'Basket.remove()')} takes it out "
        "again, <code>nothing_here()</code> no."
    )
    assert expected == docstring.value


def test_a_tilde_shows_the_last_part_of_the_name(shop: griffe.Module) -> None:
    """`:class:`~shop.Basket`` shows Basket and points at the canonical shop.basket.Basket."""
    docstring = shop["pricing.total"].docstring
    assert docstring is not None
    expected = f"The price of everything in ``basket`` (a {ref('shop.basket.Basket', 'Basket')})."
    assert expected == docstring.value


def test_an_attribute_set_in_init_shows_no_value(shop: griffe.Module) -> None:
    """`self.items = items if ... else []` in __init__ is code, not a default: no value."""
    assert shop["basket.Basket.items"].value is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("basket.Basket.kind", "'basket'"),
        ("price.Price.amount", "None"),
        ("price.Price.currency", "'EUR'"),
        ("price.Price.taxes", "tuple()"),
        ("price.Price.notes", "list()"),
        ("price.Price.made", "None"),
        ("price.Price.rounding", "2"),
    ],
)
def test_a_field_shows_its_default(shop: griffe.Module, name: str, expected: str) -> None:
    """Fields show default=, factory() or nothing (required, or made by a lambda)."""
    assert expected == str(shop[name].value)
