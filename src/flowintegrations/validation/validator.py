"""Compiled validators: one fastjsonschema call on the happy path, every violation otherwise.

The happy path is the compiled function and nothing else. Only when it rejects a payload
does :meth:`Validator.violations` walk the same validation schema in Python to collect
*every* violation with an exact JSON path (fastjsonschema's own error names are dotted
strings that become ambiguous as soon as a key contains a dot or a bracket).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, NoReturn

import fastjsonschema

from flowintegrations.errors import ValidationError
from flowintegrations.model import DataModel, FrozenDict, Integration, Scenario, json_path_step
from flowintegrations.validation.schema import Enumerations, validation_schema
from flowintegrations.validation.violations import Violation

__all__ = ["Validator", "scenario_validators", "validator_for"]

_TYPE_NAMES = {
    "string": "a string",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
}
_MAX_SHOWN = 60


def _refuse_remote(uri: str) -> NoReturn:
    msg = f"remote $ref {uri!r} is never fetched"
    raise ValueError(msg)


_NO_REMOTE = {"http": _refuse_remote, "https": _refuse_remote, "file": _refuse_remote}


class Validator:
    """A data model compiled for validation. Build it once (see :func:`validator_for`)."""

    __slots__ = ("_definitions", "_fast", "model", "schema", "subject")

    def __init__(
        self,
        model: DataModel,
        definitions: Mapping[str, DataModel] | None = None,
        enumerations: Enumerations | None = None,
        *,
        subject: str = "payload",
    ) -> None:
        self.model = model
        self.subject = subject
        self.schema = validation_schema(model, definitions, enumerations)
        self._definitions: dict[str, Any] = self.schema.get("definitions", {})
        # Every option explicit: no default-filling, no formats, no remote refs, and the
        # first error is enough because the slow path below reports all of them.
        self._fast = fastjsonschema.compile(
            self.schema,
            handlers=_NO_REMOTE,
            formats={},
            use_default=False,
            use_formats=False,
            detailed_exceptions=False,
            fast_fail=True,
        )

    def validate(self, payload: Any) -> None:
        """Return if ``payload`` is valid, else raise :class:`ValidationError` (every violation)."""
        try:
            self._fast(payload)
        except fastjsonschema.JsonSchemaException as exc:
            self._fail(payload, exc)

    def is_valid(self, payload: Any) -> bool:
        """Whether ``payload`` is valid (the compiled check alone)."""
        try:
            self._fast(payload)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    def violations(self, payload: Any) -> tuple[Violation, ...]:
        """Every violation in ``payload`` (empty when it is valid)."""
        found: list[Violation] = []
        self._walk(self.schema, payload, "$", found)
        return tuple(found)

    def _fail(self, payload: Any, exc: fastjsonschema.JsonSchemaException) -> NoReturn:
        found = self.violations(payload)
        if not found:  # the two paths disagree: never let a rejected payload pass silently
            found = (Violation("$", getattr(exc, "rule", None) or "schema", str(exc), None),)
        raise ValidationError(found, subject=self.subject) from None

    def _walk(self, schema: dict[str, Any], value: Any, path: str, out: list[Violation]) -> None:
        ref = schema.get("$ref")
        if ref is not None:
            schema = self._definitions[ref.rpartition("/")[2]]
        kind = schema.get("type")
        if kind is not None and not _is_type(kind, value):
            out.append(
                Violation(path, "type", f"must be {_TYPE_NAMES[kind]}, got {_show(value)}", value)
            )
            return
        allowed = schema.get("enum")
        if allowed is not None and value not in allowed:
            listed = ", ".join(repr(v) for v in allowed)
            out.append(
                Violation(path, "enum", f"must be one of {listed}; got {_show(value)}", value)
            )
            return
        if kind == "object":
            self._walk_object(schema, value, path, out)
        elif kind == "array":
            items = schema["items"]
            for index, item in enumerate(value):
                self._walk(items, item, f"{path}[{index}]", out)

    def _walk_object(
        self, schema: dict[str, Any], value: dict[str, Any], path: str, out: list[Violation]
    ) -> None:
        properties: dict[str, Any] = schema["properties"]
        out.extend(
            Violation(f"{path}{json_path_step(name)}", "required", "is mandatory but missing")
            for name in schema.get("required", ())
            if name not in value
        )
        for name, child in properties.items():
            if name in value:
                self._walk(child, value[name], f"{path}{json_path_step(name)}", out)
        if schema.get("additionalProperties") is False:
            out.extend(
                Violation(
                    f"{path}{json_path_step(str(name))}",
                    "additionalProperties",
                    "is not a property of this model",
                    item,
                )
                for name, item in value.items()
                if name not in properties
            )


def _is_type(kind: str, value: Any) -> bool:
    # Mirrors fastjsonschema's checks exactly: a bool is never a number, tuples are arrays.
    if kind == "string":
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    return isinstance(value, (list, tuple))


def _show(value: Any) -> str:
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


@functools.lru_cache(maxsize=4096)
def _cached(
    model: DataModel, definitions: FrozenDict | None, enumerations: FrozenDict | None
) -> Validator:
    return Validator(model, definitions, enumerations)


def validator_for(
    model: DataModel,
    definitions: Mapping[str, DataModel] | None = None,
    enumerations: Enumerations | None = None,
) -> Validator:
    """The compiled :class:`Validator` for ``model``, built once and cached per arguments."""
    values = None
    if enumerations:
        # Values may come as lists; the cache key needs them hashable.
        values = FrozenDict({name: tuple(v) for name, v in enumerations.items()})
    return _cached(model, None if not definitions else _frozen(definitions), values)


def _frozen(mapping: Mapping[str, Any]) -> FrozenDict:
    return mapping if isinstance(mapping, FrozenDict) else FrozenDict(mapping)


def scenario_validators(
    integration: Integration, scenario: Scenario
) -> tuple[Validator, Validator]:
    """The (request, reply) validators of ``scenario``: its output and its input model.

    Definitions and enumerations come from ``integration``.
    """
    enumerations = FrozenDict({e.name: e.values for e in integration.enumerations})
    request = validator_for(scenario.output_model, integration.definitions, enumerations)
    reply = validator_for(scenario.input_model, integration.definitions, enumerations)
    return request, reply
