"""Realistic property tests an adapter author writes with our strategies; must type-check.

Never run by pytest (no ``test_`` prefix): it keeps the strategies pleasant to use from a
strictly typed code base.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from flowintegrations import Catalog, DataModel, Property, Scenario, ValidationError
from flowintegrations.testing.strategies import (
    ExpectedViolation,
    catalogs,
    data_models,
    headers,
    invalid_payloads,
    payloads,
)

ADDRESS = DataModel((Property.string("street", mandatory=True),))
REQUEST = DataModel(
    (
        Property.string("customerId", mandatory=True),
        Property.object_ref("home", "address"),
        Property.enum("status", enumeration="status"),
    ),
    additional_properties=False,
)
DEFINITIONS = {"address": ADDRESS}
ENUMERATIONS = {"status": ["ACTIVE", "CLOSED"]}
SCENARIO = Scenario("Look up", "lookup", output_model=REQUEST)


def handle(payload: dict[str, Any], metadata: dict[str, str]) -> dict[str, Any]:
    """The adapter's handler under test."""
    return {"customerId": payload["customerId"], "processInstanceId": metadata["processInstanceId"]}


@given(
    payloads(REQUEST, definitions=DEFINITIONS, enumerations=ENUMERATIONS),
    headers(SCENARIO),
)
def check_handler_answers_every_valid_request(
    payload: dict[str, Any], metadata: dict[str, str]
) -> None:
    """The handler answers every valid request, echoing the customer."""
    assert handle(payload, metadata)["customerId"] == payload["customerId"]


@given(invalid_payloads(REQUEST, definitions=DEFINITIONS, enumerations=ENUMERATIONS))
def check_validation_names_the_broken_field(case: tuple[Any, ExpectedViolation]) -> None:
    """Validation reports exactly the violation the strategy promised."""
    payload, expected = case
    try:
        REQUEST.validate(payload, definitions=DEFINITIONS, enumerations=ENUMERATIONS)
    except ValidationError as error:
        violations = error.violations
    else:
        violations = ()
    assert [expected.matches(v) for v in violations] == [True]


@given(data_models(), catalogs(), st.integers())
def check_structures(model: DataModel, catalog: Catalog, number: int) -> None:
    """Generated structures are the library's own types."""
    assert isinstance(model.additional_properties, bool)
    assert Catalog.load(catalog.dump()) == catalog
    assert number == number
