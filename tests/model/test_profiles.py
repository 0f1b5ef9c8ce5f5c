"""Profiles -> data models: DataModel.from_json_sample and DataModel.from_json_schema."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowintegrations import DataModel, Property, PropertyType
from flowintegrations.errors import CatalogError
from flowintegrations.model.profiles import definitions_from_json_schema
from support.exact import exactly
from support.generated import PROPERTIES, models_in_context

SCALARS = st.one_of(
    st.text(max_size=5),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
KEYS = st.text(min_size=1, max_size=6)


def _documents(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    objects = st.dictionaries(KEYS, children, max_size=4)
    return st.one_of(
        objects,
        objects.map(lambda d: [d, d]),
        st.lists(st.text(), min_size=1, max_size=3),
        st.lists(st.integers(), min_size=1, max_size=3),
        st.lists(st.booleans(), min_size=1, max_size=3),
    )


SAMPLES = st.dictionaries(KEYS, st.recursive(SCALARS, _documents, max_leaves=12), max_size=6)


def test_a_sample_gives_types_and_mandatory_properties() -> None:
    """Each key is typed by its value and mandatory because it is present."""
    model = DataModel.from_json_sample({"id": "c1", "age": 30, "vip": True})
    expected = DataModel(
        (
            Property.string("id", mandatory=True),
            Property.number("age", mandatory=True),
            Property.boolean("vip", mandatory=True),
        )
    )
    assert model == expected


def test_nested_objects_become_object_properties() -> None:
    """A nested object is an OBJECT with its own properties."""
    model = DataModel.from_json_sample({"address": {"city": "Cluj"}})
    expected = DataModel(
        (Property.object("address", (Property.string("city", mandatory=True),), mandatory=True),)
    )
    assert model == expected


def test_an_array_of_objects_merges_its_items() -> None:
    """A key is mandatory in an array's items only when every item has it."""
    model = DataModel.from_json_sample({"orders": [{"n": 1, "note": "x"}, {"n": 2}]})
    expected = DataModel(
        (
            Property.array(
                "orders",
                PropertyType.OBJECT,
                properties=(Property.number("n", mandatory=True), Property.string("note")),
                mandatory=True,
            ),
        )
    )
    assert model == expected


def test_an_array_of_strings_is_an_array_of_string() -> None:
    """["a", "b"] is an ARRAY of STRING."""
    model = DataModel.from_json_sample({"tags": ["a", "b"]})
    assert model == DataModel((Property.array("tags", "STRING", mandatory=True),))


def test_a_list_of_samples_is_merged() -> None:
    """A key missing from one sample of a list is optional."""
    model = DataModel.from_json_sample([{"id": "1", "name": "Ana"}, {"id": "2"}])
    expected = DataModel((Property.string("id", mandatory=True), Property.string("name")))
    assert model == expected


def test_a_null_next_to_a_value_is_optional() -> None:
    """A key that is null in one sample takes its type from the other and is optional."""
    model = DataModel.from_json_sample([{"email": None}, {"email": "a@b.c"}])
    assert model == DataModel((Property.string("email"),))


def test_conflicting_samples_name_the_path() -> None:
    """A number in one sample and a string in another is a CatalogError at that path."""
    with pytest.raises(
        CatalogError,
        match=exactly("$[1].a: conflicting samples: a number here before, now a string"),
    ):
        DataModel.from_json_sample([{"a": 1}, {"a": "x"}])


def test_conflicting_array_items_name_the_item() -> None:
    """Items of different types in one array are a conflict at the second item."""
    with pytest.raises(
        CatalogError,
        match=exactly("$.xs[1]: conflicting samples: a number here before, now a boolean"),
    ):
        DataModel.from_json_sample({"xs": [1, True]})


def test_only_null_cannot_be_inferred() -> None:
    """A key that is only ever null has no type: an error naming it."""
    with pytest.raises(
        CatalogError,
        match=exactly("$.x: only null here: cannot infer a type (give a value in the sample)"),
    ):
        DataModel.from_json_sample({"x": None})


def test_an_empty_array_cannot_be_inferred() -> None:
    """An empty array gives no item type: an error naming it."""
    with pytest.raises(
        CatalogError,
        match=exactly("$.xs: only empty arrays (or nulls) here: cannot infer the item type"),
    ):
        DataModel.from_json_sample({"xs": []})


def test_every_problem_of_the_samples_is_reported_at_once() -> None:
    """A conflict, a null-only key and an empty array: one error lists all three."""
    with pytest.raises(CatalogError) as raised:
        DataModel.from_json_sample([{"a": 1, "b": None, "c": []}, {"a": "x"}])
    assert [str(problem) for problem in raised.value.problems] == [
        "$[1].a: conflicting samples: a number here before, now a string",
        "$[*].b: only null here: cannot infer a type (give a value in the sample)",
        "$[*].c: only empty arrays (or nulls) here: cannot infer the item type",
    ]


