"""Validating payloads: exact type rules, every violation with its JSON path, compiled once."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from flowintegrations import (
    DataModel,
    Integration,
    Property,
    Scenario,
    ValidationError,
    Violation,
)
from flowintegrations.model import Enumeration, FrozenDict
from flowintegrations.validation import Validator, scenario_validators, validator_for
from support.exact import exactly

SCALARS = DataModel(
    [
        Property.string("s"),
        Property.number("n"),
        Property.boolean("b"),
        Property.enum("e", ["TO", "CC"]),
    ]
)

EMAIL = DataModel(
    [
        Property.string("templateName", mandatory=True),
        Property.array(
            "recipients",
            "OBJECT",
            mandatory=True,
            properties=[
                Property.string("email", mandatory=True),
                Property.enum("kind", ["TO", "CC", "BCC"]),
            ],
        ),
        Property.object("data", [Property.object("customer", [Property.string("name")])]),
        Property.array("tags", "STRING"),
    ],
    additional_properties=False,
)

ADDRESS = DataModel([Property.string("street", mandatory=True)], additional_properties=False)
DEFINITIONS = {"address": ADDRESS}


def violations_of(model: DataModel, payload: Any, **names: Any) -> tuple[Violation, ...]:
    """The violations ``model.validate(payload)`` raises."""
    with pytest.raises(ValidationError) as caught:
        model.validate(payload, **names)
    return caught.value.violations


def test_valid_payload_passes() -> None:
    """A payload that matches the model validates without error."""
    payload = {
        "templateName": "welcome",
        "recipients": [{"email": "ana@example.com", "kind": "TO"}, {"email": "bo@example.com"}],
        "data": {"customer": {"name": "Ana"}},
        "tags": [],
    }
    assert EMAIL.validate(payload) is None


@pytest.mark.parametrize("value", [0, -1, 1.5, 10**30, 0.0])
def test_number_accepts_numbers(value: float) -> None:
    """NUMBER accepts any JSON number, integer or not."""
    assert SCALARS.validate({"n": value}) is None


@pytest.mark.parametrize(("value", "shown"), [(True, "true"), (False, "false")])
def test_number_rejects_booleans(value: bool, shown: str) -> None:
    """NUMBER rejects true and false although Python counts them as ints."""
    expected = (Violation("$.n", "type", f"must be a number, got {shown}", value),)
    assert violations_of(SCALARS, {"n": value}) == expected


@pytest.mark.parametrize("value", [0, 1])
def test_boolean_rejects_zero_and_one(value: int) -> None:
    """BOOLEAN rejects 0 and 1: only true and false are booleans."""
    expected = (Violation("$.b", "type", f"must be a boolean, got {value}", value),)
    assert violations_of(SCALARS, {"b": value}) == expected


@pytest.mark.parametrize("value", [True, False])
def test_boolean_accepts_true_and_false(value: bool) -> None:
    """BOOLEAN accepts true and false."""
    assert SCALARS.validate({"b": value}) is None


def test_string_rejects_null() -> None:
    """STRING rejects null."""
    assert violations_of(SCALARS, {"s": None}) == (
        Violation("$.s", "type", "must be a string, got null", None),
    )


def test_enum_rejects_an_unknown_value() -> None:
    """ENUM rejects a value that is not one of its values, and lists them."""
    expected = (Violation("$.e", "enum", "must be one of 'TO', 'CC'; got 'BCC'", "BCC"),)
    assert violations_of(SCALARS, {"e": "BCC"}) == expected


def test_enum_rejects_a_non_string() -> None:
    """ENUM rejects a value that is not a string as a type violation."""
    expected = (Violation("$.e", "type", "must be a string, got 1", 1),)
    assert violations_of(SCALARS, {"e": 1}) == expected


def test_enum_accepts_its_values() -> None:
    """ENUM accepts each of its values."""
    assert [SCALARS.validate({"e": v}) for v in ("TO", "CC")] == [None, None]


def test_named_enumeration_is_enforced() -> None:
    """An ENUM naming an enumeration accepts exactly the enumeration's values."""
    model = DataModel([Property.enum("status", enumeration="deliveryStatus")])
    names = {"enumerations": {"deliveryStatus": ("QUEUED", "SENT")}}
    expected = (Violation("$.status", "enum", "must be one of 'QUEUED', 'SENT'; got 'X'", "X"),)
    assert (
        model.validate({"status": "SENT"}, **names),
        violations_of(model, {"status": "X"}, **names),
    ) == (
        None,
        expected,
    )


