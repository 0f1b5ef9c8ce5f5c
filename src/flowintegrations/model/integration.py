"""Integrations and their scenarios: Scenario, Enumeration, Integration."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

import attrs

from flowintegrations.errors import CatalogError, CatalogProblem, MissingTopicError
from flowintegrations.model.checks import model_example_problems
from flowintegrations.model.datamodel import (
    DataModel,
    Definitions,
    FrozenDict,
    Property,
    PropertyType,
    _duplicates,
    _to_tuple,
    json_path_step,
    unresolved_message,
)
from flowintegrations.model.examples import Example
from flowintegrations.model.headers import DEFAULT_HEADERS, Header
from flowintegrations.model.topics import TopicBinding

__all__ = ["Definitions", "Enumeration", "Integration", "Scenario", "iter_properties"]

"""Named data models that OBJECT_REF and ARRAY_REF properties refer to."""


def _non_empty(what: str, key: str) -> Any:
    def check(instance: object, attribute: object, value: object) -> None:
        if not isinstance(value, str) or not value:
            raise CatalogError(f"{what} must be a non-empty string, got {value!r}", key)

    return check


def iter_properties(
    properties: tuple[Property, ...], path: str = "$.properties"
) -> Iterator[tuple[Property, str]]:
    """Every property, nested ones included, with its path (``$.properties[0].properties[1]``)."""
    for index, prop in enumerate(properties):
        here = f"{path}[{index}]"
        yield prop, here
        yield from iter_properties(prop.properties, f"{here}.properties")


@attrs.frozen(cache_hash=True)
class Scenario:
    """One exchange the engine has with an adapter (generate OTP, send e-mail, ...).

    ``output_model`` is what the engine sends on the out topic (the adapter's request);
    ``input_model`` is what the engine reads on the in topic (the adapter's reply).
    ``error_reply=True`` answers a failed request with ``{"error": "<message>"}`` instead of
    leaving the process waiting, so the input model must allow that payload.
    ``examples`` are example exchanges (:class:`~flowintegrations.model.Example`) that
    document the scenario and that the pytest plugin runs against its handler.
    ``used_by`` names the processes that use the scenario, so that a catalog diff can say
    which of them a breaking change affects.
    A deferred reply (``ctx.defer()``) leaves the ``secret`` headers out of its token, so
    its answer goes without them; ``defer_secret_headers=True`` keeps them in (the token is
    signed, not encrypted: it must then be stored like a secret).
    """

    name: str = attrs.field(validator=_non_empty("a scenario name", "$.name"))
    identifier: str = attrs.field(validator=_non_empty("a scenario identifier", "$.identifier"))
    topics: tuple[TopicBinding, ...] = attrs.field(default=(), kw_only=True, converter=_to_tuple)
    input_model: DataModel = attrs.field(factory=DataModel, kw_only=True)
    output_model: DataModel = attrs.field(factory=DataModel, kw_only=True)
    headers: tuple[Header, ...] = attrs.field(
        default=DEFAULT_HEADERS, kw_only=True, converter=_to_tuple
    )
    error_reply: bool = attrs.field(default=False, kw_only=True)
    description: str = attrs.field(default="", kw_only=True)
    examples: tuple[Example, ...] = attrs.field(default=(), kw_only=True, converter=_to_tuple)
    used_by: tuple[str, ...] = attrs.field(default=(), kw_only=True, converter=_to_tuple)
    defer_secret_headers: bool = attrs.field(default=False, kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = list(self._structure_problems())
        if problems:
            raise CatalogError(problems)

    def _structure_problems(self) -> Iterator[CatalogProblem]:
        for index, process in enumerate(self.used_by):
            if not isinstance(process, str) or not process:
                yield CatalogProblem(
                    f"$.usedBy[{index}]",
                    f"a process name in usedBy is a non-empty string, got {process!r}",
                    process,
                )
        yield from _duplicates(self.used_by, "$.usedBy", "process")
        environments = [binding.environment for binding in self.topics]
        for problem in _duplicates(
            environments, "$.topics", "binding for environment", ".environment"
        ):
            label = "every environment (None)" if problem.value is None else repr(problem.value)
            yield CatalogProblem(
                problem.path,
                f"two topic bindings for {label} in scenario {self.identifier!r}",
                problem.value,
            )
        yield from _duplicates([h.name for h in self.headers], "$.headers", "header", ".name")
        if self.error_reply:
            yield from self._error_reply_problems()
        yield from _duplicates([e.name for e in self.examples], "$.examples", "example", ".name")
        for index, example in enumerate(self.examples):
            if example.error is not None and not self.error_reply:
                yield CatalogProblem(
                    f"$.examples[{index}].error",
                    f"example {example.name!r} expects an error reply, but scenario "
                    f"{self.identifier!r} does not send error replies (errorReply is false)",
                    example.name,
                )

    def _error_reply_problems(self) -> Iterator[CatalogProblem]:
        model = self.input_model
        for index, prop in enumerate(model.properties):
            if prop.name == "error" and prop.type is not PropertyType.STRING:
                yield CatalogProblem(
                    f"$.inputModel.properties[{index}].type",
                    "with errorReply the input model's 'error' property must be a STRING",
                    prop.type.value,
                )
            elif prop.name != "error" and prop.mandatory:
                yield CatalogProblem(
                    f"$.inputModel.properties[{index}].mandatory",
                    f"with errorReply an error reply {{'error': ...}} must be valid, "
                    f"but {prop.name!r} is mandatory",
                    prop.name,
                )
        declared = any(p.name == "error" for p in model.properties)
        if not declared and not model.additional_properties:
            yield CatalogProblem(
                "$.inputModel.additionalProperties",
                "with errorReply the input model must declare an 'error' STRING property "
                "or allow additional properties",
                False,
            )

    @property
    def environments(self) -> tuple[str | None, ...]:
        """The environments this scenario has bindings for (``None`` = the default)."""
        return tuple(binding.environment for binding in self.topics)

    def binding(self, environment: str | None) -> TopicBinding:
        """The topics for ``environment``: its own binding, else the default (``None``) one.

        Raises :class:`~flowintegrations.CatalogError` naming the scenario and the
        environments it has when neither exists.
        """
        default = None
        for binding in self.topics:
            if binding.environment == environment:
                return binding
            if binding.environment is None:
                default = binding
        if default is not None:
            return default
        have = ", ".join(repr(e) if e else "default" for e in self.environments) or "none"
        raise CatalogError(
            f"scenario {self.identifier!r} has no topics for environment {environment!r} "
            f"(it has: {have})",
            "$.topics",
        )

    def topic(self, side: Literal["in", "out"], environment: str | None) -> str:
        """The ``side`` topic (``"in"``: replies, ``"out"``: requests) in ``environment``.

        The one place the rule "this scenario has no in/out topic here" is checked: raises
        :class:`~flowintegrations.errors.MissingTopicError` when the binding of
        ``environment`` has none, and :class:`~flowintegrations.CatalogError` when there is
        no binding (see :meth:`binding`).
        """
        binding = self.binding(environment)
        topic = binding.in_topic if side == "in" else binding.out_topic
        if topic is None:
            raise MissingTopicError(self.identifier, side, environment)
        return topic

    @property
    def secret_headers(self) -> frozenset[str]:
        """Names of the headers marked secret."""
        return frozenset(h.name for h in self.headers if h.secret)


def _to_codes(value: Mapping[str, Mapping[str, str]]) -> FrozenDict:
    if isinstance(value, FrozenDict) and all(isinstance(c, FrozenDict) for c in value.values()):
        return value
    if not isinstance(value, Mapping):
        raise CatalogError(
            f"codes must be a mapping of system name to {{value: code}}, got {value!r}", "$.codes"
        )
    return FrozenDict(
        (system, FrozenDict(codes) if isinstance(codes, Mapping) else codes)
        for system, codes in value.items()
    )


@attrs.frozen(cache_hash=True)
class Enumeration:
    """A named set of values that ENUM properties can refer to by ``enumeration=name``.

    ``codes`` gives, per source system, the code that system uses for each value:
    ``codes={"CRM": {"RO": "ROU", "DE": "DEU"}}``. An integration whose ``system_name`` is
    ``"CRM"`` hands its handler ``"ROU"`` where the engine sent ``"RO"``, and turns the
    handler's ``"DEU"`` back into ``"DE"``. A system's codes cover every value, once each.
    """

    name: str = attrs.field(validator=_non_empty("an enumeration name", "$.name"))
    values: tuple[str, ...] = attrs.field(converter=_to_tuple)
    description: str = attrs.field(default="", kw_only=True)
    codes: Mapping[str, Mapping[str, str]] = attrs.field(
        factory=FrozenDict, kw_only=True, converter=_to_codes
    )

    def __attrs_post_init__(self) -> None:
        problems = [
            CatalogProblem(f"$.values[{i}]", f"enumeration values are strings, got {v!r}", v)
            for i, v in enumerate(self.values)
            if not isinstance(v, str)
        ]
        if not self.values:
            problems.append(
                CatalogProblem("$.values", f"enumeration {self.name!r} has no values", [])
            )
        problems.extend(_duplicates(self.values, "$.values", "enumeration value"))
        problems.extend(self._code_problems())
        if problems:
            raise CatalogError(problems)

    def _code_problems(self) -> Iterator[CatalogProblem]:
        # Built in code, codes may hold anything: every part is checked here.
        entries: list[tuple[Any, Any]] = list(self.codes.items())
        for system, codes in entries:
            where = f"$.codes{json_path_step(system) if isinstance(system, str) else ''}"
            if not isinstance(system, str) or not system:
                yield CatalogProblem(
                    "$.codes", f"a system name is a non-empty string, got {system!r}", system
                )
                continue
            if not isinstance(codes, Mapping):
                yield CatalogProblem(
                    where, f"codes of system {system!r} are an object of value: code", codes
                )
                continue
            first: dict[str, str] = {}
            for value, code in codes.items():
                here = f"{where}{json_path_step(value)}"
                if value not in self.values:
                    yield CatalogProblem(
                        here,
                        f"system {system!r} has a code for {value!r}, which is not a value of "
                        f"enumeration {self.name!r}",
                        value,
                    )
                if not isinstance(code, str) or not code:
                    yield CatalogProblem(here, f"a code is a non-empty string, got {code!r}", code)
                elif code in first:
                    yield CatalogProblem(
                        here,
                        f"duplicate code {code!r} in system {system!r} (also the code of "
                        f"{first[code]!r})",
                        code,
                    )
                else:
                    first[code] = value
            missing = [v for v in self.values if v not in codes]
            if missing:
                shown = ", ".join(repr(v) for v in missing)
                yield CatalogProblem(
                    where,
                    f"system {system!r} has no code for {shown} of enumeration {self.name!r}",
                    missing,
                )

    def codes_for(self, system: str | None) -> Mapping[str, str] | None:
        """Value -> code for ``system``, or ``None`` when it has no codes (values are used)."""
        if system is None:
            return None
        return self.codes.get(system)


def _to_definitions(value: Mapping[str, DataModel]) -> FrozenDict:
    if isinstance(value, FrozenDict):
        return value
    if not isinstance(value, Mapping):
        raise CatalogError(
            f"definitions must be a mapping of name to DataModel, got {value!r}", "$.definitions"
        )
    return FrozenDict(value)


@attrs.frozen(cache_hash=True)
class Integration:
    """A component the engine talks to (a plugin, an adapter) and its scenarios.

    ``definitions`` are named data models for OBJECT_REF / ARRAY_REF properties;
    ``enumerations`` are named value sets for ENUM properties; ``system_name`` is the source
    system whose enumeration values the integration uses.
    """

    name: str = attrs.field(validator=_non_empty("an integration name", "$.name"))
    identifier: str = attrs.field(validator=_non_empty("an integration identifier", "$.identifier"))
    system_name: str | None = attrs.field(default=None, kw_only=True)
    scenarios: tuple[Scenario, ...] = attrs.field(default=(), kw_only=True, converter=_to_tuple)
    definitions: FrozenDict = attrs.field(
        factory=FrozenDict, kw_only=True, converter=_to_definitions
    )
    enumerations: tuple[Enumeration, ...] = attrs.field(
        default=(), kw_only=True, converter=_to_tuple
    )
    description: str = attrs.field(default="", kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = list(self._structure_problems())
        if problems:
            raise CatalogError(problems)

    def scenario(self, identifier: str) -> Scenario:
        """The scenario called ``identifier``; raises :class:`~flowintegrations.CatalogError`."""
        for scenario in self.scenarios:
            if scenario.identifier == identifier:
                return scenario
        known = ", ".join(repr(s.identifier) for s in self.scenarios) or "none"
        raise CatalogError(
            f"integration {self.identifier!r} has no scenario {identifier!r} (it has: {known})",
            "$.scenarios",
        )

    def enumeration(self, name: str) -> Enumeration:
        """The enumeration called ``name``; raises ``KeyError`` if there is none."""
        for enumeration in self.enumerations:
            if enumeration.name == name:
                return enumeration
        raise KeyError(name)

    def enum_values(self, prop: Property) -> tuple[str, ...]:
        """The allowed values of an ENUM property (or ARRAY of ENUM), resolving enumerations."""
        if prop.enumeration is not None:
            return self.enumeration(prop.enumeration).values
        return prop.enum

    # Cross-reference checks ---------------------------------------------------------------

    def _structure_problems(self) -> Iterator[CatalogProblem]:
        if self.system_name is not None and (
            not isinstance(self.system_name, str) or not self.system_name
        ):
            yield CatalogProblem(
                "$.systemName",
                f"a system name is a non-empty string or absent, got {self.system_name!r}",
                self.system_name,
            )
        yield from _duplicates(
            [s.identifier for s in self.scenarios],
            "$.scenarios",
            "scenario identifier",
            ".identifier",
        )
        yield from _duplicates(
            [e.name for e in self.enumerations], "$.enumerations", "enumeration name", ".name"
        )
        enumerations = {e.name for e in self.enumerations}
        values = {e.name: e.values for e in self.enumerations}
        for name, model in self.definitions.items():
            where = f"$.definitions{json_path_step(name)}"
            if not isinstance(name, str) or not name:
                yield CatalogProblem(
                    "$.definitions",
                    f"a definition name must be a non-empty string, got {name!r}",
                    name,
                )
            if not isinstance(model, DataModel):
                yield CatalogProblem(
                    where, f"a definition must be a DataModel, got {model!r}", model
                )
                continue
            yield from self._model_problems(model, where, enumerations, values)
        for index, scenario in enumerate(self.scenarios):
            for key, model in (
                ("inputModel", scenario.input_model),
                ("outputModel", scenario.output_model),
            ):
                yield from self._model_problems(
                    model, f"$.scenarios[{index}].{key}", enumerations, values
                )
        yield from self._cycle_problems()

    def _model_problems(
        self,
        model: DataModel,
        where: str,
        enumerations: set[str],
        values: Mapping[str, tuple[str, ...]],
    ) -> Iterator[CatalogProblem]:
        unresolved = False
        for prop, path in iter_properties(model.properties, f"{where}.properties"):
            if prop.ref is not None and prop.ref not in self.definitions:
                yield CatalogProblem(
                    f"{path}.ref", unresolved_message(prop, "reference", self.definitions), prop.ref
                )
                unresolved = True
            if prop.enumeration is not None and prop.enumeration not in enumerations:
                yield CatalogProblem(
                    f"{path}.enumeration",
                    unresolved_message(prop, "enumeration", sorted(enumerations)),
                    prop.enumeration,
                )
                unresolved = True
        if not unresolved:
            # Properties checked their examples alone; references and named enumerations
            # resolve only here.
            yield from model_example_problems(
                model.properties,
                f"{where}.properties",
                additional=model.additional_properties,
                definitions=self.definitions,
                enumerations=values,
            )

    def _cycle_problems(self) -> Iterator[CatalogProblem]:
        edges = {
            name: sorted(
                {
                    p.ref
                    for p, _ in iter_properties(model.properties)
                    if p.ref is not None and p.ref in self.definitions
                }
            )
            for name, model in self.definitions.items()
            if isinstance(model, DataModel)
        }
        reported: set[frozenset[str]] = set()
        for start in edges:
            cycle = _find_cycle(start, edges)
            if cycle is not None and frozenset(cycle) not in reported:
                reported.add(frozenset(cycle))
                chain = " -> ".join(repr(n) for n in [*cycle, cycle[0]])
                yield CatalogProblem(
                    f"$.definitions{json_path_step(cycle[0])}",
                    f"definitions refer to each other in a cycle: {chain}",
                    cycle[0],
                )


def _find_cycle(start: str, edges: Mapping[str, list[str]]) -> list[str] | None:
    """The cycle through ``start`` as a list of names, or ``None`` (iterative DFS)."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, trail = stack.pop()
        for nxt in edges.get(node, ()):
            if nxt == start:
                return trail
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*trail, nxt]))
    return None
