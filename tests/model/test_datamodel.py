"""PropertyType, Property and DataModel: frozen values whose structure is checked when built."""

from __future__ import annotations

import attrs
import pytest

from flowintegrations import CatalogError, DataModel, Property, PropertyType
from flowintegrations.errors import CatalogProblem
from support.exact import exactly


def test_property_types_are_the_admin_ui_types() -> None:
    """PropertyType lists exactly the eight types of the engine's admin UI, by value."""
    expected = [
        "STRING",
        "NUMBER",
        "BOOLEAN",
        "OBJECT",
        "OBJECT_REF",
        "ARRAY",
        "ARRAY_REF",
        "ENUM",
    ]
    assert expected == [t.value for t in PropertyType]


def test_property_type_prints_as_its_value() -> None:
    """str() of a PropertyType is its catalog spelling."""
    assert str(PropertyType.OBJECT_REF) == "OBJECT_REF"


def test_property_accepts_the_type_by_name() -> None:
    """A type given as a string is converted to the PropertyType."""
    assert Property("n", "NUMBER").type is PropertyType.NUMBER


def test_property_rejects_an_unknown_type_name() -> None:
    """An unknown type name is a CatalogError listing the allowed types."""
    message = (
        "$.type: unknown property type 'TEXT' (expected one of STRING, NUMBER, BOOLEAN, "
        "OBJECT, OBJECT_REF, ARRAY, ARRAY_REF, ENUM)"
    )
    with pytest.raises(CatalogError, match=exactly(message)):
        Property("n", "TEXT")


@pytest.mark.parametrize(
    ("made", "expected"),
    [
        (Property.string("s"), Property("s", PropertyType.STRING)),
        (Property.number("n"), Property("n", PropertyType.NUMBER)),
        (Property.boolean("b"), Property("b", PropertyType.BOOLEAN)),
        (
            Property.object("o", [Property.string("s")]),
            Property("o", PropertyType.OBJECT, properties=(Property.string("s"),)),
        ),
        (
            Property.array("a", PropertyType.NUMBER),
            Property("a", PropertyType.ARRAY, item_type=PropertyType.NUMBER),
        ),
        (Property.array("a", "STRING"), Property("a", "ARRAY", item_type="STRING")),
        (Property.enum("e", ["A", "B"]), Property("e", PropertyType.ENUM, enum=("A", "B"))),
        (
            Property.object_ref("r", "address"),
            Property("r", PropertyType.OBJECT_REF, ref="address"),
        ),
        (
            Property.array_ref("r", "address"),
            Property("r", PropertyType.ARRAY_REF, ref="address"),
        ),
    ],
)
def test_shortcuts_build_the_same_property_as_the_constructor(
    made: Property, expected: Property
) -> None:
    """Each shortcut equals the Property built with the type spelled out."""
    assert expected == made


def test_shortcuts_pass_options_through() -> None:
    """Keyword options of a shortcut reach the property."""
    prop = Property.string("s", description="d", example="x", mandatory=True)
    assert (prop.description, prop.example, prop.mandatory) == ("d", "x", True)


def test_enum_on_an_instance_is_its_values() -> None:
    """Property.enum is the shortcut on the class and the value tuple on an instance."""
    assert Property.enum("e", ["A", "B"]).enum == ("A", "B")


def test_enum_shortcut_takes_an_enumeration_name() -> None:
    """Property.enum(name, enumeration=...) refers to a named enumeration instead of values."""
    prop = Property.enum("e", enumeration="status")
    assert (prop.enum, prop.enumeration) == ((), "status")


def test_property_is_frozen() -> None:
    """A Property cannot be changed once built."""
    prop = Property.string("s")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        prop.name = "t"  # type: ignore[misc]


def test_property_options_are_keyword_only() -> None:
    """Only name and type are positional."""
    with pytest.raises(TypeError):
        Property("s", PropertyType.STRING, "description")  # type: ignore[misc]


def test_nested_properties_become_a_tuple() -> None:
    """A list of nested properties is stored as a tuple."""
    prop = Property.object("o", [Property.string("s")])
    assert (Property.string("s"),) == prop.properties


def test_enum_values_become_a_tuple() -> None:
    """A list of enum values is stored as a tuple."""
    assert Property("e", PropertyType.ENUM, enum=["A"]).enum == ("A",)


def test_a_string_is_not_taken_for_a_sequence_of_enum_values() -> None:
    """enum="AB" is a TypeError, not the values 'A' and 'B'."""
    with pytest.raises(TypeError, match=exactly("expected a sequence, got a str: 'AB'")):
        Property("e", PropertyType.ENUM, enum="AB")


def test_properties_are_hashable_even_with_a_list_example() -> None:
    """Properties are hashable (the example is left out of the hash) and equal by value."""
    first = Property.array("a", "NUMBER", example=[1, 2])
    second = Property.array("a", "NUMBER", example=[1, 2])
    assert (hash(first), first) == (hash(second), second)


