"""DataModel -> JSON Schema (draft-07), a pure function.

Two flavours come from one walk: the *document* (:func:`to_json_schema`) that people and
tools read, with descriptions, examples and definitions under their own names; and the
*validation schema* (:func:`validation_schema`) that is compiled, with no annotations and
definitions renamed ``d0``, ``d1``... so that nothing a catalog author wrote ever has to be
escaped into a ``$ref``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from flowintegrations.model import DataModel, Property, PropertyType
from flowintegrations.model.datamodel import unresolved_message
from flowintegrations.validation.walker import JSON_TYPES

__all__ = ["DRAFT_07", "Enumerations", "to_json_schema", "used_definitions", "validation_schema"]

DRAFT_07 = "http://json-schema.org/draft-07/schema#"

Enumerations = Mapping[str, Sequence[str]]
"""Enumeration name -> its values, for ENUM properties that name an enumeration."""

_SCALARS = frozenset({PropertyType.STRING, PropertyType.NUMBER, PropertyType.BOOLEAN})


class _Builder:
    def __init__(
        self,
        definitions: Mapping[str, DataModel] | None,
        enumerations: Enumerations | None,
        *,
        annotate: bool,
    ) -> None:
        self.definitions = dict(definitions or {})
        self.enumerations = enumerations or {}
        self.annotate = annotate
        if annotate:
            self.ref_names = {name: _pointer(name) for name in self.definitions}
        else:
            self.ref_names = {name: f"d{i}" for i, name in enumerate(self.definitions)}

    def document(self, model: DataModel) -> dict[str, Any]:
        schema: dict[str, Any] = {"$schema": DRAFT_07}
        schema.update(self.object(model.properties, model.additional_properties))
        if self.definitions:
            # The document keeps the plain names as keys (refs are their encoded
            # pointers); the validation schema uses the generated ones.
            schema["definitions"] = {
                name if self.annotate else self.ref_names[name]: self.object(
                    m.properties, m.additional_properties
                )
                for name, m in self.definitions.items()
            }
        return schema

    def object(self, properties: tuple[Property, ...], additional: bool) -> dict[str, Any]:
        # Nested OBJECTs follow the additional_properties of the model they belong to.
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {p.name: self.property(p, additional) for p in properties},
        }
        required = [p.name for p in properties if p.mandatory]
        if required:
            schema["required"] = required
        schema["additionalProperties"] = additional
        return schema

    def property(self, prop: Property, additional: bool) -> dict[str, Any]:
        if prop.type is PropertyType.ARRAY:
            schema = {"type": JSON_TYPES[prop.type], "items": self.element(prop, additional)}
        elif prop.type is PropertyType.ARRAY_REF:
            schema = {"type": JSON_TYPES[prop.type], "items": self.ref(prop)}
        else:
            schema = self.element(prop, additional)
        if self.annotate:
            if prop.description:
                schema["description"] = prop.description
            if prop.example is not None:
                schema["examples"] = [prop.example]
        return schema

    def element(self, prop: Property, additional: bool) -> dict[str, Any]:
        kind = prop.element_type
        if kind in _SCALARS:
            return {"type": JSON_TYPES[kind]}
        if kind is PropertyType.ENUM:
            values = prop.enum
            if prop.enumeration is not None:
                try:
                    values = tuple(self.enumerations[prop.enumeration])
                except KeyError:
                    msg = unresolved_message(prop, "enumeration", self.enumerations)
                    raise LookupError(msg) from None
            return {"type": JSON_TYPES[kind], "enum": list(values)}
        if kind is PropertyType.OBJECT_REF:
            return self.ref(prop)
        return self.object(prop.properties, additional)

    def ref(self, prop: Property) -> dict[str, Any]:
        assert prop.ref is not None  # guaranteed by Property's structure checks
        try:
            return {"$ref": f"#/definitions/{self.ref_names[prop.ref]}"}
        except KeyError:
            msg = unresolved_message(prop, "reference", self.definitions)
            raise LookupError(msg) from None


def _pointer(name: str) -> str:
    """``name`` as one JSON-pointer step inside a URI fragment (RFC 6901 and RFC 3986)."""
    return quote(name.replace("~", "~0").replace("/", "~1"), safe="")


def to_json_schema(
    model: DataModel,
    definitions: Mapping[str, DataModel] | None = None,
    enumerations: Enumerations | None = None,
) -> dict[str, Any]:
    """``model`` as a JSON Schema document, with descriptions, examples and definitions.

    Raises ``LookupError`` when a reference does not resolve in ``definitions`` or an
    enumeration name in ``enumerations``.
    """
    builder = _Builder(definitions, enumerations, annotate=True)
    return builder.document(model)


def validation_schema(
    model: DataModel,
    definitions: Mapping[str, DataModel] | None = None,
    enumerations: Enumerations | None = None,
) -> dict[str, Any]:
    """The schema that is compiled: no annotations, definitions renamed ``d0``, ``d1``..."""
    builder = _Builder(definitions, enumerations, annotate=False)
    return builder.document(model)


def used_definitions(
    model: DataModel, definitions: Mapping[str, DataModel]
) -> dict[str, DataModel]:
    """The definitions ``model`` refers to, directly or through other definitions.

    Kept in the order of ``definitions``; a reference that does not resolve is left out.
    """
    used: set[str] = set()
    todo = [model]
    while todo:
        stack = list(todo.pop().properties)
        while stack:
            prop = stack.pop()
            stack.extend(prop.properties)
            if prop.ref is not None and prop.ref in definitions and prop.ref not in used:
                used.add(prop.ref)
                todo.append(definitions[prop.ref])
    return {name: m for name, m in definitions.items() if name in used}
