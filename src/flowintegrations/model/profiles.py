"""Profiles -> data models: a JSON sample or a JSON Schema becomes a :class:`DataModel`.

What Boomi calls "generating types from an Integration profile". Two sources:

- :func:`model_from_json_sample`: an example document. Each key is a property typed by its
  value (string, number, boolean, object, array); a key present (and not null) in the
  sample is mandatory. An array of objects merges its items: a key is mandatory when every
  item has it. A list of documents is read as several samples of the same model and merged
  the same way. Values of different types for one key (``1`` here, ``"1"`` there) are a
  conflict; a key that is only ever null or an empty array has no type to infer. Both are
  a :class:`~flowintegrations.errors.CatalogError` naming the JSON path.
- :func:`model_from_json_schema`: the draft-07 subset that ``DataModel.json_schema()``
  emits (``type`` object / string / number / boolean / array, ``properties``, ``required``,
  ``additionalProperties``, ``items``, ``enum`` of strings, ``description``,
  ``examples``), plus ``$ref`` to ``#/definitions/NAME``, which becomes an OBJECT_REF (or,
  as ``items``, an ARRAY_REF) to the definition ``NAME``; :func:`definitions_from_json_schema`
  gives those definitions. ``integer`` is read as NUMBER. Annotations that change nothing
  (``title``, ``$comment``, ``$id``, ``format``, ``default``) are ignored; anything else
  (``oneOf``, a list of types, ``pattern``...) is a problem naming its path; one
  ``CatalogError`` lists the problems of every property.
  Schema -> model -> schema is stable for that subset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from flowintegrations.errors import CatalogError, CatalogProblem
from flowintegrations.model.datamodel import DataModel, Property, PropertyType, json_path_step

__all__ = ["definitions_from_json_schema", "model_from_json_sample", "model_from_json_schema"]


# JSON sample ---------------------------------------------------------------------------------


class _Unknown:
    """A key whose value was only ever null (or an empty array): no type yet."""


_UNKNOWN = _Unknown()


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "null" if value is None else type(value).__name__


_SCALAR_TYPES = {
    "string": PropertyType.STRING,
    "number": PropertyType.NUMBER,
    "boolean": PropertyType.BOOLEAN,
}


class _Inferred:
    """What the samples say about one key: a kind, nested keys, how often it was present.

    ``problems`` is shared by the whole tree: a conflict is noted and its value left out, so
    that one run reports every problem of the samples.
    """

    def __init__(self, problems: list[CatalogProblem]) -> None:
        self.problems = problems
        self.kind: str | None = None  # scalar kind, "object", or "array"
        self.item: _Inferred | None = None  # for arrays: what their items say
        self.fields: dict[str, _Inferred] = {}  # for objects (and arrays of objects)
        self.objects = 0  # how many objects were merged into ``fields``
        self.present = 0  # how many times the key held a non-null value

    def note(self, path: str, message: str) -> None:
        self.problems.append(CatalogProblem(path, message))

    def add(self, value: Any, path: str) -> None:
        if value is None:
            return
        kind = _kind(value)
        if kind not in ("string", "number", "boolean", "object", "array"):
            self.note(path, f"a JSON sample holds JSON values only, got a {kind}")
            return
        if self.kind is not None and self.kind != kind:
            self.note(path, f"conflicting samples: a {self.kind} here before, now a {kind}")
            return
        self.kind = kind
        self.present += 1
        if kind == "object":
            self.add_object(value, path)
        elif kind == "array":
            self.item = self.item or _Inferred(self.problems)
            for index, item in enumerate(value):
                self.item.add(item, f"{path}[{index}]")

    def add_object(self, value: dict[str, Any], path: str) -> None:
        self.objects += 1
        for key, item in value.items():
            if not isinstance(key, str) or not key:
                self.note(path, f"a property name must be a non-empty string, got {key!r}")
                continue
            field = self.fields.setdefault(key, _Inferred(self.problems))
            field.add(item, path + json_path_step(key))

    def properties(self, path: str) -> tuple[Property, ...]:
        found = (
            field.property(key, self.objects, path + json_path_step(key))
            for key, field in self.fields.items()
        )
        return tuple(p for p in found if p is not None)

    def property(self, name: str, seen: int, path: str) -> Property | None:
        """The property the samples give ``name``; ``None`` (and a problem) when they cannot."""
        mandatory = self.present == seen
        if self.kind is None:
            self.note(path, "only null here: cannot infer a type (give a value in the sample)")
            return None
        if self.kind in _SCALAR_TYPES:
            return Property(name, _SCALAR_TYPES[self.kind], mandatory=mandatory)
        if self.kind == "object":
            return Property.object(name, self.properties(path), mandatory=mandatory)
        item = self.item
        if item is None or item.kind is None:
            self.note(path, "only empty arrays (or nulls) here: cannot infer the item type")
            return None
        if item.kind == "array":
            self.note(
                f"{path}[0]",
                "an array of arrays has no data-model type; wrap the inner array in an object",
            )
            return None
        if item.kind == "object":
            return Property.array(
                name,
                PropertyType.OBJECT,
                properties=item.properties(f"{path}[*]"),
                mandatory=mandatory,
            )
        return Property.array(name, _SCALAR_TYPES[item.kind], mandatory=mandatory)


def model_from_json_sample(sample: Any) -> DataModel:
    """The data model a JSON sample document (or a list of them) describes; see the module.

    Raises one :class:`~flowintegrations.errors.CatalogError` listing every problem.
    """
    problems: list[CatalogProblem] = []
    root = _Inferred(problems)
    documents = sample if isinstance(sample, list) else [sample]
    if not documents:
        msg = "an empty list holds no sample"
        raise CatalogError(msg, "$")
    for index, document in enumerate(documents):
        path = f"$[{index}]" if isinstance(sample, list) else "$"
        if not isinstance(document, dict):
            root.note(path, f"a sample is a JSON object, got {_kind(document)}")
            continue
        root.add_object(document, path)
    model = DataModel(root.properties("$[*]" if isinstance(sample, list) else "$"))
    if problems:
        raise CatalogError(problems)
    return model


# JSON Schema ---------------------------------------------------------------------------------

_IGNORED = frozenset({"title", "$comment", "$id", "format", "default", "$schema"})
_REF_PREFIX = "#/definitions/"
_SCHEMA_TYPES = {
    "string": PropertyType.STRING,
    "number": PropertyType.NUMBER,
    "integer": PropertyType.NUMBER,
    "boolean": PropertyType.BOOLEAN,
}


def _extra_keywords(
    schema: Mapping[str, Any], allowed: frozenset[str], path: str
) -> list[CatalogProblem]:
    """A problem per keyword of ``schema`` outside ``allowed`` (and the ignored ones)."""
    return [
        CatalogProblem(
            path + json_path_step(key),
            f"unsupported JSON Schema keyword {key!r}: only the subset DataModel.json_schema "
            "emits (type, properties, required, additionalProperties, items, enum, $ref, "
            "description, examples) can become a data model",
            None,
        )
        for key in sorted(set(schema) - allowed - _IGNORED)
    ]


def _unsupported(schema: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
    problems = _extra_keywords(schema, allowed, path)
    if problems:
        raise CatalogError(problems)


def _ref_name(ref: Any, path: str) -> str:
    if not isinstance(ref, str) or not ref.startswith(_REF_PREFIX) or len(ref) == len(_REF_PREFIX):
        msg = f"only a $ref to '#/definitions/NAME' is supported, got {ref!r}"
        raise CatalogError(msg, path + ".$ref")
    step = ref[len(_REF_PREFIX) :]
    if "/" in step:
        msg = f"only a $ref to '#/definitions/NAME' is supported, got {ref!r}"
        raise CatalogError(msg, path + ".$ref")
    return unquote(step).replace("~1", "/").replace("~0", "~")


def _object(schema: Any, path: str, outer: bool | None = None) -> DataModel:
    """An object schema as a model; ``outer`` is the additionalProperties nested ones follow.

    Raises one :class:`CatalogError` with the problems of every property, not the first.
    """
    if not isinstance(schema, Mapping):
        msg = f"a schema is a JSON object, got {_kind(schema)}"
        raise CatalogError(msg, path)
    problems = _extra_keywords(
        schema,
        frozenset({"type", "properties", "required", "additionalProperties", "definitions"})
        | frozenset({"description", "examples"}),
        path,
    )
    try:
        model = _object_model(schema, path, outer, problems)
    except CatalogError as exc:
        raise CatalogError([*problems, *exc.problems]) from None
    if problems:
        raise CatalogError(problems)
    return model


def _object_model(
    schema: Mapping[str, Any], path: str, outer: bool | None, problems: list[CatalogProblem]
) -> DataModel:
    """The model of an object schema; a property's problems go to ``problems``."""
    if schema.get("type", "object") != "object":
        msg = f"a data model is an object schema (type 'object'), got type {schema['type']!r}"
        raise CatalogError(msg, path + ".type")
    properties = schema.get("properties", {})
    if not isinstance(properties, Mapping):
        msg = f"properties is an object, got {_kind(properties)}"
        raise CatalogError(msg, path + ".properties")
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        msg = "required is a list of property names"
        raise CatalogError(msg, path + ".required")
    missing = [name for name in required if name not in properties]
    if missing:
        msg = f"required names properties the schema does not have: {missing!r}"
        raise CatalogError(msg, path + ".required")
    additional = schema.get("additionalProperties", True if outer is None else outer)
    if not isinstance(additional, bool):
        msg = "only a boolean additionalProperties is supported"
        raise CatalogError(msg, path + ".additionalProperties")
    if outer is not None and additional != outer:
        msg = (
            f"a nested object follows its model's additionalProperties ({outer}), got {additional}"
        )
        raise CatalogError(msg, path + ".additionalProperties")
    props = []
    for name, sub in properties.items():
        where = f"{path}.properties{json_path_step(name)}"
        try:
            props.append(_property(name, sub, name in required, where, additional))
        except CatalogError as exc:
            problems.extend(exc.problems)
    return DataModel(tuple(props), additional_properties=additional)