def test_enumeration_values_may_be_lists() -> None:
    """Enumeration values given as lists work as tuples do (and share one validator)."""
    model = DataModel([Property.enum("status", enumeration="deliveryStatus")])
    as_list = validator_for(model, enumerations={"deliveryStatus": ["QUEUED"]})
    as_tuple = validator_for(model, enumerations={"deliveryStatus": ("QUEUED",)})
    assert (as_list is as_tuple, as_list.is_valid({"status": "QUEUED"})) == (True, True)


def test_named_enumeration_without_enumerations_is_a_lookup_error() -> None:
    """Validating a model whose enumeration is not given fails loudly, not on every value."""
    model = DataModel([Property.enum("status", enumeration="deliveryStatus")])
    message = (
        "enumeration 'deliveryStatus' of property 'status' does not resolve (enumerations: none)"
    )
    with pytest.raises(LookupError, match=exactly(message)):
        model.validate({"status": "SENT"})


def test_closed_model_rejects_extra_properties() -> None:
    """additional_properties=False rejects a key the model does not declare."""
    payload = {"templateName": "t", "recipients": [], "cc": "x"}
    expected = (Violation("$.cc", "additionalProperties", "is not a property of this model", "x"),)
    assert violations_of(EMAIL, payload) == expected


def test_open_model_accepts_extra_properties() -> None:
    """additional_properties=True (the default) accepts undeclared keys."""
    assert SCALARS.validate({"anything": [1, {"x": None}]}) is None


def test_closed_model_rejects_extra_properties_in_nested_objects() -> None:
    """A nested OBJECT of a closed model rejects undeclared keys too."""
    payload = {"templateName": "t", "recipients": [], "data": {"customer": {"age": 3}}}
    expected = (
        Violation(
            "$.data.customer.age", "additionalProperties", "is not a property of this model", 3
        ),
    )
    assert violations_of(EMAIL, payload) == expected


def test_missing_mandatory_property() -> None:
    """A missing mandatory property is a 'required' violation at its path, with no value."""
    expected = (Violation("$.recipients", "required", "is mandatory but missing", None),)
    assert violations_of(EMAIL, {"templateName": "t"}) == expected


def test_array_item_path() -> None:
    """A violation inside an array of objects names the item's index."""
    payload = {
        "templateName": "t",
        "recipients": [{"email": "a"}, {"email": "b"}, {"kind": "TO"}],
    }
    expected = (Violation("$.recipients[2].email", "required", "is mandatory but missing"),)
    assert violations_of(EMAIL, payload) == expected


def test_array_of_scalars_item_type() -> None:
    """Each item of an ARRAY of STRING is a string."""
    payload = {"templateName": "t", "recipients": [], "tags": ["a", 2]}
    assert violations_of(EMAIL, payload) == (
        Violation("$.tags[1]", "type", "must be a string, got 2", 2),
    )


def test_array_must_be_an_array() -> None:
    """An ARRAY property rejects an object."""
    payload = {"templateName": "t", "recipients": {}}
    assert violations_of(EMAIL, payload) == (
        Violation("$.recipients", "type", "must be an array, got an object", {}),
    )


def test_payload_must_be_an_object() -> None:
    """The root of a payload is an object."""
    assert violations_of(SCALARS, []) == (
        Violation("$", "type", "must be an object, got an array", []),
    )


