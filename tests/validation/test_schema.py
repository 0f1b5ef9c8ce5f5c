"""DataModel -> JSON Schema draft-07: a pure, deterministic function."""

from __future__ import annotations

import json

import fastjsonschema
import pytest

from flowintegrations import DataModel, Property
from flowintegrations.validation import DRAFT_07, to_json_schema, validation_schema
from support.exact import exactly

ADDRESS = DataModel([Property.string("street", mandatory=True)], additional_properties=False)


def test_scalar_types() -> None:
    """STRING, NUMBER and BOOLEAN become the JSON Schema types string, number and boolean."""
    model = DataModel([Property.string("s"), Property.number("n"), Property.boolean("b")])
    expected = {
        "$schema": DRAFT_07,
        "type": "object",
        "properties": {
            "s": {"type": "string"},
            "n": {"type": "number"},
            "b": {"type": "boolean"},
        },
        "additionalProperties": True,
    }
    assert to_json_schema(model) == expected


def test_mandatory_properties_are_required() -> None:
    """Mandatory properties are listed under required, in declaration order."""
    model = DataModel(
        [
            Property.string("b", mandatory=True),
            Property.string("c"),
            Property.number("a", mandatory=True),
        ]
    )
    assert to_json_schema(model)["required"] == ["b", "a"]


def test_description_and_example_are_annotations() -> None:
    """A property's description and example become description and examples."""
    model = DataModel([Property.number("length", description="Digits.", example=6)])
    expected = {"type": "number", "description": "Digits.", "examples": [6]}
    assert to_json_schema(model)["properties"]["length"] == expected


def test_enum_values() -> None:
    """An ENUM is a string limited to its values."""
    model = DataModel([Property.enum("kind", ["TO", "CC"])])
    assert to_json_schema(model)["properties"]["kind"] == {"type": "string", "enum": ["TO", "CC"]}


def test_named_enumeration_is_resolved() -> None:
    """An ENUM naming an enumeration takes the enumeration's values."""
    model = DataModel([Property.enum("status", enumeration="deliveryStatus")])
    schema = to_json_schema(model, enumerations={"deliveryStatus": ("QUEUED", "SENT")})
    assert schema["properties"]["status"] == {"type": "string", "enum": ["QUEUED", "SENT"]}


def test_unresolved_enumeration_is_a_lookup_error() -> None:
    """An enumeration name that does not resolve is a LookupError, not an empty enum."""
    model = DataModel([Property.enum("status", enumeration="state")])
    message = (
        "enumeration 'state' of property 'status' does not resolve (enumerations: 'deliveryStatus')"
    )
    with pytest.raises(LookupError, match=exactly(message)):
        to_json_schema(model, enumerations={"deliveryStatus": ("QUEUED",)})


def test_nested_object_follows_the_model_additional_properties() -> None:
    """A nested OBJECT allows additional properties exactly when its model does."""
    model = DataModel(
        [Property.object("o", [Property.string("x", mandatory=True)])], additional_properties=False
    )
    expected = {
        "type": "object",
        "properties": {"x": {"type": "string"}},
        "required": ["x"],
        "additionalProperties": False,
    }
    assert to_json_schema(model)["properties"]["o"] == expected


def test_array_of_scalars() -> None:
    """An ARRAY's items have the item type."""
    model = DataModel([Property.array("tags", "STRING")])
    expected = {"type": "array", "items": {"type": "string"}}
    assert to_json_schema(model)["properties"]["tags"] == expected


def test_array_of_objects() -> None:
    """An ARRAY of OBJECT has object items with the nested properties."""
    model = DataModel([Property.array("to", "OBJECT", properties=[Property.string("email")])])
    expected = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"email": {"type": "string"}},
            "additionalProperties": True,
        },
    }
    assert to_json_schema(model)["properties"]["to"] == expected


