"""The one payload walker: the type rules, one wording for payloads and examples alike."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs
import pytest

from flowintegrations import (
    CatalogError,
    DataModel,
    Integration,
    Property,
    Scenario,
    ValidationError,
    Violation,
)
from flowintegrations.errors import CatalogProblem
from flowintegrations.model.checks import model_example_problems
from flowintegrations.validation.walker import (
    Scope,
    is_json_type,
    model_violations,
    property_violations,
)

ADDRESS = DataModel([Property.string("street", mandatory=True)], additional_properties=False)
DEFINITIONS = {"address": ADDRESS}

BAD_VALUES = [
    (Property.number("p"), True),
    (Property.boolean("p"), 0),
    (Property.string("p"), 7),
    (Property.enum("p", ["A", "B"]), "C"),
    (Property.enum("p", ["A", "B"]), 5),
    (Property.array("p", "NUMBER"), [1, "2"]),
    (Property.object("p", [Property.string("q", mandatory=True)]), {}),
    (Property.object_ref("p", "address"), {"street": 1, "city": "Cluj"}),
]


@pytest.mark.parametrize(("prop", "value"), BAD_VALUES)
def test_an_example_is_reported_in_the_words_of_the_validator(prop: Property, value: Any) -> None:
    """A bad example and the same value in a payload get the same paths and messages."""
    with pytest.raises(ValidationError) as caught:
        DataModel([prop]).validate({"p": value}, definitions=DEFINITIONS)
    with pytest.raises(CatalogError) as rejected:
        _integration_with_example(prop, value)
    as_payload = [
        (v.path.removeprefix("$.p"), f"example does not match property 'p': {v.message}")
        for v in caught.value.violations
    ]
    as_example = [(p.path.partition(".example")[2], p.message) for p in rejected.value.problems]
    assert as_payload == as_example


def _integration_with_example(prop: Property, value: Any) -> Integration:
    """An integration whose one request model has ``prop`` with ``value`` as its example."""
    scenario = Scenario("S", "s", output_model=DataModel([attrs.evolve(prop, example=value)]))
    return Integration("N", "n", definitions=DEFINITIONS, scenarios=[scenario])


def test_a_lone_property_checks_a_named_enumeration_for_shape_only() -> None:
    """Alone, an ENUM naming an enumeration accepts any string and rejects anything else."""
    prop = Property.enum("p", enumeration="state")
    assert property_violations(prop, "ANY") == ()
    expected = (Violation("$", "type", "must be a string, got 5", 5),)
    assert expected == property_violations(prop, 5)


def test_a_lone_reference_is_checked_for_shape_only() -> None:
    """Alone, an OBJECT_REF accepts any object and rejects anything else."""
    prop = Property.object_ref("p", "address")
    assert property_violations(prop, {"street": 1}) == ()
    expected = (Violation("$", "type", "must be an object, got an array", []),)
    assert expected == property_violations(prop, [])


def test_a_known_reference_is_walked_with_its_own_additional_properties() -> None:
    """A reference that resolves follows its definition, closed even in an open model."""
    prop = Property.array_ref("p", "address")
    expected = (
        Violation("$[0].street", "required", "is mandatory but missing"),
        Violation("$[0].city", "additionalProperties", "is not a property of this model", "C"),
    )
    found = property_violations(prop, [{"city": "C"}], additional=True, scope=Scope(DEFINITIONS))
    assert expected == found


def test_unknown_additional_properties_are_not_checked() -> None:
    """When the model's additional_properties is not known, unknown keys pass."""
    prop = Property.object("p", [Property.string("q")])
    assert property_violations(prop, {"other": 1}) == ()


def test_an_object_lists_missing_properties_first_then_in_model_order() -> None:
    """At each object: missing mandatory ones, declared ones in model order, unknown keys."""
    model = DataModel(
        [Property.number("a"), Property.string("b", mandatory=True), Property.boolean("c")],
        additional_properties=False,
    )
    expected = (
        Violation("$.b", "required", "is mandatory but missing"),
        Violation("$.a", "type", "must be a number, got 'x'", "x"),
        Violation("$.c", "type", "must be a boolean, got null", None),
        Violation("$.z", "additionalProperties", "is not a property of this model", 0),
    )
    assert expected == model_violations(model, {"z": 0, "c": None, "a": "x"})


def test_paths_start_where_the_caller_says() -> None:
    """property_violations prefixes every path with the path it is given."""
    prop = Property.array("tags", "STRING")
    expected = (Violation("$.example[1]", "type", "must be a string, got 2", 2),)
    assert expected == property_violations(prop, ["a", 2], "$.example")


@pytest.mark.parametrize(
    ("json_type", "value", "expected"),
    [
        ("number", True, False),
        ("number", 1.5, True),
        ("boolean", 1, False),
        ("array", (1, 2), True),
        ("object", [], False),
        ("string", "", True),
    ],
)
def test_json_types_follow_fastjsonschema(json_type: str, value: Any, expected: bool) -> None:
    """A boolean is never a number, a tuple is an array, as in the compiled validator."""
    assert is_json_type(json_type, value) is expected


def test_the_model_checks_examples_with_the_check_passed_in() -> None:
    """model_example_problems runs the given check on every example, with its scope."""
    calls: list[tuple[str, str, bool | None]] = []

    def recording(
        prop: Property,
        path: str,
        *,
        additional: bool | None = None,
        definitions: Mapping[str, DataModel] | None = None,
        enumerations: Mapping[str, Sequence[str]] | None = None,
    ) -> Iterator[CatalogProblem]:
        calls.append((prop.name, path, additional))
        return iter(())

    properties = (Property.object("o", [Property.number("n", example=1)]),)
    problems = list(
        model_example_problems(properties, "$.properties", additional=False, check=recording)
    )
    assert (problems, calls) == ([], [("n", "$.properties[0].properties[0].example", False)])


def test_importing_only_the_model_still_checks_examples() -> None:
    """A fresh interpreter that imports only the model gets examples checked by the walker."""
    code = (
        "from flowintegrations.model.datamodel import Property\n"
        "try:\n"
        "    Property.number('n', example=True)\n"
        "except ValueError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    expected = "$.example: example does not match property 'n': must be a number, got true\n"
    assert done.stdout == expected
