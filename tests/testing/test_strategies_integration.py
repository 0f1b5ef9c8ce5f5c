"""Strategies for the models of an integration: its definitions and named enumerations."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings

from flowintegrations import (
    DataModel,
    Enumeration,
    Integration,
    Property,
    Scenario,
    ValidationError,
)
from flowintegrations.testing.strategies import (
    ExpectedViolation,
    headers,
    invalid_payloads,
    payloads,
)
from flowintegrations.validation import scenario_validators
from support.exact import exactly

STATUS = Enumeration("status", ["ACTIVE", "CLOSED"])
ADDRESS = DataModel(
    [Property.string("city", mandatory=True), Property.enum("kind", enumeration="status")]
)
UPDATE = Scenario(
    "Update customer",
    "update",
    output_model=DataModel(
        [
            Property.enum("status", enumeration="status", mandatory=True),
            Property.object_ref("home", "address", mandatory=True),
        ],
        additional_properties=False,
    ),
)
CRM = Integration(
    "CRM", "crm", scenarios=[UPDATE], definitions={"address": ADDRESS}, enumerations=[STATUS]
)


def is_valid_request(payload: Any) -> bool:
    """Whether ``payload`` is a valid request of UPDATE in CRM."""
    request, _ = scenario_validators(CRM, UPDATE)
    request.validate(payload)
    return True


@settings(max_examples=30, deadline=None)
@given(payloads(UPDATE.output_model, integration=CRM))
def test_payloads_of_a_model_take_the_integrations_names(payload: dict[str, Any]) -> None:
    """integration= resolves the model's references and named enumerations."""
    assert is_valid_request(payload)


@settings(max_examples=30, deadline=None)
@given(payloads(UPDATE, CRM))
def test_payloads_of_a_scenario_are_its_requests(payload: dict[str, Any]) -> None:
    """payloads(scenario, integration) draws valid requests of the scenario."""
    assert is_valid_request(payload)


@settings(max_examples=30, deadline=None)
@given(payloads(UPDATE.output_model, definitions=CRM.definitions, enumerations=CRM.enumerations))
def test_enumerations_may_be_the_integrations_tuple(payload: dict[str, Any]) -> None:
    """enumerations= accepts the Enumeration objects of integration.enumerations."""
    assert is_valid_request(payload)


@settings(max_examples=30, deadline=None)
@given(invalid_payloads(UPDATE, CRM))
def test_invalid_payloads_take_the_integration_too(case: tuple[Any, ExpectedViolation]) -> None:
    """invalid_payloads(scenario, integration) breaks the request in exactly one place."""
    payload, expected = case
    request, _ = scenario_validators(CRM, UPDATE)
    with pytest.raises(ValidationError) as caught:
        request.validate(payload)
    assert [(v.path, v.rule) for v in caught.value.violations] == [(expected.path, expected.rule)]


def test_an_enumeration_inside_a_reference_is_checked_when_the_strategy_is_built() -> None:
    """A missing enumeration used by a definition fails at build time, not when drawing."""
    message = (
        "enumeration 'status' of property 'kind' does not resolve (enumerations: none); "
        "pass integration= (or enumerations=)"
    )
    model = DataModel([Property.object_ref("home", "address")])
    with pytest.raises(LookupError, match=exactly(message)):
        payloads(model, definitions={"address": ADDRESS})


def test_invalid_payloads_check_names_when_the_strategy_is_built() -> None:
    """invalid_payloads fails at build time too, naming what is missing."""
    message = (
        "reference 'address' of property 'home' does not resolve (definitions: none); "
        "pass integration= (or definitions=)"
    )
    with pytest.raises(LookupError, match=exactly(message)):
        invalid_payloads(DataModel([Property.object_ref("home", "address")]))


def test_a_name_missing_from_the_integration_is_named() -> None:
    """With integration= given, the message names the integration's names and the option."""
    model = DataModel([Property.enum("e", enumeration="colour")])
    with pytest.raises(
        LookupError,
        match=exactly(
            "enumeration 'colour' of property 'e' does not resolve (enumerations: 'status'); "
            "pass enumerations="
        ),
    ):
        payloads(model, integration=CRM)


def test_enumerations_of_another_kind_are_refused() -> None:
    """enumerations= that is neither a mapping nor Enumeration objects is a TypeError."""
    with pytest.raises(
        TypeError,
        match=exactly(
            "enumerations= takes a mapping of name to values or Enumeration objects, got 'status'"
        ),
    ):
        payloads(DataModel(), enumerations=["status"])  # type: ignore[list-item]


@settings(max_examples=20, deadline=None)
@given(headers("update", CRM))
def test_headers_take_a_scenario_identifier_and_its_integration(drawn: dict[str, str]) -> None:
    """headers(identifier, integration) draws the headers of that scenario."""
    assert drawn["processInstanceId"].isdigit()


def test_headers_of_an_unknown_scenario_fail_when_built() -> None:
    """An identifier the integration does not have fails at build time, naming it."""
    with pytest.raises(
        LookupError, match=exactly("integration 'crm' has no scenario 'nope' (it has: 'update')")
    ):
        headers("nope", CRM)


def test_headers_of_an_identifier_need_the_integration() -> None:
    """A scenario identifier without its integration is a TypeError saying what to pass."""
    with pytest.raises(
        TypeError, match=exactly("headers('update') names a scenario: pass its integration too")
    ):
        headers("update")
