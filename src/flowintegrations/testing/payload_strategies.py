"""Hypothesis strategies of payloads and headers: ``payloads``, ``invalid_payloads``, ``headers``.

``payloads(model)`` draws payloads that validate against ``model``; ``invalid_payloads(model)``
draws payloads that break it in exactly one place, each with the violation it must produce;
``headers(scenario)`` draws header sets a scenario accepts. Valid and invalid values are
drawn side by side by the same name resolution (:class:`NameResolver`) and type rules.
Import them from :mod:`flowintegrations.testing.strategies`; Hypothesis is a test
dependency: import this module from tests only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import attrs
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from flowintegrations.model import (
    DataModel,
    Enumeration,
    Integration,
    JSONValue,
    Property,
    PropertyType,
    Scenario,
    find_scenario,
    json_path_step,
)
from flowintegrations.model.datamodel import unresolved_message
from flowintegrations.validation.walker import JSON_TYPES

__all__ = [
    "CHARACTERS",
    "ENGINE_HEADERS",
    "TEXT",
    "ExpectedViolation",
    "NameResolver",
    "ValidValues",
    "headers",
    "invalid_payloads",
    "payloads",
]

T = TypeVar("T")

ENGINE_HEADERS = (
    "processInstanceId",
    "processInstanceUuid",
    "destinationId",
    "callbacksForAction",
    "Fx-AppId",
)
"""Headers the engine puts on its requests; :func:`headers` may add the optional ones."""

_MAX_ITEMS = 3
_MAX_EXTRA_KEYS = 2

# Payload values must survive a UTF-8 encoding: no lone surrogates.
CHARACTERS = st.characters(exclude_categories=["Cs"])
TEXT = st.text(CHARACTERS, max_size=12)
_NUMBERS = st.one_of(
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
)
_SCALARS = st.one_of(st.none(), st.booleans(), _NUMBERS, TEXT)
_JSON: SearchStrategy[JSONValue] = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=_MAX_ITEMS),
        st.dictionaries(TEXT, inner, max_size=_MAX_ITEMS),
    ),
    max_leaves=6,
)

# Values of every JSON type but one, for type violations (JSON Schema's type names).
_BY_TYPE: dict[str, SearchStrategy[JSONValue]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "number": _NUMBERS,
    "string": TEXT,
    "array": st.lists(_SCALARS, max_size=_MAX_ITEMS),
    "object": st.dictionaries(TEXT, _SCALARS, max_size=_MAX_ITEMS),
}


def _not_of_type(json_type: str) -> SearchStrategy[JSONValue]:
    return st.one_of([s for name, s in _BY_TYPE.items() if name != json_type])


@attrs.frozen
class ExpectedViolation:
    """The violation an invalid payload must produce: its JSON ``path`` and ``rule``.

    Compare it with what validation reports: ``expected.matches(violation)``.
    """

    path: str
    rule: str

    def matches(self, violation: Any) -> bool:
        """Whether ``violation`` (a :class:`~flowintegrations.Violation`) is this one."""
        return (violation.path, violation.rule) == (self.path, self.rule)


Enumerations = Mapping[str, Sequence[str]] | Iterable[Enumeration]
"""Named enumerations: a mapping of name to values, or ``Enumeration`` objects (as
``integration.enumerations`` holds them)."""


def _enumeration_values(enumerations: Enumerations | None) -> dict[str, tuple[str, ...]]:
    if enumerations is None:
        return {}
    if isinstance(enumerations, Mapping):
        return {name: tuple(values) for name, values in enumerations.items()}
    found: dict[str, tuple[str, ...]] = {}
    items: Iterable[object] = enumerations  # checked: a caller may pass anything
    for enumeration in items:
        if not isinstance(enumeration, Enumeration):
            msg = (
                "enumerations= takes a mapping of name to values or Enumeration objects, "
                f"got {enumeration!r}"
            )
            raise TypeError(msg)
        found[enumeration.name] = enumeration.values
    return found


class NameResolver:
    """Resolves references and enumeration names, failing with the name that is missing."""

    def __init__(
        self,
        definitions: Mapping[str, DataModel] | None,
        enumerations: Enumerations | None,
        integration: Integration | None = None,
    ) -> None:
        self.definitions: dict[str, DataModel] = dict(
            integration.definitions if integration else {}
        )
        self.definitions.update(definitions or {})
        self.enumerations = _enumeration_values(integration.enumerations if integration else ())
        self.enumerations.update(_enumeration_values(enumerations))
        self._hint = "integration= (or {})" if integration is None else "{}"

    def definition(self, prop: Property) -> DataModel:
        """The definition ``prop`` refers to (raises for an unresolved one)."""
        try:
            return self.definitions[prop.ref or ""]
        except KeyError:
            msg = unresolved_message(prop, "reference", self.definitions)
            raise LookupError(f"{msg}; pass {self._hint.format('definitions=')}") from None

    def enum_values(self, prop: Property) -> tuple[str, ...]:
        """The values ``prop`` (an ENUM) may take."""
        if prop.enumeration is None:
            return prop.enum
        try:
            return self.enumerations[prop.enumeration]
        except KeyError:
            msg = unresolved_message(prop, "enumeration", self.enumerations)
            raise LookupError(f"{msg}; pass {self._hint.format('enumerations=')}") from None

    def check(self, model: DataModel) -> None:
        """Resolve every name ``model`` uses, through references too; raise on the first miss.

        Strategies of references are deferred (a definition may refer to itself), so
        without this a missing name would surface only when a payload is drawn.
        """
        seen: set[str] = set()
        pending = [model]
        while pending:
            for prop in _all_properties(pending.pop().properties):
                if prop.element_type is PropertyType.ENUM:
                    self.enum_values(prop)
                elif prop.element_type is PropertyType.OBJECT_REF and prop.ref not in seen:
                    seen.add(prop.ref or "")
                    pending.append(self.definition(prop))


def _all_properties(properties: Sequence[Property]) -> Iterable[Property]:
    """``properties`` and every property nested in them (OBJECT and ARRAY of OBJECT)."""
    for prop in properties:
        yield prop
        yield from _all_properties(prop.properties)


def _resolve(
    model: DataModel | Scenario,
    integration: Integration | None,
    definitions: Mapping[str, DataModel] | None,
    enumerations: Enumerations | None,
) -> tuple[DataModel, NameResolver]:
    """The model (a scenario's request model) and its names, checked to resolve."""
    given: object = model  # checked: a caller may pass anything
    if isinstance(given, Scenario):
        given = given.output_model
    if not isinstance(given, DataModel):
        msg = f"expected a DataModel or a Scenario, got {type(given).__name__}"
        raise TypeError(msg)
    names = NameResolver(definitions, enumerations, integration)
    names.check(given)
    return given, names


class ValidValues:
    """Builds the strategy of valid values for models, properties and their elements."""

    def __init__(self, names: NameResolver) -> None:
        self.names = names
        self._refs: dict[str, SearchStrategy[dict[str, JSONValue]]] = {}

    def model(self, model: DataModel) -> SearchStrategy[dict[str, JSONValue]]:
        """Valid payloads of ``model``."""
        return self.object(model.properties, model.additional_properties)

    def object(
        self,
        properties: Sequence[Property],
        additional: bool,
        reserved: frozenset[str] = frozenset(),
    ) -> SearchStrategy[dict[str, JSONValue]]:
        """Objects with every mandatory property; extra keys avoid ``reserved`` names."""
        required = {p.name: self.value(p, additional) for p in properties if p.mandatory}
        optional = {p.name: self.value(p, additional) for p in properties if not p.mandatory}
        declared = st.fixed_dictionaries(required, optional=optional)
        if not additional:
            return declared
        taken = reserved | {p.name for p in properties}
        extra = st.dictionaries(
            TEXT.filter(lambda key: key not in taken), _JSON, max_size=_MAX_EXTRA_KEYS
        )
        return st.builds(_merged, declared, extra)

    def value(self, prop: Property, additional: bool) -> SearchStrategy[JSONValue]:
        """Valid values of ``prop`` (``additional``: its model allows more properties)."""
        if prop.type is PropertyType.ARRAY or prop.type is PropertyType.ARRAY_REF:
            return st.lists(self.element(prop, additional), max_size=_MAX_ITEMS)
        return self.element(prop, additional)

    def element(self, prop: Property, additional: bool) -> SearchStrategy[JSONValue]:
        """Valid items of ``prop``, an ARRAY."""
        kind = prop.element_type
        if kind is PropertyType.STRING:
            return TEXT
        if kind is PropertyType.NUMBER:
            return _NUMBERS
        if kind is PropertyType.BOOLEAN:
            return st.booleans()
        if kind is PropertyType.ENUM:
            return st.sampled_from(self.names.enum_values(prop))
        if kind is PropertyType.OBJECT_REF:
            return self.ref(prop)
        return self.object(prop.properties, additional)

    def ref(self, prop: Property) -> SearchStrategy[dict[str, JSONValue]]:
        """Valid values of the definition ``prop`` refers to."""
        model = self.names.definition(prop)
        name = prop.ref or ""
        if name not in self._refs:
            # Deferred: a definition may refer to others, built only when drawn.
            self._refs[name] = st.deferred(lambda: self.model(model))
        return self._refs[name]


def _merged(declared: dict[str, JSONValue], extra: dict[str, JSONValue]) -> dict[str, JSONValue]:
    return {**extra, **declared}


_Pair = tuple[JSONValue, ExpectedViolation]  # an invalid value and its one violation


class _Invalid:
    """Builds strategies of values with exactly one violation, and that violation."""

    def __init__(self, valid: ValidValues) -> None:
        self.valid = valid
        self.names = valid.names

    def model(self, model: DataModel) -> SearchStrategy[_Pair]:
        options = self.object_options(model.properties, model.additional_properties, "$")
        return _either([*options, self.wrong_type("object", "$")])

    def wrong_type(self, json_type: str, path: str) -> SearchStrategy[_Pair]:
        return _not_of_type(json_type).map(_paired_with(ExpectedViolation(path, "type")))

    def object(
        self, properties: Sequence[Property], additional: bool, path: str
    ) -> SearchStrategy[_Pair]:
        return _either(self.object_options(properties, additional, path))

    def object_options(
        self, properties: Sequence[Property], additional: bool, path: str
    ) -> list[SearchStrategy[_Pair]]:
        """One strategy per way to break an object: each property, and an undeclared key."""
        options: list[SearchStrategy[_Pair]] = []
        names = frozenset(p.name for p in properties)
        for prop in properties:
            here = f"{path}{json_path_step(prop.name)}"
            others = [p for p in properties if p.name != prop.name]
            rest = self.valid.object(others, additional, reserved=names)
            if prop.mandatory:
                missing = ExpectedViolation(here, "required")
                options.append(rest.map(_paired_with(missing)))
            options.append(st.tuples(rest, self.value(prop, additional, here)).map(_put(prop.name)))
        if not additional:
            options.append(
                st.tuples(
                    self.valid.object(properties, additional),
                    TEXT.filter(lambda key: key not in names),
                    _JSON,
                ).map(
                    lambda t: (
                        {**t[0], t[1]: t[2]},
                        ExpectedViolation(f"{path}{json_path_step(t[1])}", "additionalProperties"),
                    )
                )
            )
        return options

    def value(self, prop: Property, additional: bool, path: str) -> SearchStrategy[_Pair]:
        if prop.type is not PropertyType.ARRAY and prop.type is not PropertyType.ARRAY_REF:
            return self.element(prop, additional, path)
        items = st.lists(self.valid.element(prop, additional), max_size=_MAX_ITEMS - 1)

        def one_bad_item(before: list[JSONValue]) -> SearchStrategy[_Pair]:
            bad = self.element(prop, additional, f"{path}[{len(before)}]")
            return st.tuples(bad, items).map(
                lambda pair: ([*before, pair[0][0], *pair[1]], pair[0][1])
            )

        return _either([self.wrong_type("array", path), items.flatmap(one_bad_item)])

    def element(self, prop: Property, additional: bool, path: str) -> SearchStrategy[_Pair]:
        kind = prop.element_type
        options = [self.wrong_type(JSON_TYPES[kind], path)]
        if kind is PropertyType.ENUM:
            values = self.names.enum_values(prop)
            unknown = TEXT.filter(lambda v: v not in values)
            options.append(unknown.map(_paired_with(ExpectedViolation(path, "enum"))))
        elif kind is PropertyType.OBJECT:
            # An open object without properties cannot be broken inside: leave it out
            # rather than offer a branch that draws nothing.
            nested = self.object_options(prop.properties, additional, path)
            if nested:
                options.append(_either(nested))
        elif kind is PropertyType.OBJECT_REF:
            model = self.names.definition(prop)
            if model.properties or not model.additional_properties:
                options.append(
                    st.deferred(
                        lambda: self.object(model.properties, model.additional_properties, path)
                    )
                )
        return _either(options)


def _either(options: Sequence[SearchStrategy[_Pair]]) -> SearchStrategy[_Pair]:
    """One of ``options``, each as likely as the others, shrinking towards the first.

    ``st.one_of`` would flatten nested one_ofs (a wrong type is one of five JSON types),
    making the root's type violation far likelier than a violation deep in the payload.
    """
    if len(options) == 1:
        return options[0]
    if not options:
        return st.nothing()
    return st.sampled_from(options).flatmap(lambda option: option)


def _paired_with(violation: ExpectedViolation) -> Callable[[JSONValue], _Pair]:
    def pair(value: JSONValue) -> _Pair:
        return value, violation

    return pair


def _put(name: str) -> Callable[[tuple[dict[str, JSONValue], _Pair]], _Pair]:
    """Put an invalid value under ``name`` into an otherwise valid object."""

    def put(parts: tuple[dict[str, JSONValue], _Pair]) -> _Pair:
        valid, (value, violation) = parts
        return {**valid, name: value}, violation

    return put


def payloads(
    model: DataModel | Scenario,
    integration: Integration | None = None,
    *,
    definitions: Mapping[str, DataModel] | None = None,
    enumerations: Enumerations | None = None,
) -> SearchStrategy[dict[str, JSONValue]]:
    """Payloads that validate against ``model`` (for a :class:`Scenario`: its request model).

    Every property type is covered; optional properties are present or absent; models
    that allow additional properties get a few extra keys; arrays hold up to three items.
    ``integration`` (the one the model belongs to) resolves OBJECT_REF / ARRAY_REF
    properties and ENUMs that name an enumeration; ``definitions`` and ``enumerations``
    (name -> values, or :class:`~flowintegrations.Enumeration` objects) add to or replace
    its names. A name that does not resolve, at any depth, raises ``LookupError`` when the
    strategy is built. Examples shrink towards the smallest payload: mandatory properties
    only, empty strings and arrays, zeros.
    """
    found, names = _resolve(model, integration, definitions, enumerations)
    return ValidValues(names).model(found)


def invalid_payloads(
    model: DataModel | Scenario,
    integration: Integration | None = None,
    *,
    definitions: Mapping[str, DataModel] | None = None,
    enumerations: Enumerations | None = None,
) -> SearchStrategy[tuple[JSONValue, ExpectedViolation]]:
    """Pairs ``(payload, expected)``: a payload with exactly one violation, and that violation.

    The one violation is a missing mandatory property (rule ``required``), a value of the
    wrong JSON type (``type``, the root included), a value outside an ENUM (``enum``) or an
    undeclared key where additional properties are not allowed (``additionalProperties``),
    at any depth: nested objects, array items, references. Everything else in the payload
    is valid, so validation reports exactly ``expected``. Arguments as for :func:`payloads`.
    """
    found, names = _resolve(model, integration, definitions, enumerations)
    return _Invalid(ValidValues(names)).model(found)


_HEADER_VALUES: dict[str, SearchStrategy[str]] = {
    "processInstanceId": st.integers(min_value=1, max_value=2**53).map(str),
    "processInstanceUuid": st.uuids().map(str),
}


def headers(
    scenario: Scenario | str, integration: Integration | None = None
) -> SearchStrategy[dict[str, str]]:
    """Header sets (name -> str value) that ``scenario`` accepts, as the engine sends them.

    Every mandatory header is present, and ``processInstanceId`` always is (the engine
    puts it on every request); the scenario's optional headers and the engine's other
    headers (:data:`ENGINE_HEADERS`) are present or absent. ``processInstanceId`` is a
    number, ``processInstanceUuid`` a UUID, others any text that encodes as UTF-8.
    ``scenario`` may be an identifier of ``integration``'s scenarios; one that is not there
    raises ``LookupError`` when the strategy is built.
    """
    if isinstance(scenario, str):
        if integration is None:
            msg = f"headers({scenario!r}) names a scenario: pass its integration too"
            raise TypeError(msg)
        try:
            _, scenario = find_scenario((integration,), scenario)
        except LookupError:
            known = ", ".join(repr(s.identifier) for s in integration.scenarios) or "none"
            msg = (
                f"integration {integration.identifier!r} has no scenario {scenario!r} "
                f"(it has: {known})"
            )
            raise LookupError(msg) from None
    declared = {h.name: h for h in scenario.headers}
    required = {
        name: _HEADER_VALUES.get(name, TEXT)
        for name, header in declared.items()
        if header.mandatory
    }
    required.setdefault("processInstanceId", _HEADER_VALUES["processInstanceId"])
    optional = {
        name: _HEADER_VALUES.get(name, TEXT)
        for name in (*declared, *ENGINE_HEADERS)
        if name not in required
    }
    return st.fixed_dictionaries(required, optional=optional)


# Structures -------------------------------------------------------------------------------
