"""The Hypothesis strategies: what payloads, invalid_payloads and headers draw, and shrinking."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from flowintegrations import DataModel, Header, Property, Scenario, ValidationError
from flowintegrations.model import Enumeration
from flowintegrations.testing.strategies import (
    ExpectedViolation,
    headers,
    invalid_payloads,
    payloads,
)
from flowintegrations.validation import decode_headers, validator_for
from support.exact import exactly

ADDRESS = DataModel([Property.string("street", mandatory=True)], additional_properties=False)
DEFINITIONS = {"address": ADDRESS}
ENUMERATIONS = {"status": ("QUEUED", "SENT")}

EVERYTHING = DataModel(
    [
        Property.string("s", mandatory=True),
        Property.number("n"),
        Property.boolean("b"),
        Property.enum("e", ["TO", "CC"]),
        Property.enum("named", enumeration="status"),
        Property.object("o", [Property.number("x", mandatory=True)]),
        Property.array("tags", "STRING"),
        Property.array("people", "OBJECT", properties=[Property.string("name")]),
        Property.object_ref("home", "address"),
        Property.array_ref("homes", "address"),
    ],
    additional_properties=False,
)
OPEN = DataModel([Property.string("s")])


SEARCH = settings(phases=[Phase.generate], database=None, max_examples=2000)
"""find() settings for "can this be drawn at all": search, but do not spend time shrinking."""


def drawn(model: DataModel, condition: Any) -> Any:
    """The simplest payload of ``model`` for which ``condition`` holds (or NoSuchExample)."""
    strategy = payloads(model, definitions=DEFINITIONS, enumerations=ENUMERATIONS)
    return find(strategy, condition)


def violations(model: DataModel, payload: Any) -> list[tuple[str, str]]:
    """The (path, rule) of every violation of ``payload``."""
    validator = validator_for(model, DEFINITIONS, ENUMERATIONS)
    with pytest.raises(ValidationError) as caught:
        validator.validate(payload)
    return [(v.path, v.rule) for v in caught.value.violations]


@given(payloads(EVERYTHING, definitions=DEFINITIONS, enumerations=ENUMERATIONS))
def test_payloads_validate(payload: dict[str, Any]) -> None:
    """Every payload drawn for a model with every property type validates."""
    assert validator_for(EVERYTHING, DEFINITIONS, ENUMERATIONS).validate(payload) is None


def test_payloads_shrink_to_the_mandatory_minimum() -> None:
    """The simplest payload holds only the mandatory properties, with minimal values."""
    assert drawn(EVERYTHING, lambda p: True) == {"s": ""}


def test_payloads_include_optional_properties() -> None:
    """Optional properties are drawn too: a payload with all of them exists."""
    names = {p.name for p in EVERYTHING.properties}
    assert set(drawn(EVERYTHING, lambda p: set(p) == names)) == names


@pytest.mark.parametrize(
    ("name", "condition", "expected"),
    [
        ("n", lambda v: isinstance(v, float), 0.0),
        ("n", lambda v: isinstance(v, int), 0),
        ("b", lambda v: v is True, True),
        ("e", lambda v: v == "CC", "CC"),
        ("named", lambda v: v == "SENT", "SENT"),
        ("o", lambda v: True, {"x": 0}),
        ("tags", lambda v: len(v) == 2, ["", ""]),
        ("people", lambda v: len(v) == 1 and "name" in v[0], [{"name": ""}]),
        ("home", lambda v: True, {"street": ""}),
        ("homes", lambda v: len(v) == 1, [{"street": ""}]),
    ],
)
def test_payloads_cover_every_property_type(name: str, condition: Any, expected: Any) -> None:
    """Each property type is drawn, and shrinks to its simplest value."""
    payload = drawn(EVERYTHING, lambda p: name in p and condition(p[name]))
    assert payload[name] == expected


def test_payloads_of_an_open_model_carry_extra_keys() -> None:
    """A model that allows additional properties gets undeclared keys too."""
    payload = drawn(OPEN, lambda p: any(k != "s" for k in p))
    assert len(payload) == 1


def test_payloads_need_the_definitions_they_refer_to() -> None:
    """A reference that does not resolve fails when the strategy is built, naming it."""
    message = (
        "reference 'address' of property 'home' does not resolve (definitions: none); "
        "pass integration= (or definitions=)"
    )
    with pytest.raises(LookupError, match=exactly(message)):
        payloads(DataModel([Property.object_ref("home", "address")]))


def test_payloads_need_the_enumerations_they_name() -> None:
    """An enumeration name that does not resolve fails when the strategy is built."""
    message = (
        "enumeration 'status' of property 'e' does not resolve (enumerations: none); "
        "pass integration= (or enumerations=)"
    )
    with pytest.raises(LookupError, match=exactly(message)):
        payloads(DataModel([Property.enum("e", enumeration="status")]))


@given(invalid_payloads(EVERYTHING, definitions=DEFINITIONS, enumerations=ENUMERATIONS))
def test_invalid_payloads_have_exactly_the_promised_violation(
    case: tuple[Any, ExpectedViolation],
) -> None:
    """Each drawn invalid payload fails with exactly its expected violation."""
    payload, expected = case
    assert violations(EVERYTHING, payload) == [(expected.path, expected.rule)]


def only(prop: Property) -> DataModel:
    """A closed model holding just ``prop``."""
    return DataModel([prop], additional_properties=False)


@pytest.mark.parametrize(
    ("model", "rule", "pattern"),
    [
        (OPEN, "type", r"\$"),
        (OPEN, "type", r"\$\.s"),
        (only(Property.string("s", mandatory=True)), "required", r"\$\.s"),
        (only(Property.number("n")), "type", r"\$\.n"),
        (only(Property.enum("e", ["TO"])), "enum", r"\$\.e"),
        (only(Property.enum("named", enumeration="status")), "enum", r"\$\.named"),
        (
            only(Property.object("o", [Property.number("x", mandatory=True)])),
            "required",
            r"\$\.o\.x",
        ),
        (only(Property.array("tags", "STRING")), "type", r"\$\.tags\[\d\]"),
        (
            only(Property.array("people", "OBJECT", properties=[Property.string("name")])),
            "type",
            r"\$\.people\[\d\]\.name",
        ),
        (only(Property.object_ref("home", "address")), "required", r"\$\.home\.street"),
        (only(Property.array_ref("homes", "address")), "type", r"\$\.homes\[\d\]\.street"),
        (
            only(Property.array_ref("homes", "address")),
            "additionalProperties",
            r"\$\.homes\[\d\].+",
        ),
        (only(Property.string("s")), "additionalProperties", r"\$.+"),
    ],
)
def test_invalid_payloads_reach_every_rule_and_depth(
    model: DataModel, rule: str, pattern: str
) -> None:
    """Violations of each rule are drawn at the root, in nested objects, items and refs."""
    strategy = invalid_payloads(model, definitions=DEFINITIONS, enumerations=ENUMERATIONS)
    payload, expected = find(
        strategy,
        lambda case: case[1].rule == rule and re.fullmatch(pattern, case[1].path),
        settings=SEARCH,
    )
    assert violations(model, payload) == [(expected.path, rule)]


def test_invalid_payloads_shrink_to_a_small_example() -> None:
    """The simplest invalid payload is an empty object missing the first mandatory property."""
    strategy = invalid_payloads(EVERYTHING, definitions=DEFINITIONS, enumerations=ENUMERATIONS)
    assert find(strategy, lambda case: True) == ({}, ExpectedViolation("$.s", "required"))


def test_expected_violation_matches_a_violation() -> None:
    """ExpectedViolation.matches compares the path and the rule."""
    with pytest.raises(ValidationError) as caught:
        validator_for(EVERYTHING, DEFINITIONS, ENUMERATIONS).validate({})
    (actual,) = caught.value.violations
    assert (
        ExpectedViolation("$.s", "required").matches(actual),
        ExpectedViolation("$.s", "type").matches(actual),
    ) == (True, False)


SCENARIO = Scenario(
    "S",
    "s",
    headers=(
        Header("processInstanceId", mandatory=True),
        Header("jwt", mandatory=True, secret=True),
        Header("tenant"),
    ),
)


@given(headers(SCENARIO))
def test_headers_are_accepted_by_the_scenario(drawn_headers: dict[str, str]) -> None:
    """Drawn headers pass the scenario's header checks, encoded as UTF-8 bytes."""
    raw = [(name, value.encode()) for name, value in drawn_headers.items()]
    assert decode_headers(raw, SCENARIO.headers) == drawn_headers


