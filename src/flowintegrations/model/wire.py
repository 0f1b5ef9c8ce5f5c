"""The catalog file format: one cattrs converter that maps model classes to JSON and back.

The wire format does not shape the classes: every camelCase key is an explicit rename
here, and nothing else in the library knows the file's spelling. Loading is strict: unknown
keys, wrong JSON types and unknown format versions are problems reported with their JSON
path, all of them at once where the structure allows.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any, get_origin

import attrs
import cattrs
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from flowintegrations.errors import CatalogError, CatalogProblem
from flowintegrations.model.catalog import FORMAT_VERSION, Catalog
from flowintegrations.model.datamodel import (
    DataModel,
    FrozenDict,
    Property,
    PropertyType,
    json_path_step,
)
from flowintegrations.model.examples import Example
from flowintegrations.model.headers import Header
from flowintegrations.model.integration import Enumeration, Integration, Scenario
from flowintegrations.model.topics import TopicBinding

__all__ = [
    "RENAMES",
    "catalog_file_schema",
    "converter",
    "structure_catalog",
    "unstructure_catalog",
]

RENAMES: dict[type, dict[str, str]] = {
    Property: {"item_type": "itemType"},
    DataModel: {"additional_properties": "additionalProperties"},
    Header: {},
    TopicBinding: {"out_topic": "out", "in_topic": "in"},
    Example: {"dead_letter": "deadLetter"},
    Scenario: {
        "input_model": "inputModel",
        "output_model": "outputModel",
        "error_reply": "errorReply",
        "used_by": "usedBy",
        "defer_secret_headers": "deferSecretHeaders",
    },
    Enumeration: {},
    Integration: {"system_name": "systemName"},
}
"""Python attribute name -> catalog key, for every attribute whose spelling differs."""

_JSON_TYPES = {str: "a string", bool: "a boolean", int: "an integer"}


def _strict(kind: type) -> Any:
    def structure(value: Any, _: Any) -> Any:
        if type(value) is not kind:
            raise CatalogError(f"expected {_JSON_TYPES[kind]}, got {_describe(value)}")
        return value

    return structure


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return repr(value)


def _structure_property_type(value: Any, _: Any) -> PropertyType:
    if isinstance(value, str):
        try:
            return PropertyType(value)
        except ValueError:
            pass
    allowed = ", ".join(t.value for t in PropertyType)
    shown = repr(value) if isinstance(value, str) else _describe(value)
    raise CatalogError(f"unknown property type {shown} (expected one of {allowed})")


def _structure_sequence(value: Any, type_: Any) -> tuple[Any, ...]:
    if not isinstance(value, list):
        raise CatalogError(
            (CatalogProblem("$", f"expected an array, got {_describe(value)}", value),)
        )
    item_type = type_.__args__[0]
    items: list[Any] = []
    problems: list[CatalogProblem] = []
    for index, item in enumerate(value):
        try:
            items.append(converter.structure(item, item_type))
        except Exception as exc:  # noqa: BLE001 - every problem is collected, then raised
            problems.extend(_problems(exc, f"$[{index}]"))
    if problems:
        raise CatalogError(problems)
    return tuple(items)


def _structure_definitions(value: Any, _: Any) -> FrozenDict:
    if not isinstance(value, Mapping):
        raise CatalogError(f"expected an object of named data models, got {_describe(value)}")
    problems: list[CatalogProblem] = []
    result: dict[str, DataModel] = {}
    for name, model in value.items():
        try:
            result[name] = converter.structure(model, DataModel)
        except Exception as exc:  # noqa: BLE001 - every problem is collected, then raised
            problems.extend(_problems(exc, f"${json_path_step(name)}"))
    if problems:
        raise CatalogError(problems)
    return FrozenDict(result)


def _objects_only(structure: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """``structure``, refusing anything but a JSON object with a sentence cattrs lacks."""

    def structure_object(value: Any, type_: Any) -> Any:
        if not isinstance(value, Mapping):
            raise CatalogError(f"expected an object, got {_describe(value)}")
        return structure(value, type_)

    return structure_object


def _is_string_mapping(type_: Any) -> bool:
    return get_origin(type_) is Mapping


def _structure_string_mapping(value: Any, _: Any) -> FrozenDict:
    if not isinstance(value, Mapping):
        raise CatalogError(f"expected an object of strings, got {_describe(value)}")
    problems = [
        CatalogProblem(f"${json_path_step(key)}", f"expected a string, got {_describe(item)}")
        for key, item in value.items()
        if not isinstance(item, str)
    ]
    if problems:
        raise CatalogError(problems)
    return FrozenDict(value)


CODES_TYPE = Mapping[str, Mapping[str, str]]
"""The type of :attr:`Enumeration.codes`: system -> value -> code."""


def _structure_codes(value: Any, _: Any) -> FrozenDict:
    if not isinstance(value, Mapping):
        raise CatalogError(f"expected an object of systems, got {_describe(value)}")
    problems: list[CatalogProblem] = []
    result: dict[str, FrozenDict] = {}
    for system, codes in value.items():
        try:
            result[system] = _structure_string_mapping(codes, None)
        except CatalogError as exc:
            problems.extend(_problems(exc, f"${json_path_step(system)}"))
    if problems:
        raise CatalogError(problems)
    return FrozenDict(result)


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    conv.register_structure_hook(str, _strict(str))
    conv.register_structure_hook(bool, _strict(bool))
    conv.register_structure_hook(int, _strict(int))
    conv.register_structure_hook(PropertyType, _structure_property_type)
    conv.register_structure_hook_func(
        lambda t: getattr(t, "__origin__", None) is tuple, _structure_sequence
    )
    conv.register_unstructure_hook(PropertyType, lambda t: t.value)
    conv.register_structure_hook(FrozenDict, _structure_definitions)
    conv.register_structure_hook_func(_is_string_mapping, _structure_string_mapping)
    conv.register_unstructure_hook_func(_is_string_mapping, dict)
    conv.register_structure_hook_func(lambda t: t == CODES_TYPE, _structure_codes)
    conv.register_unstructure_hook_func(
        lambda t: t == CODES_TYPE, lambda codes: {s: dict(c) for s, c in codes.items()}
    )
    conv.register_unstructure_hook(
        FrozenDict, lambda d: {name: conv.unstructure(m, DataModel) for name, m in d.items()}
    )
    for cls, renames in RENAMES.items():
        overrides: dict[str, Any] = {
            field.name: override(rename=renames.get(field.name), omit_if_default=True)
            for field in attrs.fields(cls)
        }
        conv.register_structure_hook(
            cls, _objects_only(make_dict_structure_fn(cls, conv, **overrides))
        )
        conv.register_unstructure_hook(cls, make_dict_unstructure_fn(cls, conv, **overrides))
    return conv


converter = _make_converter()
"""The one converter between model classes and catalog-file JSON."""


_READABLE_VERSIONS = "version 1" if FORMAT_VERSION == 1 else f"versions 1 to {FORMAT_VERSION}"


def structure_catalog(data: Any) -> Catalog:
    """Build a :class:`Catalog` from parsed catalog JSON, or raise one :class:`CatalogError`."""
    if not isinstance(data, Mapping):
        raise CatalogError(f"a catalog is a JSON object, got {_describe(data)}")
    problems: list[CatalogProblem] = []
    version = data.get("formatVersion", FORMAT_VERSION)
    if type(version) is not int:
        problems.append(
            CatalogProblem(
                "$.formatVersion", f"expected an integer, got {_describe(version)}", version
            )
        )
    elif not 1 <= version <= FORMAT_VERSION:
        problems.append(
            CatalogProblem(
                "$.formatVersion",
                f"unsupported catalog format version {version!r} (this library reads "
                f"{_READABLE_VERSIONS})",
                version,
            )
        )
    schema_key = data.get("$schema")
    if "$schema" in data and not isinstance(schema_key, str):
        problems.append(
            CatalogProblem(
                "$['$schema']", f"expected a string, got {_describe(schema_key)}", schema_key
            )
        )
    known = ("$schema", "formatVersion", "integrations")
    problems.extend(_unknown_keys("$", set(data) - set(known), known))
    integrations: tuple[Integration, ...] = ()
    try:
        integrations = _structure_sequence(data.get("integrations", []), tuple[Integration, ...])
    except CatalogError as exc:
        problems.extend(_problems(exc, "$.integrations"))
    if problems:
        raise CatalogError(problems)
    try:
        return Catalog(integrations)
    except CatalogError as exc:
        raise CatalogError(exc.problems) from None


def unstructure_catalog(catalog: Catalog) -> dict[str, Any]:
    """Catalog-file JSON data for ``catalog``."""
    return {
        "formatVersion": FORMAT_VERSION,
        "integrations": [converter.unstructure(i, Integration) for i in catalog.integrations],
    }


_WIRE_NAMES: dict[str, str] = {
    python: wire for renames in RENAMES.values() for python, wire in renames.items()
}


def _wire_keys(cls: type) -> tuple[str, ...]:
    """The catalog keys of ``cls``, as the file spells them."""
    renames = RENAMES.get(cls, {})
    return tuple(renames.get(field.name, field.name) for field in attrs.fields(cls))


def _unknown_keys(
    path: str, unknown: Collection[str], known: Collection[str]
) -> Iterator[CatalogProblem]:
    """A problem per unknown key (sorted), naming the known key it was probably meant as."""
    for key in sorted(unknown):
        message = f"unknown key {key!r}"
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
        if not close:  # a key spelled with the wrong case: systemname for systemName
            close = [k for k in known if k.lower() == key.lower()][:1]
        if close:
            message += f" (did you mean {close[0]!r}?)"
        yield CatalogProblem(f"{path}{json_path_step(key)}", message, key)


def _problems(exc: BaseException, path: str) -> Iterator[CatalogProblem]:
    """Flatten a cattrs error tree into problems, each with its catalog JSON path."""
    if isinstance(exc, CatalogError):
        for problem in exc.problems:
            yield CatalogProblem(path + problem.path[1:], problem.message, problem.value)
    elif isinstance(exc, ForbiddenExtraKeysError):
        yield from _unknown_keys(path, exc.extra_fields, _wire_keys(exc.cl))
    elif isinstance(exc, IterableValidationError):
        with_index, others = exc.group_exceptions()
        for child, item_note in with_index:
            yield from _problems(child, f"{path}[{item_note.index}]")
        for child in others:
            yield from _problems(child, path)
    elif isinstance(exc, ClassValidationError):
        with_name, others = exc.group_exceptions()
        for child, attribute_note in with_name:
            name = _WIRE_NAMES.get(attribute_note.name, attribute_note.name)
            yield from _problems(child, path + json_path_step(name))
        for child in others:
            yield from _problems(child, path)
    elif isinstance(exc, KeyError):
        yield CatalogProblem(path, "a required key is missing")
    elif isinstance(exc, TypeError):
        yield CatalogProblem(path, f"wrong type: {exc}")
    else:
        yield CatalogProblem(path, str(exc))


def catalog_file_schema() -> dict[str, Any]:
    """The JSON Schema (draft-07) of the catalog file format, generated from the classes.

    Published as ``docs/catalog.schema.json`` so that editors can check catalog files; a
    test keeps the published copy current.
    """
    definitions: dict[str, Any] = {}

    def schema_of(tp: Any) -> dict[str, Any]:
        if tp is str:
            return {"type": "string"}
        if tp is bool:
            return {"type": "boolean"}
        if tp is int:
            return {"type": "integer"}
        if tp is PropertyType:
            return {"enum": [t.value for t in PropertyType]}
        if tp is FrozenDict:
            return {"type": "object", "additionalProperties": schema_of(DataModel)}
        if tp == CODES_TYPE:
            codes = {"type": "object", "additionalProperties": {"type": "string"}}
            return {"type": "object", "additionalProperties": codes}
        if _is_string_mapping(tp):
            return {"type": "object", "additionalProperties": {"type": "string"}}
        if attrs.has(tp):
            if tp.__name__ not in definitions:
                definitions[tp.__name__] = {}  # placeholder: classes refer to themselves
                definitions[tp.__name__] = class_schema(tp)
            return {"$ref": f"#/definitions/{tp.__name__}"}
        args: tuple[Any, ...] = getattr(tp, "__args__", ())
        if getattr(tp, "__origin__", None) is tuple:
            return {"type": "array", "items": schema_of(args[0])}
        if type(None) in args:
            (inner,) = (a for a in args if a is not type(None))
            return {"anyOf": [schema_of(inner), {"type": "null"}]}
        return {}  # Any: an example may be any JSON value

    def class_schema(cls: type) -> dict[str, Any]:
        attrs.resolve_types(cls)
        renames = RENAMES[cls]
        properties = {renames.get(f.name, f.name): schema_of(f.type) for f in attrs.fields(cls)}
        required = [
            renames.get(f.name, f.name) for f in attrs.fields(cls) if f.default is attrs.NOTHING
        ]
        summary = (cls.__doc__ or "").strip().splitlines()[0]
        schema: dict[str, Any] = {"description": summary, "type": "object"}
        schema["properties"] = properties
        if required:
            schema["required"] = required
        schema["additionalProperties"] = False
        return schema

    root = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://flowintegrations.dev/catalog.schema.json",
        "title": "flowintegrations catalog",
        "description": Catalog.__doc__.strip().splitlines()[0] if Catalog.__doc__ else "",
        "type": "object",
        "properties": {
            "$schema": {"type": "string", "description": "the schema this file follows"},
            "formatVersion": {"type": "integer", "minimum": 1, "maximum": FORMAT_VERSION},
            "integrations": {"type": "array", "items": schema_of(Integration)},
        },
        "additionalProperties": False,
    }
    root["definitions"] = dict(sorted(definitions.items()))
    return root
