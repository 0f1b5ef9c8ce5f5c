"""Payload dicts <-> Flow typed values: exact both ways, strict when reading."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from flowintegrations import Integration, PropertyType, Scenario
from flowintegrations.flow import (
    ContentType,
    FlowValueError,
    Shape,
    build_actions,
    engine_values,
    payload_from_values,
)
from flowintegrations.flow.values import iter_content_values
from flowintegrations.testing import strategies
from support.flow_adapters import KITCHEN

ECHO = build_actions([(KITCHEN, KITCHEN.scenario("echo"))], date_time_properties={"when"})[0][
    0
].inputs


def wire(values: Any) -> Any:
    """``values`` as they come back from the wire (JSON text and back)."""
    return json.loads(json.dumps(values))


def value(name: str, content_type: str, content: Any, **extra: Any) -> dict[str, Any]:
    """A typed value as Flow sends it."""
    return {"developerName": name, "contentType": content_type, "contentValue": content, **extra}


def read_error(values: Any, shape: Shape = ECHO) -> list[tuple[str, str]]:
    """(path, message) of every problem reading ``values``."""
    with pytest.raises(FlowValueError) as caught:
        payload_from_values(shape, values)
    return [(v.path, v.message) for v in caught.value.violations]


def test_an_int_travels_as_its_digits_and_comes_back_an_int() -> None:
    """NUMBER 2 is "2" on the wire and 2 (an int) again after reading."""
    values = engine_values(ECHO, {"text": "", "count": 2})
    assert values[1]["contentValue"] == "2"
    read = payload_from_values(ECHO, wire(values))
    assert read == {"text": "", "count": 2}
    assert type(read["count"]) is int


def test_a_float_travels_without_noise() -> None:
    """0.5 is "0.5", 0.1 is "0.1", and 2.0 stays the float 2.0."""
    texts = [engine_values(ECHO, {"ratio": n})[0]["contentValue"] for n in (0.5, 0.1, 2.0)]
    assert texts == ["0.5", "0.1", "2.0"]
    assert (
        type(payload_from_values(ECHO, [value("ratio", "ContentNumber", "2.0")])["ratio"]) is float
    )


def test_a_boolean_is_true_or_false_text_never_a_number() -> None:
    """BOOLEAN true is "true"; a ContentNumber "1" for it is refused."""
    assert engine_values(ECHO, {"flag": True})[0]["contentValue"] == "true"
    assert read_error([value("flag", "ContentNumber", "1")]) == [
        ("$.flag", "property 'flag' is ContentBoolean, got contentType 'ContentNumber'")
    ]


def test_text_that_is_not_a_number_is_refused_as_a_content_number() -> None:
    """Text "abc" as a ContentNumber is a problem at its path, with the offending text."""
    assert read_error([value("count", "ContentNumber", "abc")]) == [
        ("$.count", "a ContentNumber is decimal text like '2' or '0.5', got 'abc'")
    ]


def test_non_finite_numbers_are_refused() -> None:
    """NaN, Infinity and overflowing exponents are not numbers Flow can send."""
    problems = read_error(
        [value("count", "ContentNumber", "NaN"), value("ratio", "ContentNumber", "1e999")]
    )
    assert [path for path, _ in problems] == ["$.count", "$.ratio"]


def test_a_date_time_property_is_a_content_date_time() -> None:
    """A STRING named in date_time_properties is described and sent as ContentDateTime."""
    values = engine_values(ECHO, {"when": "2026-11-22T15:00:00.000Z"})
    assert values[0]["contentType"] == ContentType.DATE_TIME.value
    assert payload_from_values(ECHO, wire(values)) == {"when": "2026-11-22T15:00:00.000Z"}


def test_a_malformed_date_time_is_refused() -> None:
    """A ContentDateTime that is not ISO 8601 is a problem at its path."""
    assert read_error([value("when", "ContentDateTime", "yesterday")]) == [
        ("$.when", "a ContentDateTime is an ISO 8601 date-time, got 'yesterday'")
    ]


def test_an_array_of_scalars_becomes_a_list_of_item_objects() -> None:
    """["a", "b"] is a ContentList of two 'Item (String)' objects whose value is the item."""
    (tags,) = engine_values(ECHO, {"tags": ["a", "b"]})
    assert tags["contentType"] == "ContentList"
    assert [o["developerName"] for o in tags["objectData"]] == ["Item (String)"] * 2
    assert [o["properties"][0]["contentValue"] for o in tags["objectData"]] == ["a", "b"]
    assert payload_from_values(ECHO, wire([tags])) == {"tags": ["a", "b"]}


def test_nested_objects_and_references_round_trip() -> None:
    """OBJECT in OBJECT, OBJECT_REF and ARRAY_REF come back exactly."""
    payload = {
        "box": {"label": "x", "inner": {"n": 1}},
        "home": {"street": "Main", "number": 0.25},
        "places": [{"street": "A"}, {"street": "B", "number": -3}],
        "items": [],
    }
    assert payload_from_values(ECHO, wire(engine_values(ECHO, payload))) == payload


def test_an_object_holds_every_property_of_its_type_absent_ones_null() -> None:
    """Inside an object an absent property is sent with a null contentValue."""
    (home,) = engine_values(ECHO, {"home": {"street": "Main"}})
    properties = home["objectData"][0]["properties"]
    assert [(p["developerName"], p["contentValue"]) for p in properties] == [
        ("street", "Main"),
        ("number", None),
    ]


def test_every_content_value_is_a_string_or_null() -> None:
    """No number, boolean or object is ever a contentValue."""
    payload = {"text": "t", "count": 1, "flag": False, "scores": [1, 2.5], "box": {"label": "l"}}
    contents = list(iter_content_values(engine_values(ECHO, payload)))
    assert all(c is None or isinstance(c, str) for c in contents)


def test_a_content_object_with_two_objects_is_refused() -> None:
    """A ContentObject holds exactly one object."""
    box = {"developerName": "echo request box", "properties": []}
    problems = read_error([value("box", "ContentObject", None, objectData=[box, box])])
    assert problems == [("$.box", "a ContentObject holds one object, got 2 in objectData")]


def test_a_non_string_content_value_is_refused() -> None:
    """A contentValue is a string or null, never a JSON number."""
    assert read_error([value("text", "ContentString", 5)]) == [
        ("$.text", "a contentValue is a string or null, got a number")
    ]


def test_values_that_are_not_a_list_are_refused() -> None:
    """Inputs must be a list of typed values."""
    assert read_error({"text": "x"}) == [("$", "expected a list of values, got an object")]


def test_every_problem_is_reported_at_once() -> None:
    """Two bad values give two problems, each at its own path (nested ones too)."""
    home = {"properties": [value("number", "ContentNumber", "x1")]}
    problems = read_error(
        [
            value("flag", "ContentBoolean", "yes"),
            value("home", "ContentObject", None, objectData=[home]),
        ]
    )
    assert [path for path, _ in problems] == ["$.flag", "$.home.number"]


def test_hostile_names_and_text_are_read_as_data() -> None:
    """Quotes, newlines, markup and line separators in names and values are only data."""
    hostile = "'\"\n</script>\u2028"
    read = payload_from_values(
        ECHO, [value("text", "ContentString", hostile), value(hostile, "ContentString", "x")]
    )
    assert read == {"text": hostile, hostile: "x"}


def test_a_lone_surrogate_is_refused() -> None:
    """A value no UTF-8 answer could carry is a problem at its path, not a later crash."""
    assert read_error([value("text", "ContentString", "a\ud800")]) == [
        ("$.text", "a contentValue must be valid Unicode (a lone surrogate is not)")
    ]


def test_deep_nesting_is_refused() -> None:
    """Objects nested past the limit are a problem, not a crash."""
    nested: dict[str, Any] = {"properties": []}
    for _ in range(100):
        nested = {"properties": [value("o", "ContentObject", None, objectData=[nested])]}
    problems = read_error([value("box", "ContentObject", None, objectData=[nested])])
    assert problems[0][1] == "objects nest deeper than 64 levels"


def _empty_enum_value(properties: Any) -> bool:
    """Whether an ENUM among ``properties`` (nested ones too) has the value ``""``."""
    return any(
        (p.type is PropertyType.ENUM and "" in (p.enum or ())) or _empty_enum_value(p.properties)
        for p in properties
    )


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_valid_payload_round_trips_exactly(data: st.DataObject) -> None:
    """Payload -> Flow values -> JSON -> payload is the identity for declared properties.

    An undeclared top-level key comes back as its JSON text: an EngineValue has no
    contentFormat to say the text is JSON (nested ones keep it and round trip exactly).
    """
    definitions = {"address": KITCHEN.definitions["address"]}
    model = data.draw(strategies.data_models(definitions=definitions, max_depth=2))
    # The engine sends "" for every unset property, so an ENUM value "" reads as unset.
    assume(not _empty_enum_value(model.properties))
    integration = Integration(
        "g", "g", definitions=definitions, scenarios=(Scenario("s", "s", output_model=model),)
    )
    (action,), _ = build_actions([(integration, integration.scenarios[0])])
    payload = data.draw(strategies.payloads(model, definitions=definitions))
    values = engine_values(action.inputs, payload)
    assert all(c is None or isinstance(c, str) for c in iter_content_values(values))
    back = payload_from_values(action.inputs, wire(values))
    declared = action.inputs.by_name
    expected = {
        k: v if k in declared else json.dumps(v, ensure_ascii=False, allow_nan=False)
        for k, v in payload.items()
    }
    assert back == expected
    assert payload_from_values(action.inputs, wire(values), check_unicode=False) == expected
    assert json.dumps(back, sort_keys=True) == json.dumps(expected, sort_keys=True)


def test_the_engines_empty_text_is_absent_for_every_property_but_a_string() -> None:
    """An empty text for a number, boolean, enum or date-time is unset; a STRING keeps it."""
    sent = [
        value("text", "ContentString", ""),
        value("count", "ContentNumber", ""),
        value("flag", "ContentBoolean", ""),
        value("color", "ContentString", ""),
        value("when", "ContentDateTime", ""),
    ]
    assert payload_from_values(ECHO, sent) == {"text": ""}
    assert payload_from_values(ECHO, sent, check_unicode=False) == {"text": ""}


def test_content_types_ignore_case() -> None:
    """'contentnumber' reads as ContentNumber, as Java's ContentType.forValue does."""
    sent = [value("count", "contentnumber", "3"), value("text", "CONTENTSTRING", "t")]
    assert payload_from_values(ECHO, sent) == {"count": 3, "text": "t"}


