"""The one payload walker: every way a value breaks a data model, each with its JSON path.

The type rules of DESIGN.md live here and nowhere else: NUMBER is any JSON number but not
a boolean; BOOLEAN is only ``true``/``false``; an ENUM value is a string among its values
(inline ``enum`` or the named ``enumeration``); an ARRAY's items have its item type; OBJECTs
nest; OBJECT_REF and ARRAY_REF follow their definition (and its ``additional_properties``);
a mandatory property is required; ``additional_properties=False`` forbids unknown keys, in
nested OBJECTs too. Each violation has one wording, whoever asks:

- the validator's slow path (:meth:`~flowintegrations.validation.Validator.violations`),
  which runs only once the compiled fastjsonschema check has rejected a payload;
- the checks of property ``example`` values (:func:`example_problems`);
- the Hypothesis strategies, which take the JSON type of each property type from
  :data:`JSON_TYPES`.

Why the model does not import this module, yet its constructors still check examples:
``Property``, ``DataModel`` and ``Integration`` reject a bad example when they are built,
and users rely on that (a catalog, ``Integration(...)`` in code, ``flowintegrations
check``). The model layer may not import the validation layer, so it declares the check it
needs (:class:`flowintegrations.model.checks.ExampleCheck`), and its facade
``property_example_problems`` imports :func:`example_problems` from here inside the function
(as ``DataModel.validate`` does for validation): nothing is registered at import time.

A :class:`Scope` says what the walker knows beyond the properties themselves; what it does
not know (``None``) is checked for shape only: a lone property does not know its model's
``additional_properties`` nor the integration's definitions and enumerations.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs

from flowintegrations.errors import CatalogProblem
from flowintegrations.model import DataModel, Property, PropertyType, json_path_step
from flowintegrations.validation.violations import Violation

__all__ = [
    "JSON_TYPES",
    "Scope",
    "example_problems",
    "is_json_type",
    "model_violations",
    "property_violations",
    "show",
]

JSON_TYPES: Mapping[PropertyType, str] = {
    PropertyType.STRING: "string",
    PropertyType.NUMBER: "number",
    PropertyType.BOOLEAN: "boolean",
    PropertyType.ENUM: "string",
    PropertyType.OBJECT: "object",
    PropertyType.OBJECT_REF: "object",
    PropertyType.ARRAY: "array",
    PropertyType.ARRAY_REF: "array",
}
"""The JSON Schema type of a value of each property type (of each element, for ENUM/REF)."""

_TYPE_NAMES = {
    "string": "a string",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
}
_MAX_SHOWN = 60


def is_json_type(json_type: str, value: Any) -> bool:
    """Whether ``value`` has the JSON Schema type ``json_type`` (string, number, ...).

    Mirrors fastjsonschema exactly: a boolean is never a number, a tuple is an array.
    """
    if json_type == "string":
        return isinstance(value, str)
    if json_type == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if json_type == "boolean":
        return isinstance(value, bool)
    if json_type == "object":
        return isinstance(value, dict)
    return isinstance(value, (list, tuple))


def show(value: Any) -> str:
    """``value`` as a violation message shows it: JSON words, containers by kind, capped."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    text = repr(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return text


@attrs.frozen
class Scope:
    """What the walker knows beyond the properties: ``None`` means "not known here".

    ``definitions`` resolve OBJECT_REF / ARRAY_REF, ``enumerations`` (name -> values) the
    ENUM properties that name one. A reference or an enumeration that is not known is
    checked for shape only (an object, a string).
    """

    definitions: Mapping[str, DataModel] | None = None
    enumerations: Mapping[str, Sequence[str]] | None = None

    def definition(self, prop: Property) -> DataModel | None:
        """The definition ``prop`` refers to, or ``None`` when it is not known."""
        model = (self.definitions or {}).get(prop.ref or "")
        return model if isinstance(model, DataModel) else None

    def enum_values(self, prop: Property) -> Sequence[str] | None:
        """The values an ENUM element may take, or ``None`` when they are not known."""
        if prop.enumeration is None:
            return prop.enum
        return (self.enumerations or {}).get(prop.enumeration)


_NOTHING_KNOWN = Scope()


