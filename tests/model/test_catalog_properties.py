"""Properties that hold for every catalog: dump -> load is the identity."""

from __future__ import annotations

from hypothesis import given

from flowintegrations import Catalog, Integration
from flowintegrations.testing.strategies import catalogs, integrations
from support.generated import PROPERTIES


@PROPERTIES
@given(catalogs())
def test_load_of_dump_is_the_same_catalog(catalog: Catalog) -> None:
    """Catalog.load(c.dump()) == c for every catalog."""
    assert Catalog.load(catalog.dump()) == catalog


@PROPERTIES
@given(catalogs())
def test_load_of_dumped_json_text_is_the_same_catalog(catalog: Catalog) -> None:
    """A catalog written as JSON text and read back is equal, and dumps to the same data."""
    reloaded = Catalog.load(catalog.dumps())
    assert (reloaded, reloaded.dump()) == (catalog, catalog.dump())


@PROPERTIES
@given(integrations())
def test_equal_integrations_hash_alike(integration: Integration) -> None:
    """An integration and its reloaded copy are equal and hash alike (usable as cache keys)."""
    (copy,) = Catalog.load(Catalog([integration]).dump()).integrations
    assert (copy, hash(copy)) == (integration, hash(integration))