@pytest.mark.parametrize(("odd", "shown"), [({"a": 1}, "an object"), (["x"], "an array")])
def test_a_content_type_that_is_not_text_is_refused_not_a_crash(odd: Any, shown: str) -> None:
    """A contentType that is an object or a list is a problem at its path (was a 500)."""
    assert read_error([value("text", odd, "t")]) == [
        ("$.text", f"property 'text' is ContentString, got contentType {shown}")
    ]


@pytest.mark.parametrize(("odd", "shown"), [({"a": 1}, "an object"), (["x"], "an array")])
def test_an_undeclared_value_whose_content_type_is_not_text_is_refused(
    odd: Any, shown: str
) -> None:
    """A value of no declared name, its contentType an object or list: a problem (was a 500)."""
    assert read_error([value("zz", odd, "t")]) == [("$.zz", f"unknown contentType {shown}")]


def test_objects_answered_carry_no_invented_internal_id() -> None:
    """Objects written for Flow have internalId null (the platform's to give), not a UUID."""
    (box,) = [
        v for v in engine_values(ECHO, {"box": {"label": "l"}}) if v["developerName"] == "box"
    ]
    assert box["objectData"][0]["internalId"] is None


def test_property_and_engine_value_keys_are_the_platforms() -> None:
    """An object's Property has contentFormat; an EngineValue has typeElementDeveloperName."""
    (box,) = engine_values(ECHO, {"box": {"label": "l"}})
    assert sorted(box) == [
        "contentType",
        "contentValue",
        "developerName",
        "objectData",
        "typeElementDeveloperName",
    ]
    assert sorted(box["objectData"][0]["properties"][0]) == [
        "contentFormat",
        "contentType",
        "contentValue",
        "developerName",
        "objectData",
    ]