def test_element_type_of_an_array_is_its_item_type() -> None:
    """An ARRAY's element type is its item type; an ARRAY_REF's is OBJECT_REF."""
    actual = (
        Property.array("a", "ENUM", enum=["A"]).element_type,
        Property.array_ref("r", "d").element_type,
        Property.string("s").element_type,
    )
    assert actual == (PropertyType.ENUM, PropertyType.OBJECT_REF, PropertyType.STRING)


# Structural rules ----------------------------------------------------------------------


def test_empty_property_name_is_rejected() -> None:
    """A property needs a non-empty name."""
    message = "$.name: a property name must be a non-empty string, got ''"
    with pytest.raises(CatalogError, match=exactly(message)):
        Property.string("")


def test_array_without_item_type_is_rejected() -> None:
    """An ARRAY needs an item type."""
    with pytest.raises(
        CatalogError, match=exactly("$.itemType: ARRAY property 'a' needs an item type")
    ):
        Property("a", PropertyType.ARRAY)


def test_array_of_arrays_is_rejected() -> None:
    """An ARRAY cannot hold ARRAYs directly; the message says how to model it."""
    message = (
        "$.itemType: ARRAY property 'a' cannot have item type ARRAY; "
        "wrap the inner array in an OBJECT"
    )
    with pytest.raises(CatalogError, match=exactly(message)):
        Property.array("a", PropertyType.ARRAY)


def test_item_type_outside_an_array_is_rejected() -> None:
    """Only an ARRAY has an item type."""
    message = "$.itemType: only an ARRAY property has an item type; 's' is STRING"
    with pytest.raises(CatalogError, match=exactly(message)):
        Property("s", PropertyType.STRING, item_type=PropertyType.STRING)


def test_object_ref_without_ref_is_rejected() -> None:
    """An OBJECT_REF needs the name of a definition."""
    message = "$.ref: OBJECT_REF property 'r' needs a ref to a definition"
    with pytest.raises(CatalogError, match=exactly(message)):
        Property("r", PropertyType.OBJECT_REF)


def test_ref_on_a_plain_type_is_rejected() -> None:
    """A STRING cannot have a ref."""
    with pytest.raises(CatalogError, match=exactly("$.ref: STRING property 's' cannot have a ref")):
        Property.string("s", ref="d")


def test_enum_without_values_is_rejected() -> None:
    """An ENUM needs values or an enumeration name."""
    message = "$.enum: ENUM property 'e' needs values (enum) or an enumeration name"
    with pytest.raises(CatalogError, match=exactly(message)):
        Property.enum("e", [])


def test_enum_with_values_and_enumeration_is_rejected() -> None:
    """An ENUM takes its values from one place only."""
    message = "$.enumeration: ENUM property 'e' has both values and an enumeration; keep one"
    with pytest.raises(CatalogError, match=exactly(message)):
        Property.enum("e", ["A"], enumeration="status")


def test_non_string_enum_value_is_rejected() -> None:
    """Enum values are strings."""
    with pytest.raises(CatalogError, match=exactly("$.enum[1]: enum values are strings, got 2")):
        Property.enum("e", ["A", 2])  # type: ignore[list-item]


def test_duplicate_enum_value_is_rejected() -> None:
    """An enum value appears once."""
    message = "$.enum[2]: duplicate enum value 'A' (first at index 0)"
    with pytest.raises(CatalogError, match=exactly(message)):
        Property.enum("e", ["A", "B", "A"])


def test_enum_values_on_a_plain_type_are_rejected() -> None:
    """A STRING cannot have enum values."""
    message = "$.enum: STRING property 's' cannot have enum values"
    with pytest.raises(CatalogError, match=exactly(message)):
        Property.string("s", enum=["A"])


def test_enumeration_on_a_plain_type_is_rejected() -> None:
    """A NUMBER cannot name an enumeration."""
    message = "$.enumeration: NUMBER property 'n' cannot have an enumeration"
    with pytest.raises(CatalogError, match=exactly(message)):
        Property.number("n", enumeration="status")


def test_nested_properties_on_a_plain_type_are_rejected() -> None:
    """Only an OBJECT (or an ARRAY of OBJECT) has nested properties."""
    message = "$.properties: STRING property 's' cannot have nested properties"
    with pytest.raises(CatalogError, match=exactly(message)):
        Property.string("s", properties=[Property.string("t")])


def test_duplicate_nested_property_names_are_rejected() -> None:
    """Two nested properties at one level cannot share a name."""
    message = "$.properties[1].name: duplicate property name 'x' (first at index 0)"
    with pytest.raises(CatalogError, match=exactly(message)):
        Property.object("o", [Property.string("x"), Property.number("x")])


def test_duplicate_property_names_in_a_model_are_rejected() -> None:
    """Two top-level properties of a model cannot share a name."""
    message = "$.properties[2].name: duplicate property name 'x' (first at index 0)"
    with pytest.raises(CatalogError, match=exactly(message)):
        DataModel([Property.string("x"), Property.string("y"), Property.boolean("x")])