def test_every_problem_of_a_schema_is_reported_at_once() -> None:
    """Unsupported constructs in two properties and in a definition are all reported."""
    schema = {
        "type": "object",
        "properties": {"a": {"oneOf": []}, "b": {"type": ["string", "null"]}},
        "definitions": {"d": {"type": "object", "properties": {"e": {"type": "null"}}}},
    }
    with pytest.raises(CatalogError) as from_model:
        DataModel.from_json_schema(schema)
    with pytest.raises(CatalogError) as from_definitions:
        definitions_from_json_schema(schema)
    assert (
        [p.path for p in from_model.value.problems],
        [p.path for p in from_definitions.value.problems],
    ) == (["$.properties.a.oneOf", "$.properties.b.type"], ["$.definitions.d.properties.e.type"])


def test_a_sample_must_be_an_object() -> None:
    """A top-level string is not a sample."""
    with pytest.raises(CatalogError, match=exactly("$: a sample is a JSON object, got string")):
        DataModel.from_json_sample("hello")


@PROPERTIES
@given(SAMPLES)
def test_a_model_from_a_sample_validates_that_sample(sample: dict[str, Any]) -> None:
    """Whatever JSON object is given, the model inferred from it accepts it."""
    DataModel.from_json_sample(sample).validate(sample)


def test_a_schema_gives_the_model_it_describes() -> None:
    """Types, required, enum, descriptions and examples come back as properties."""
    schema = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "description": "The id", "examples": ["c1"]},
            "age": {"type": "integer"},
            "tier": {"type": "string", "enum": ["GOLD", "SILVER"]},
        },
        "required": ["id"],
        "additionalProperties": False,
    }
    expected = DataModel(
        (
            Property.string("id", mandatory=True, description="The id", example="c1"),
            Property.number("age"),
            Property.enum("tier", ("GOLD", "SILVER")),
        ),
        additional_properties=False,
    )
    assert DataModel.from_json_schema(schema) == expected


def test_a_ref_becomes_an_object_ref_and_its_definition() -> None:
    """$ref to #/definitions/NAME is an OBJECT_REF (ARRAY_REF as items) to NAME."""
    schema = {
        "type": "object",
        "properties": {
            "home": {"$ref": "#/definitions/address"},
            "others": {"type": "array", "items": {"$ref": "#/definitions/address"}},
        },
        "definitions": {"address": {"type": "object", "properties": {"city": {"type": "string"}}}},
    }
    model = DataModel.from_json_schema(schema)
    assert model == DataModel(
        (Property.object_ref("home", "address"), Property.array_ref("others", "address"))
    )
    assert definitions_from_json_schema(schema) == {
        "address": DataModel((Property.string("city"),))
    }


def test_an_unsupported_keyword_names_its_path() -> None:
    """A oneOf is outside the subset: a CatalogError at the keyword's path."""
    schema = {"type": "object", "properties": {"a": {"oneOf": [{"type": "string"}]}}}
    with pytest.raises(
        CatalogError, match=r"^\$\.properties\.a\.oneOf: unsupported JSON Schema keyword 'oneOf'"
    ):
        DataModel.from_json_schema(schema)


def test_a_list_of_types_is_refused() -> None:
    """A list of types (["string", "null"]) is not a data-model type."""
    schema = {"type": "object", "properties": {"a": {"type": ["string", "null"]}}}
    with pytest.raises(CatalogError, match=r"^\$\.properties\.a\.type: unsupported type"):
        DataModel.from_json_schema(schema)


def test_a_remote_ref_is_refused() -> None:
    """A $ref outside #/definitions/ is refused, never fetched."""
    schema = {"type": "object", "properties": {"a": {"$ref": "http://example.com/s.json"}}}
    with pytest.raises(
        CatalogError,
        match=exactly(
            "$.properties.a.$ref: only a $ref to '#/definitions/NAME' is supported, "
            "got 'http://example.com/s.json'"
        ),
    ):
        DataModel.from_json_schema(schema)


@PROPERTIES
@given(models_in_context())
def test_schema_to_model_to_schema_is_stable(
    context: tuple[DataModel, Any, dict[str, tuple[str, ...]]],
) -> None:
    """A schema json_schema() emitted comes back as a model that emits the same schema."""
    model, definitions, enumerations = context
    schema = model.json_schema(definitions, enumerations=enumerations)
    again = DataModel.from_json_schema(schema)
    assert again.json_schema(definitions_from_json_schema(schema)) == schema