def test_every_violation_is_collected() -> None:
    """The error path reports every violation, in payload order, not only the first."""
    payload = {
        "recipients": [{"email": 1, "kind": "X"}, "not an object"],
        "data": {"customer": []},
        "extra": None,
    }
    expected = (
        Violation("$.templateName", "required", "is mandatory but missing"),
        Violation("$.recipients[0].email", "type", "must be a string, got 1", 1),
        Violation("$.recipients[0].kind", "enum", "must be one of 'TO', 'CC', 'BCC'; got 'X'", "X"),
        Violation(
            "$.recipients[1]", "type", "must be an object, got 'not an object'", "not an object"
        ),
        Violation("$.data.customer", "type", "must be an object, got an array", []),
        Violation("$.extra", "additionalProperties", "is not a property of this model", None),
    )
    assert violations_of(EMAIL, payload) == expected


def test_error_message_lists_every_violation() -> None:
    """The ValidationError message lists each violation's path and sentence."""
    message = (
        "invalid payload (2 violations):\n"
        "  $.templateName: is mandatory but missing\n"
        "  $.recipients: is mandatory but missing"
    )
    with pytest.raises(ValidationError, match=exactly(message)):
        EMAIL.validate({})


def test_validation_error_is_a_value_error() -> None:
    """Code that knows nothing of this library can catch a ValidationError as a ValueError."""
    with pytest.raises(
        ValueError, match=exactly("invalid payload (1 violation):\n  $.s: must be a string, got 1")
    ):
        SCALARS.validate({"s": 1})


def test_keys_that_are_not_identifiers_are_quoted_in_paths() -> None:
    """A key like 'e-mail' or "it's" appears as $['e-mail'] in a path."""
    model = DataModel([Property.string("e-mail"), Property.string("it's")])
    expected = (
        Violation("$['e-mail']", "type", "must be a string, got 1", 1),
        Violation("$['it\\'s']", "type", "must be a string, got 2", 2),
    )
    assert violations_of(model, {"e-mail": 1, "it's": 2}) == expected


def test_long_values_are_shortened_in_messages() -> None:
    """A long offending value is cut in the message (the Violation keeps it whole)."""
    value = 10**100
    (violation,) = violations_of(SCALARS, {"s": value})
    assert (violation.message, violation.value) == (
        f"must be a string, got {str(value)[:57]}...",
        value,
    )


def test_violation_to_json_leaves_the_value_out() -> None:
    """Violation.to_json has the path, rule and message only."""
    violation = Violation("$.a", "type", "must be a string, got 1", 1)
    assert violation.to_json() == {
        "path": "$.a",
        "rule": "type",
        "message": "must be a string, got 1",
    }


# References --------------------------------------------------------------------------------


def test_object_ref_is_validated_against_its_definition() -> None:
    """An OBJECT_REF value follows its definition, with the definition's own rules."""
    model = DataModel([Property.object_ref("home", "address")])
    expected = (
        Violation("$.home.street", "required", "is mandatory but missing"),
        Violation("$.home.zip", "additionalProperties", "is not a property of this model", 1),
    )
    assert violations_of(model, {"home": {"zip": 1}}, definitions=DEFINITIONS) == expected


def test_array_ref_items_are_validated_against_the_definition() -> None:
    """Each ARRAY_REF item follows the definition; the path names the item."""
    model = DataModel([Property.array_ref("homes", "address")])
    payload = {"homes": [{"street": "a"}, {"street": 5}]}
    expected = (Violation("$.homes[1].street", "type", "must be a string, got 5", 5),)
    assert violations_of(model, payload, definitions=DEFINITIONS) == expected


def test_nested_references_resolve() -> None:
    """A definition may refer to another definition."""
    person = DataModel([Property.object_ref("home", "address", mandatory=True)])
    model = DataModel([Property.array("people", "OBJECT_REF", ref="person")])
    definitions = {"address": ADDRESS, "person": person}
    payload = {"people": [{"home": {"street": "a"}}, {"home": {}}]}
    expected = (Violation("$.people[1].home.street", "required", "is mandatory but missing"),)
    assert violations_of(model, payload, definitions=definitions) == expected


