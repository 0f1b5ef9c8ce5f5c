"""Enumeration codes per source system: the model's checks and the translation both ways."""

from __future__ import annotations

import pytest

from flowintegrations import Catalog, CatalogError, Enumeration, Integration, ValidationError
from flowintegrations.validation import (
    Violation,
    enumeration_values,
    to_json_schema,
    translator_for,
)
from support.codes import COUNTRY, CRM, LOOKUP


def problems(error: CatalogError) -> list[str]:
    """The problems of ``error`` as ``path: message`` lines."""
    return [str(p) for p in error.problems]


def test_a_missing_code_is_a_catalog_problem() -> None:
    """A system's codes must cover every value of the enumeration."""
    with pytest.raises(CatalogError) as caught:
        Enumeration("country", ["RO", "DE"], codes={"CRM": {"RO": "ROU"}})
    assert problems(caught.value) == [
        "$.codes.CRM: system 'CRM' has no code for 'DE' of enumeration 'country'"
    ]


def test_a_duplicate_code_is_a_catalog_problem() -> None:
    """Two values cannot share one code in the same system."""
    with pytest.raises(CatalogError) as caught:
        Enumeration("country", ["RO", "DE"], codes={"CRM": {"RO": "X", "DE": "X"}})
    assert problems(caught.value) == [
        "$.codes.CRM.DE: duplicate code 'X' in system 'CRM' (also the code of 'RO')"
    ]


def test_a_code_for_an_unknown_value_is_a_catalog_problem() -> None:
    """Codes are given for the enumeration's own values only."""
    with pytest.raises(CatalogError) as caught:
        Enumeration("country", ["RO"], codes={"CRM": {"RO": "ROU", "FR": "FRA"}})
    assert problems(caught.value) == [
        "$.codes.CRM.FR: system 'CRM' has a code for 'FR', which is not a value of "
        "enumeration 'country'"
    ]


def test_codes_round_trip_through_the_catalog_file() -> None:
    """The catalog form of codes is ``codes: {system: {value: code}}``."""
    dumped = Catalog([CRM]).dump()
    assert dumped["integrations"][0]["enumerations"][0]["codes"] == {
        "CRM": {"RO": "ROU", "DE": "DEU"}
    }
    assert Catalog.load(dumped) == Catalog([CRM])


def test_enumeration_values_are_the_system_codes() -> None:
    """``enumeration_values`` gives the engine's values, or a system's codes."""
    assert (enumeration_values(CRM), enumeration_values(CRM, "CRM")) == (
        {"country": ("RO", "DE")},
        {"country": ("ROU", "DEU")},
    )


def test_schema_for_a_system_lists_its_codes() -> None:
    """The JSON Schema in a system's words has its codes as the enum."""
    schema = to_json_schema(LOOKUP.output_model, None, enumeration_values(CRM, "CRM"))
    assert schema["properties"]["country"]["enum"] == ["ROU", "DEU"]


def test_no_translator_without_codes_for_the_system() -> None:
    """An integration whose system has no codes gets no translator at all."""
    other = Integration("ERP", "erp", system_name="ERP", enumerations=[COUNTRY])
    unnamed = Integration("Plain", "plain", enumerations=[COUNTRY])
    assert (translator_for(other, LOOKUP), translator_for(unnamed, LOOKUP)) == (None, None)


def test_request_values_become_the_system_codes() -> None:
    """The engine's values become codes, in arrays too; the request itself is not changed."""
    translator = translator_for(CRM, LOOKUP)
    assert translator is not None
    request = {"country": "RO", "visited": ["DE", "RO"], "note": "kept"}
    assert translator.request(request) == {
        "country": "ROU",
        "visited": ["DEU", "ROU"],
        "note": "kept",
    }
    assert request == {"country": "RO", "visited": ["DE", "RO"], "note": "kept"}


def test_reply_codes_become_the_engine_values() -> None:
    """A reply in the system's codes goes back with the engine's values, nested too."""
    translator = translator_for(CRM, LOOKUP)
    assert translator is not None
    assert translator.reply({"address": {"country": "DEU"}}) == {"address": {"country": "DE"}}


def test_reply_with_an_engine_value_is_invalid_in_the_system_codes() -> None:
    """Each side has its own value set: the handler must answer in codes."""
    translator = translator_for(CRM, LOOKUP)
    assert translator is not None
    with pytest.raises(ValidationError) as caught:
        translator.reply({"address": {"country": "DE"}})
    assert caught.value.violations == (
        Violation(
            "$.address.country",
            "enum",
            "must be one of 'ROU', 'DEU'; got 'DE' (the codes of system 'CRM')",
            "DE",
        ),
    )
    assert caught.value.subject == "reply in the codes of system 'CRM'"
