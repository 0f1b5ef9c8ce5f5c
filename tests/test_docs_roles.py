"""docs/griffe_roles.py: Sphinx roles in docstrings become optional cross-references.

The extension runs on small packages written for each test, loaded by griffe as
mkdocstrings loads ours (through ``extensions:``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import griffe
import pytest

EXTENSION = f"{Path(__file__).resolve().parents[1] / 'docs' / 'griffe_roles.py'}:SphinxRoles"

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
    "pricing.py": '''
"""Prices."""


def total(basket):
    """The price of everything in ``basket`` (a :class:`~shop.Basket`)."""
''',
}


@pytest.fixture(scope="module")
def shop() -> Iterator[griffe.Module]:
    """The shop package, loaded with the roles extension, as mkdocstrings would."""
    extensions = griffe.load_extensions(EXTENSION)
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


def test_instance_attributes_lose_the_code_that_sets_them(shop: griffe.Module) -> None:
    """`self.items = ...` in __init__ has no value; a class attribute keeps its value."""
    assert (
        shop["basket.Basket.items"].value,
        str(shop["basket.Basket.kind"].value),
    ) == (None, "'basket'")
