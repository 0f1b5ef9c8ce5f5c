"""Hypothesis strategies of declarations: ``data_models``, ``integrations``, ``catalogs``.

They draw valid structures (every example valid, every reference resolved), for testing
code that works on *any* model. Import them from :mod:`flowintegrations.testing.strategies`.
Hypothesis is a test dependency: import this module from tests only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import attrs
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from flowintegrations.model import (
    DEFAULT_HEADERS,
    Catalog,
    DataModel,
    Enumeration,
    Header,
    Integration,
    Property,
    PropertyType,
    Scenario,
    TopicBinding,
)
from flowintegrations.testing.payload_strategies import CHARACTERS, TEXT, NameResolver, ValidValues

__all__ = ["catalogs", "data_models", "integrations"]

T = TypeVar("T")

_NAMES = st.text(CHARACTERS, min_size=1, max_size=8)
_TOPICS = st.from_regex(r"[A-Za-z0-9._-]{1,40}", fullmatch=True).filter(
    lambda name: name not in {".", ".."}
)
_ITEM_TYPES = (
    PropertyType.STRING,
    PropertyType.NUMBER,
    PropertyType.BOOLEAN,
    PropertyType.ENUM,
    PropertyType.OBJECT,
    PropertyType.OBJECT_REF,
)


def _unique(
    strategy: SearchStrategy[T], key: Callable[[T], Any], max_size: int
) -> SearchStrategy[list[T]]:
    return st.lists(strategy, max_size=max_size, unique_by=key)


@st.composite
def _property(
    draw: st.DrawFn,
    name: str,
    depth: int,
    additional: bool,
    names: NameResolver,
) -> Property:
    kinds = [PropertyType.STRING, PropertyType.NUMBER, PropertyType.BOOLEAN, PropertyType.ENUM]
    if depth > 0:
        kinds += [PropertyType.OBJECT, PropertyType.ARRAY]
    if names.definitions:
        kinds += [PropertyType.OBJECT_REF, PropertyType.ARRAY_REF]
    kind = draw(st.sampled_from(kinds))
    item_type = None
    element = kind
    if kind is PropertyType.ARRAY:
        allowed = [t for t in _ITEM_TYPES if t is not PropertyType.OBJECT_REF or names.definitions]
        item_type = element = draw(st.sampled_from(allowed))
    elif kind is PropertyType.ARRAY_REF:
        element = PropertyType.OBJECT_REF
    options: dict[str, Any] = {
        "mandatory": draw(st.booleans()),
        "description": draw(st.sampled_from(["", "A property."]) | TEXT),
    }
    if element is PropertyType.OBJECT:
        options["properties"] = draw(_properties(depth - 1, additional, names))
    elif element is PropertyType.OBJECT_REF:
        options["ref"] = draw(st.sampled_from(sorted(names.definitions)))
    elif element is PropertyType.ENUM:
        named: bool = bool(names.enumerations) and draw(st.booleans())
        if named:
            options["enumeration"] = draw(st.sampled_from(sorted(names.enumerations)))
        else:
            options["enum"] = tuple(draw(st.lists(TEXT, min_size=1, max_size=4, unique=True)))
    prop = Property(name, kind, item_type=item_type, **options)
    if draw(st.booleans()):
        example = draw(ValidValues(names).value(prop, additional))
        prop = attrs.evolve(prop, example=example)
    return prop


@st.composite
def _properties(
    draw: st.DrawFn, depth: int, additional: bool, names: NameResolver
) -> tuple[Property, ...]:
    chosen = draw(st.lists(_NAMES, max_size=4, unique=True))
    return tuple(draw(_property(name, depth, additional, names)) for name in chosen)


@st.composite
def _data_models(
    draw: st.DrawFn,
    definitions: Mapping[str, DataModel] | None,
    enumerations: Mapping[str, Sequence[str]] | None,
    max_depth: int,
) -> DataModel:
    names = NameResolver(definitions, enumerations)
    additional = draw(st.booleans())
    properties = draw(_properties(max_depth, additional, names))
    return DataModel(properties, additional_properties=additional)


def data_models(
    *,
    definitions: Mapping[str, DataModel] | None = None,
    enumerations: Mapping[str, Sequence[str]] | None = None,
    max_depth: int = 2,
) -> SearchStrategy[DataModel]:
    """Valid data models of every property type, up to ``max_depth`` nested levels.

    Properties have any non-empty names (quotes, backslashes and other unicode included),
    may be mandatory, and may carry a valid example. OBJECT_REF / ARRAY_REF properties refer
    to names in ``definitions`` and ENUMs may name one of ``enumerations``; without them,
    models use neither.
    """
    return _data_models(definitions, enumerations, max_depth)


@st.composite
def _scenario(
    draw: st.DrawFn,
    identifier: str,
    definitions: Mapping[str, DataModel],
    enumerations: Mapping[str, Sequence[str]],
) -> Scenario:
    environments = draw(_unique(st.none() | _NAMES, lambda e: e, max_size=3))
    topics = [
        TopicBinding(draw(_TOPICS), draw(st.none() | _TOPICS), environment=environment)
        for environment in environments
    ]
    models = data_models(definitions=definitions, enumerations=enumerations, max_depth=1)
    input_model = draw(models)
    declared = draw(
        _unique(
            st.builds(
                Header,
                _NAMES,
                mandatory=st.booleans(),
                propagate=st.booleans(),
                secret=st.booleans(),
            ),
            lambda h: h.name,
            max_size=3,
        )
    )
    error = [p for p in input_model.properties if p.name == "error"]
    error_reply = (
        draw(st.booleans())
        and all(p.type is PropertyType.STRING for p in error)
        and not any(p.mandatory and p.name != "error" for p in input_model.properties)
        and (bool(error) or input_model.additional_properties)
    )
    return Scenario(
        draw(_NAMES),
        identifier,
        topics=topics,
        input_model=input_model,
        output_model=draw(models),
        headers=declared if draw(st.booleans()) else DEFAULT_HEADERS,
        error_reply=error_reply,
        description=draw(TEXT),
        used_by=draw(st.lists(_NAMES, max_size=2, unique=True)),
    )


@st.composite
def _integration(draw: st.DrawFn, max_scenarios: int) -> Integration:
    enumerations = draw(
        _unique(
            st.builds(Enumeration, _NAMES, st.lists(TEXT, min_size=1, max_size=3, unique=True)),
            lambda e: e.name,
            max_size=2,
        )
    )
    system_name = draw(st.none() | _NAMES)
    if system_name is not None:
        # Some enumerations carry codes for the integration's system: one per value.
        enumerations = [
            attrs.evolve(e, codes={system_name: {v: f"{i}:{v}" for i, v in enumerate(e.values)}})
            if draw(st.booleans())
            else e
            for e in enumerations
        ]
    values = {e.name: e.values for e in enumerations}
    definitions: dict[str, DataModel] = {}
    for name in draw(st.lists(_NAMES, max_size=2, unique=True)):
        # Each definition may refer only to earlier ones: no cycles.
        definitions[name] = draw(
            data_models(definitions=dict(definitions), enumerations=values, max_depth=1)
        )
    identifiers = draw(st.lists(_NAMES, max_size=max_scenarios, unique=True))
    scenarios = [draw(_scenario(i, definitions, values)) for i in identifiers]
    return Integration(
        draw(_NAMES),
        draw(_NAMES),
        system_name=system_name,
        scenarios=scenarios,
        definitions=definitions,
        enumerations=enumerations,
        description=draw(TEXT),
    )


def integrations(*, max_scenarios: int = 2) -> SearchStrategy[Integration]:
    """Valid integrations with up to ``max_scenarios`` scenarios.

    Scenarios have topics, headers and models; definitions refer to each other without
    cycles; ENUMs may name the integration's enumerations.
    """
    return _integration(max_scenarios)


def catalogs(*, max_integrations: int = 2) -> SearchStrategy[Catalog]:
    """Valid catalogs of up to ``max_integrations`` integrations with unique identifiers."""
    return _unique(integrations(), lambda i: i.identifier, max_size=max_integrations).map(Catalog)