def _annotations(schema: Mapping[str, Any], path: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    description = schema.get("description")
    if description is not None:
        if not isinstance(description, str):
            raise CatalogError("description is a string", path + ".description")
        found["description"] = description
    examples = schema.get("examples")
    if examples is not None:
        if not isinstance(examples, list):
            raise CatalogError("examples is a list", path + ".examples")
        if examples:
            found["example"] = examples[0]
    return found


def _property(name: str, schema: Any, mandatory: bool, path: str, outer: bool) -> Property:
    if not isinstance(schema, Mapping):
        msg = f"a property schema is a JSON object, got {_kind(schema)}"
        raise CatalogError(msg, path)
    notes = _annotations(schema, path)
    if "$ref" in schema:
        _unsupported(schema, frozenset({"$ref", "description", "examples"}), path)
        return Property.object_ref(
            name, _ref_name(schema["$ref"], path), mandatory=mandatory, **notes
        )
    kind = schema.get("type")
    if kind == "array":
        _unsupported(schema, frozenset({"type", "items", "description", "examples"}), path)
        items = schema.get("items")
        if not isinstance(items, Mapping):
            msg = "an array schema needs one items schema (an object)"
            raise CatalogError(msg, path + ".items")
        if "$ref" in items:
            _unsupported(items, frozenset({"$ref"}), path + ".items")
            ref = _ref_name(items["$ref"], path + ".items")
            return Property.array_ref(name, ref, mandatory=mandatory, **notes)
        element = _element(name, items, path + ".items", outer)
        if element.type is PropertyType.OBJECT:
            return Property.array(
                name,
                PropertyType.OBJECT,
                properties=element.properties,
                mandatory=mandatory,
                **notes,
            )
        return Property.array(name, element.type, enum=element.enum, mandatory=mandatory, **notes)
    element = _element(name, schema, path, outer, annotated=True)
    if element.type is PropertyType.OBJECT:
        return Property.object(name, element.properties, mandatory=mandatory, **notes)
    return Property(name, element.type, enum=element.enum, mandatory=mandatory, **notes)


def _element(
    name: str, schema: Mapping[str, Any], path: str, outer: bool, *, annotated: bool = False
) -> Property:
    """The item (or the value) a schema describes, without name-level options."""
    notes = frozenset({"description", "examples"}) if annotated else frozenset()
    kind = schema.get("type")
    if kind == "object":
        if "definitions" in schema:
            raise CatalogError("definitions belong at the top of the schema", path)
        model = _object({k: v for k, v in schema.items() if k not in notes}, path, outer)
        return Property.object(name, model.properties)
    if "enum" in schema:
        _unsupported(schema, frozenset({"type", "enum"}) | notes, path)
        values = schema["enum"]
        if kind != "string" or not isinstance(values, list) or not values:
            msg = "only a non-empty enum of strings (type 'string') is supported"
            raise CatalogError(msg, path + ".enum")
        return Property.enum(name, values)
    if isinstance(kind, str) and kind in _SCHEMA_TYPES:
        _unsupported(schema, frozenset({"type"}) | notes, path)
        return Property(name, _SCHEMA_TYPES[kind])
    if kind == "array":
        msg = "an array of arrays has no data-model type; wrap the inner array in an object"
        raise CatalogError(msg, path)
    _unsupported(schema, frozenset({"type"}) | notes, path)
    msg = (
        f"unsupported type {kind!r}: one of 'object', 'string', 'number', 'integer', "
        "'boolean', 'array'"
    )
    raise CatalogError(msg, path + ".type" if "type" in schema else path)


def model_from_json_schema(schema: Any) -> DataModel:
    """The data model a JSON Schema document describes (see the module for the subset)."""
    return _object(schema, "$")


def definitions_from_json_schema(schema: Any) -> dict[str, DataModel]:
    """The ``definitions`` of a JSON Schema document, each as a data model."""
    if not isinstance(schema, Mapping):
        msg = f"a schema is a JSON object, got {_kind(schema)}"
        raise CatalogError(msg, "$")
    definitions = schema.get("definitions", {})
    if not isinstance(definitions, Mapping):
        raise CatalogError("definitions is an object", "$.definitions")
    found: dict[str, DataModel] = {}
    problems: list[CatalogProblem] = []
    for name, sub in definitions.items():
        try:
            found[name] = _object(sub, f"$.definitions{json_path_step(name)}")
        except CatalogError as exc:
            problems.extend(exc.problems)
    if problems:
        raise CatalogError(problems)
    return found
