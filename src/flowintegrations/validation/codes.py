"""Enumeration codes per source system, translated at the boundary of a handler.

An :class:`~flowintegrations.model.Enumeration` may give, per source system, the code that
system uses for each of its values. An integration whose ``system_name`` has codes speaks
that system's codes to its handler and the engine's values to the engine:

- the request is validated against the engine's values, then each ENUM value that names a
  coded enumeration becomes the system's code before the handler sees it;
- the handler's reply is validated against the system's codes, then each code becomes the
  engine's value again.

So each side is validated against its own value set. Routes without codes never build a
:class:`CodeTranslator` and pay nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowintegrations.errors import ValidationError
from flowintegrations.model import DataModel, Integration, Property, PropertyType, Scenario
from flowintegrations.validation.validator import Validator
from flowintegrations.validation.violations import Violation

__all__ = ["CodeTranslator", "enumeration_values", "translator_for"]

_Table = Mapping[str, Mapping[str, str]]
"""Enumeration name -> (from -> to), for the coded enumerations only."""


def enumeration_values(
    integration: Integration, system: str | None = None
) -> dict[str, tuple[str, ...]]:
    """Enumeration name -> the values ``system`` uses (its codes where it has them).

    ``system=None`` gives the engine's values. Feed it to
    :func:`~flowintegrations.validation.to_json_schema` or to the
    :func:`~flowintegrations.testing.strategies.payloads` strategy.
    """
    values: dict[str, tuple[str, ...]] = {}
    for enumeration in integration.enumerations:
        codes = enumeration.codes_for(system)
        if codes is None:
            values[enumeration.name] = enumeration.values
        else:
            values[enumeration.name] = tuple(codes[value] for value in enumeration.values)
    return values


def translator_for(integration: Integration, scenario: Scenario) -> CodeTranslator | None:
    """The translator of ``scenario``, or ``None`` when its integration's system has no codes."""
    system = integration.system_name
    if system is None or not any(system in e.codes for e in integration.enumerations):
        return None
    return CodeTranslator(integration, scenario)


class CodeTranslator:
    """Turns a scenario's ENUM values into its system's codes (request) and back (reply)."""

    __slots__ = (
        "_definitions",
        "_to_engine",
        "_to_system",
        "reply_validator",
        "scenario",
        "system",
    )

    def __init__(self, integration: Integration, scenario: Scenario) -> None:
        system = integration.system_name
        if system is None:
            msg = f"integration {integration.identifier!r} has no system name"
            raise ValueError(msg)
        self.system = system
        self.scenario = scenario
        self._definitions: Mapping[str, DataModel] = integration.definitions
        to_system: dict[str, Mapping[str, str]] = {}
        to_engine: dict[str, Mapping[str, str]] = {}
        for enumeration in integration.enumerations:
            codes = enumeration.codes_for(system)
            if codes is not None:
                to_system[enumeration.name] = dict(codes)
                to_engine[enumeration.name] = {code: value for value, code in codes.items()}
        self._to_system: _Table = to_system
        self._to_engine: _Table = to_engine
        self.reply_validator = Validator(
            scenario.input_model,
            integration.definitions,
            enumeration_values(integration, system),
            subject=f"reply in the codes of system {system!r}",
        )

    def __repr__(self) -> str:
        return f"CodeTranslator({self.scenario.identifier!r}, system={self.system!r})"

    def request(self, payload: Any) -> Any:
        """A valid request (engine values) with the system's codes; ``payload`` is not changed."""
        return self._object(self.scenario.output_model.properties, payload, self._to_system)

    def reply(self, payload: Any) -> Any:
        """A reply in the system's codes, validated, with the engine's values.

        Raises :class:`~flowintegrations.ValidationError` naming the system when the reply
        is not valid in the system's codes.
        """
        try:
            self.reply_validator.validate(payload)
        except ValidationError as exc:
            violations = tuple(self._naming_system(v) for v in exc.violations)
            raise ValidationError(violations, subject=exc.subject) from None
        return self._object(self.scenario.input_model.properties, payload, self._to_engine)

    def _naming_system(self, violation: Violation) -> Violation:
        if violation.rule != "enum":
            return violation
        message = f"{violation.message} (the codes of system {self.system!r})"
        return Violation(violation.path, violation.rule, message, violation.value)

    # The walk: copies only what changes ---------------------------------------------------

    def _object(self, properties: tuple[Property, ...], value: Any, table: _Table) -> Any:
        if not isinstance(value, dict):
            return value
        changed: dict[str, Any] | None = None
        for prop in properties:
            if prop.name not in value:
                continue
            item = value[prop.name]
            new = self._value(prop, item, table)
            if new is not item:
                if changed is None:
                    changed = dict(value)
                changed[prop.name] = new
        return value if changed is None else changed

    def _value(self, prop: Property, item: Any, table: _Table) -> Any:
        if prop.type in (PropertyType.ARRAY, PropertyType.ARRAY_REF):
            if not isinstance(item, list):
                return item
            new = [self._element(prop, element, table) for element in item]
            return item if all(a is b for a, b in zip(new, item, strict=True)) else new
        return self._element(prop, item, table)

    def _element(self, prop: Property, item: Any, table: _Table) -> Any:
        kind = prop.element_type
        if kind is PropertyType.ENUM:
            mapping = table.get(prop.enumeration) if prop.enumeration is not None else None
            if mapping is None or not isinstance(item, str):
                return item
            return mapping.get(item, item)
        if kind is PropertyType.OBJECT_REF:
            assert prop.ref is not None  # guaranteed by Property's structure checks
            return self._object(self._definitions[prop.ref].properties, item, table)
        if kind is PropertyType.OBJECT:
            return self._object(prop.properties, item, table)
        return item