def model_violations(
    model: DataModel, payload: Any, scope: Scope | None = None, path: str = "$"
) -> tuple[Violation, ...]:
    """Every violation of ``payload`` against ``model``, in document order of the model.

    At each object: the missing mandatory properties first, then the declared properties
    in model order, then the unknown keys (when the model allows none).
    """
    walk = _Walk(scope or _NOTHING_KNOWN)
    if walk.has_type("object", payload, path):
        walk.object(model.properties, payload, path, model.additional_properties)
    return tuple(walk.out)


def property_violations(
    prop: Property,
    value: Any,
    path: str = "$",
    *,
    additional: bool | None = None,
    scope: Scope | None = None,
) -> tuple[Violation, ...]:
    """Every violation of ``value`` as the value of ``prop``; paths start at ``path``.

    ``additional`` is the ``additional_properties`` of the model ``prop`` belongs to
    (``None``: not known, unknown keys are not checked).
    """
    walk = _Walk(scope or _NOTHING_KNOWN)
    walk.value(prop, value, path, additional)
    return tuple(walk.out)


def example_problems(
    prop: Property,
    path: str,
    *,
    additional: bool | None = None,
    definitions: Mapping[str, DataModel] | None = None,
    enumerations: Mapping[str, Sequence[str]] | None = None,
) -> Iterator[CatalogProblem]:
    """The problems of ``prop``'s own ``example`` (at ``path``), as the model reports them.

    This is the :class:`~flowintegrations.model.checks.ExampleCheck` the model uses.
    """
    if prop.example is None:
        return
    scope = Scope(definitions, enumerations)
    for violation in property_violations(
        prop, prop.example, path, additional=additional, scope=scope
    ):
        yield CatalogProblem(
            violation.path,
            f"example does not match property {prop.name!r}: {violation.message}",
            prop.example,
        )


class _Walk:
    """One walk: what it knows, and the violations found so far."""

    __slots__ = ("out", "scope")

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.out: list[Violation] = []

    def has_type(self, json_type: str, value: Any, path: str) -> bool:
        if is_json_type(json_type, value):
            return True
        message = f"must be {_TYPE_NAMES[json_type]}, got {show(value)}"
        self.out.append(Violation(path, "type", message, value))
        return False

    def value(self, prop: Property, value: Any, path: str, additional: bool | None) -> None:
        if prop.type is not PropertyType.ARRAY and prop.type is not PropertyType.ARRAY_REF:
            self.element(prop, value, path, additional)
        elif self.has_type("array", value, path):
            for index, item in enumerate(value):
                self.element(prop, item, f"{path}[{index}]", additional)

    def element(self, prop: Property, value: Any, path: str, additional: bool | None) -> None:
        kind = prop.element_type
        if not self.has_type(JSON_TYPES[kind], value, path):
            return
        if kind is PropertyType.ENUM:
            values = self.scope.enum_values(prop)
            if values is not None and value not in values:
                listed = ", ".join(repr(v) for v in values)
                message = f"must be one of {listed}; got {show(value)}"
                self.out.append(Violation(path, "enum", message, value))
        elif kind is PropertyType.OBJECT_REF:
            model = self.scope.definition(prop)
            if model is not None:
                self.object(model.properties, value, path, model.additional_properties)
        elif kind is PropertyType.OBJECT:
            # Nested OBJECTs follow the additional_properties of the model they belong to.
            self.object(prop.properties, value, path, additional)

    def object(
        self,
        properties: tuple[Property, ...],
        value: dict[str, Any],
        path: str,
        additional: bool | None,
    ) -> None:
        self.out.extend(
            Violation(f"{path}{json_path_step(prop.name)}", "required", "is mandatory but missing")
            for prop in properties
            if prop.mandatory and prop.name not in value
        )
        for prop in properties:
            if prop.name in value:
                here = f"{path}{json_path_step(prop.name)}"
                self.value(prop, value[prop.name], here, additional)
        if additional is False:
            names = {prop.name for prop in properties}
            self.out.extend(
                Violation(
                    f"{path}{json_path_step(str(key))}",
                    "additionalProperties",
                    "is not a property of this model",
                    item,
                )
                for key, item in value.items()
                if key not in names
            )