def test_definition_named_like_a_url_is_never_fetched() -> None:
    """A definition called like a remote URL is a local $ref: it validates without any fetch."""
    name = "http://127.0.0.1:9/schema.json#"
    model = DataModel([Property.object_ref("x", name)])
    validator = validator_for(model, {name: ADDRESS})
    assert (validator.schema["properties"]["x"], validator.is_valid({"x": {"street": "a"}})) == (
        {"$ref": "#/definitions/d0"},
        True,
    )


# Purity and caching -----------------------------------------------------------------------


def test_valid_payload_is_not_mutated() -> None:
    """Validation never fills defaults or changes a valid payload."""
    payload: dict[str, Any] = {"templateName": "t", "recipients": [{"email": "a"}], "data": {}}
    before = copy.deepcopy(payload)
    EMAIL.validate(payload)
    assert payload == before


def test_invalid_payload_is_not_mutated() -> None:
    """Collecting violations does not change the payload either."""
    payload: dict[str, Any] = {"recipients": [{"kind": "X"}], "data": {"customer": {}}, "x": 1}
    before = copy.deepcopy(payload)
    with pytest.raises(ValidationError):
        EMAIL.validate(payload)
    assert payload == before


def test_validator_is_compiled_once_per_model() -> None:
    """validator_for returns the same compiled validator for equal models."""
    first = DataModel([Property.string("cached-once", mandatory=True)])
    second = DataModel([Property.string("cached-once", mandatory=True)])
    assert validator_for(first) is validator_for(second)


def test_validator_cache_is_per_definitions() -> None:
    """Different definitions give different validators for the same model."""
    model = DataModel([Property.object_ref("x", "d")])
    closed = validator_for(model, {"d": ADDRESS})
    open_ = validator_for(model, {"d": DataModel([Property.string("street")])})
    assert (closed is open_, closed.is_valid({"x": {}}), open_.is_valid({"x": {}})) == (
        False,
        False,
        True,
    )


def test_validator_cache_takes_any_mapping() -> None:
    """A dict of definitions and an equal FrozenDict share one validator."""
    model = DataModel([Property.object_ref("x", "address")])
    assert validator_for(model, {"address": ADDRESS}) is validator_for(
        model, FrozenDict({"address": ADDRESS})
    )


def test_is_valid() -> None:
    """is_valid answers the compiled check alone."""
    validator = Validator(SCALARS)
    assert (validator.is_valid({"n": 1}), validator.is_valid({"n": "1"})) == (True, False)


def test_violations_of_a_valid_payload_are_empty() -> None:
    """violations() of a valid payload is an empty tuple."""
    assert Validator(EMAIL).violations({"templateName": "t", "recipients": []}) == ()


def test_validator_subject_names_what_is_invalid() -> None:
    """A validator's subject is the noun of its error message."""
    validator = Validator(SCALARS, subject="reply")
    message = "invalid reply (1 violation):\n  $.b: must be a boolean, got 1"
    with pytest.raises(ValidationError, match=exactly(message)):
        validator.validate({"b": 1})


def test_scenario_validators_are_output_then_input_model() -> None:
    """The request validator checks the output model, the reply validator the input model."""
    scenario = Scenario(
        "S",
        "s",
        output_model=DataModel([Property.string("question")]),
        input_model=DataModel([Property.enum("status", enumeration="status")]),
    )
    integration = Integration(
        "N", "n", scenarios=[scenario], enumerations=[Enumeration("status", ["OK"])]
    )
    request, reply = scenario_validators(integration, scenario)
    actual = (
        request.model,
        reply.model,
        reply.is_valid({"status": "OK"}),
        reply.is_valid({"status": "KO"}),
    )
    assert actual == (scenario.output_model, scenario.input_model, True, False)