def test_headers_shrink_to_the_mandatory_ones() -> None:
    """The simplest header set has the mandatory headers only, processInstanceId a number."""
    assert find(headers(SCENARIO), lambda h: True) == {"processInstanceId": "1", "jwt": ""}


def test_headers_always_carry_a_process_instance_id() -> None:
    """ProcessInstanceId is drawn even for a scenario that does not declare it."""
    assert find(headers(Scenario("S", "s", headers=())), lambda h: True) == {
        "processInstanceId": "1"
    }


def test_headers_include_optional_and_engine_headers() -> None:
    """Optional declared headers and the engine's headers are drawn too."""
    wanted = {"tenant", "processInstanceUuid", "callbacksForAction"}
    assert wanted <= set(find(headers(SCENARIO), lambda h: wanted <= set(h)))


@given(st.data())
def test_enumeration_objects_can_feed_enumerations(data: st.DataObject) -> None:
    """An integration's enumerations, as name -> values, resolve named ENUMs."""
    enumeration = Enumeration("status", ["QUEUED", "SENT"])
    model = DataModel([Property.enum("e", enumeration="status", mandatory=True)])
    payload = data.draw(payloads(model, enumerations={enumeration.name: enumeration.values}))
    assert payload["e"] in enumeration.values


def test_strategies_module_exports_documented_names() -> None:
    """The strategies module exports its strategies and helpers, each with a docstring."""
    from flowintegrations.testing import strategies  # noqa: PLC0415 - the module under test

    expected = [
        "ENGINE_HEADERS",
        "ExpectedViolation",
        "catalogs",
        "data_models",
        "headers",
        "integrations",
        "invalid_payloads",
        "payloads",
    ]
    undocumented = [
        name
        for name in strategies.__all__
        if callable(getattr(strategies, name)) and not getattr(strategies, name).__doc__
    ]
    assert (strategies.__all__, undocumented) == (expected, [])