def test_references_point_into_definitions() -> None:
    """OBJECT_REF and ARRAY_REF become $refs to the definitions, which the document holds."""
    model = DataModel(
        [Property.object_ref("home", "address"), Property.array_ref("homes", "address")]
    )
    schema = to_json_schema(model, {"address": ADDRESS})
    expected = (
        {"$ref": "#/definitions/address"},
        {"type": "array", "items": {"$ref": "#/definitions/address"}},
        {
            "address": {
                "type": "object",
                "properties": {"street": {"type": "string"}},
                "required": ["street"],
                "additionalProperties": False,
            }
        },
    )
    assert (
        schema["properties"]["home"],
        schema["properties"]["homes"],
        schema["definitions"],
    ) == expected


def test_definition_names_are_encoded_as_json_pointers() -> None:
    """A definition name with '/', '~' or a space is a valid URI-fragment JSON pointer."""
    model = DataModel([Property.object_ref("x", "a/b~c d")])
    schema = to_json_schema(model, {"a/b~c d": ADDRESS})
    assert schema["properties"]["x"] == {"$ref": "#/definitions/a~1b~0c%20d"}


def test_document_with_encoded_pointers_compiles_and_resolves() -> None:
    """The document itself works in a JSON Schema tool: its encoded $refs resolve."""
    model = DataModel([Property.object_ref("x", "a/b~c d")])
    check = fastjsonschema.compile(to_json_schema(model, {"a/b~c d": ADDRESS}))
    with pytest.raises(fastjsonschema.JsonSchemaValueException):
        check({"x": {"street": 1}})


def test_unresolved_reference_is_a_lookup_error() -> None:
    """A reference that does not resolve is a LookupError naming the known definitions."""
    model = DataModel([Property.object_ref("home", "adress")])
    message = "reference 'adress' of property 'home' does not resolve (definitions: 'address')"
    with pytest.raises(LookupError, match=exactly(message)):
        to_json_schema(model, {"address": ADDRESS})


def test_validation_schema_has_no_annotations_and_generated_names() -> None:
    """The compiled schema drops descriptions and examples and names definitions d0, d1..."""
    model = DataModel([Property.object_ref("home", "address", description="Where.")])
    schema = validation_schema(model, {"address": ADDRESS})
    expected = {
        "$schema": DRAFT_07,
        "type": "object",
        "properties": {"home": {"$ref": "#/definitions/d0"}},
        "additionalProperties": True,
        "definitions": {
            "d0": {
                "type": "object",
                "properties": {"street": {"type": "string"}},
                "required": ["street"],
                "additionalProperties": False,
            }
        },
    }
    assert schema == expected


def test_model_json_schema_is_to_json_schema() -> None:
    """DataModel.json_schema is to_json_schema with the same definitions and enumerations."""
    model = DataModel(
        [Property.object_ref("home", "address"), Property.enum("s", enumeration="status")]
    )
    actual = model.json_schema({"address": ADDRESS}, enumerations={"status": ("A",)})
    assert actual == to_json_schema(model, {"address": ADDRESS}, {"status": ("A",)})


def test_schema_generation_is_deterministic() -> None:
    """Equal models give byte-identical schema documents."""

    def build() -> DataModel:
        return DataModel(
            [
                Property.string("z", mandatory=True, example="x"),
                Property.object("a", [Property.number("n", mandatory=True)]),
                Property.array_ref("r", "address"),
            ]
        )

    first = json.dumps(to_json_schema(build(), {"address": ADDRESS}))
    second = json.dumps(to_json_schema(build(), {"address": ADDRESS}))
    assert first == second


def test_schema_is_a_fresh_value_each_time() -> None:
    """Changing a returned schema does not change the next one (no shared state)."""
    model = DataModel([Property.string("s")])
    first = to_json_schema(model)
    first["properties"]["s"]["type"] = "number"
    assert to_json_schema(model)["properties"]["s"] == {"type": "string"}