def test_same_name_at_different_levels_is_allowed() -> None:
    """A nested property may share the name of its parent."""
    model = DataModel([Property.object("x", [Property.string("x")])])
    assert tuple(p.name for p in model.property("x").properties) == ("x",)


def test_a_model_holds_only_properties() -> None:
    """Anything but a Property in a model is rejected, with its index."""
    message = "$.properties[0]: expected a Property, got 'x'"
    with pytest.raises(CatalogError, match=exactly(message)):
        DataModel(["x"])  # type: ignore[list-item]


def test_every_problem_of_a_property_is_reported() -> None:
    """A property with several problems reports all of them at once."""
    with pytest.raises(CatalogError) as caught:
        Property("", PropertyType.ARRAY, ref="d")
    expected = (
        CatalogProblem("$.name", "a property name must be a non-empty string, got ''"),
        CatalogProblem("$.itemType", "ARRAY property '' needs an item type"),
        CatalogProblem("$.ref", "ARRAY property '' cannot have a ref"),
    )
    assert expected == caught.value.problems


# Examples ------------------------------------------------------------------------------


def test_example_of_the_wrong_type_is_rejected() -> None:
    """A NUMBER's example cannot be a boolean."""
    message = "$.example: example does not match property 'n': must be a number, got true"
    with pytest.raises(CatalogError, match=exactly(message)):
        Property.number("n", example=True)


def test_example_outside_the_enum_is_rejected() -> None:
    """An ENUM's example is one of its values."""
    message = "$.example: example does not match property 'e': must be one of 'A', 'B'; got 'C'"
    with pytest.raises(CatalogError, match=exactly(message)):
        Property.enum("e", ["A", "B"], example="C")


def test_example_missing_a_mandatory_nested_property_is_rejected() -> None:
    """An OBJECT's example has its mandatory properties."""
    message = (
        "$.example.street: example does not match property 'address': is mandatory but missing"
    )
    with pytest.raises(CatalogError, match=exactly(message)):
        Property.object("address", [Property.string("street", mandatory=True)], example={})


def test_example_array_item_of_the_wrong_type_is_rejected() -> None:
    """Each item of an ARRAY's example has the item type; the path names the item."""
    message = "$.example[1]: example does not match property 'a': must be a string, got 1"
    with pytest.raises(CatalogError, match=exactly(message)):
        Property.array("a", "STRING", example=["x", 1])


def test_example_of_an_array_must_be_an_array() -> None:
    """An ARRAY's example is a JSON array."""
    message = "$.example: example does not match property 'a': must be an array, got 'x'"
    with pytest.raises(CatalogError, match=exactly(message)):
        Property.array("a", "STRING", example="x")


def test_example_with_unknown_key_is_rejected_by_a_closed_model() -> None:
    """In a model without additional properties, an OBJECT example has no unknown keys."""
    message = (
        "$.properties[0].example.b: example does not match property 'o': "
        "is not a property of this model"
    )
    with pytest.raises(CatalogError, match=exactly(message)):
        DataModel(
            [Property.object("o", [Property.string("a")], example={"a": "x", "b": 5})],
            additional_properties=False,
        )


def test_example_with_unknown_key_is_accepted_by_an_open_model() -> None:
    """In a model that allows additional properties, an OBJECT example may carry more keys."""
    prop = Property.object("o", [Property.string("a")], example={"a": "x", "b": 5})
    assert DataModel([prop]).property("o").example == {"a": "x", "b": 5}


def test_valid_nested_example_is_kept() -> None:
    """A valid example is stored unchanged."""
    example = [{"email": "ana@example.com", "kind": "TO"}]
    prop = Property.array(
        "recipients",
        "OBJECT",
        properties=[Property.string("email", mandatory=True), Property.enum("kind", ["TO"])],
        example=example,
    )
    assert example == prop.example


# DataModel --------------------------------------------------------------------------------


def test_data_model_defaults() -> None:
    """An empty model has no properties and allows additional ones."""
    model = DataModel()
    assert (model.properties, model.additional_properties) == ((), True)


def test_additional_properties_is_keyword_only() -> None:
    """additional_properties cannot be passed by position."""
    with pytest.raises(TypeError):
        DataModel((), False)  # type: ignore[misc]


def test_model_property_lookup() -> None:
    """model.property(name) returns the top-level property of that name."""
    prop = Property.number("n")
    assert prop == DataModel([Property.string("s"), prop]).property("n")


def test_model_property_lookup_of_an_unknown_name() -> None:
    """model.property(name) raises KeyError for an unknown name."""
    with pytest.raises(KeyError, match="'nope'"):
        DataModel().property("nope")


def test_data_model_is_frozen() -> None:
    """A DataModel cannot be changed once built."""
    model = DataModel()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        model.additional_properties = False  # type: ignore[misc]


def test_example_is_copied_on_the_way_in() -> None:
    """Changing the value passed as an example later does not change the frozen property."""
    example = {"street": "Main"}
    prop = Property.object("address", [Property.string("street")], example=example)
    example["street"] = "Changed"
    assert prop.example == {"street": "Main"}
