"""The describe answer (``/metadata``, ``/metadata/install``): actions, types, flags.

Written from :mod:`flowintegrations.flow.types`, so what is described is exactly what the
value converter reads and writes. Both spellings of a DescribeValue's flag and position are
sent (``required`` and ``isRequired``, ``ordinal`` and ``order``): the Java SDK writes the
first, the .NET SDK and the engine's own schema the second.

Types: every object type is a TypeElement. A type with data actions (Load, Save, Delete)
carries a binding (``databaseTableName`` = its name, a property binding per property), so
that Flow's database map elements can use it, and then ``providesDatabase`` is true; other
types have none. ``providesFiles`` is true when the service lists or takes files.

A type element has at least one property: the Java SDK refuses one without
(``TypeHasNoPropertiesException``). An object without declared properties (a free-form
OBJECT such as the example's ``send-email request data``) therefore has no Flow type: it
is left out of the answer, and so is every service input, output or type property of that
type (and a type left with no properties after that, in turn). Flow can neither send nor
receive such a value; declare its properties if Flow must.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from flowintegrations.flow.types import Action, Field, Shape

__all__ = ["PROVIDES", "describe_answer", "empty_types"]

PROVIDES = (
    "providesAutoBinding",
    "providesDatabase",
    "providesFiles",
    "providesIdentity",
    "providesListening",
    "providesLogic",
    "providesNotifications",
    "providesSharing",
    "providesSmartSave",
    "providesSocial",
    "providesViews",
    "providesVoting",
)
"""Every capability flag of a describe answer."""


def empty_types(types: Iterable[Shape]) -> frozenset[str]:
    """The names of the types that have no property Flow can describe (see the module)."""
    shapes = tuple(types)
    empty: set[str] = set()
    changed = True
    while changed:
        changed = False
        for shape in shapes:
            if shape.type_name not in empty and not _kept(shape.fields, empty):
                empty.add(shape.type_name)
                changed = True
    return frozenset(empty)


def _kept(fields: Iterable[Field], empty: Collection[str]) -> tuple[Field, ...]:
    return tuple(f for f in fields if f.shape is None or f.shape.type_name not in empty)


def _describe_value(field: Field, ordinal: int) -> dict[str, Any]:
    shape = field.shape
    return {
        "developerName": field.name,
        "contentType": field.wire_type.value,
        "contentValue": None,
        "typeElementDeveloperName": None if shape is None else shape.type_name,
        "required": field.mandatory,
        "isRequired": field.mandatory,
        "ordinal": ordinal,
        "order": ordinal,
    }


def _action(action: Action, empty: Collection[str]) -> dict[str, Any]:
    scenario = action.scenario
    inputs = _kept(action.inputs.fields, empty)
    outputs = _kept(action.outputs.fields, empty)
    return {
        "developerName": scenario.name,
        "developerSummary": scenario.description or scenario.name,
        "uriPart": f"actions/{action.uri_part}",
        "serviceInputs": [_describe_value(f, i) for i, f in enumerate(inputs)],
        "serviceOutputs": [_describe_value(f, i) for i, f in enumerate(outputs)],
        "serviceActionOutcomes": [],
        "isViewMessageAction": False,
    }


def _type_element(shape: Shape, bound: bool, empty: Collection[str]) -> dict[str, Any]:
    fields = _kept(shape.fields, empty)
    properties = [
        {
            "id": None,
            "developerName": field.name,
            "contentType": field.wire_type.value,
            "contentFormat": None,
            "typeElementId": None,
            "typeElementDeveloperName": None if field.shape is None else field.shape.type_name,
        }
        for field in fields
    ]
    bindings = []
    if bound:
        bindings.append(
            {
                "id": None,
                "developerName": shape.type_name,
                "developerSummary": shape.summary,
                "databaseTableName": shape.type_name,
                "serviceElementId": None,
                "propertyBindings": [
                    {
                        "databaseFieldName": field.name,
                        "typeElementPropertyId": None,
                        "typeElementPropertyDeveloperName": field.name,
                        "databaseContentType": field.wire_type.value,
                    }
                    for field in fields
                ],
            }
        )
    return {
        "elementType": "TYPE",
        "id": None,
        "serviceElementId": None,
        "developerName": shape.type_name,
        "developerSummary": shape.summary,
        "properties": properties,
        "bindings": bindings,
        "updateByName": False,
    }


def describe_answer(
    actions: Iterable[Action],
    types: Iterable[Shape],
    *,
    bound: Collection[str] = (),
    files: bool = False,
    culture: Any = None,
    uri: Any = None,
) -> dict[str, Any]:
    """The DescribeServiceResponse for ``actions`` and ``types``.

    The types named in ``bound`` (those with data actions) get a binding; ``culture`` and
    ``uri`` are echoed from the request. ``providesLogic`` is true when there is an action,
    ``providesDatabase`` when a type is bound, ``providesFiles`` when ``files``; every other
    flag is false.
    """
    actions = tuple(actions)
    types = tuple(types)
    bound = frozenset(bound)
    empty = empty_types(types)
    answer: dict[str, Any] = {"culture": culture, "uri": uri, "configurationValues": []}
    answer.update(dict.fromkeys(PROVIDES, False))
    answer["providesLogic"] = bool(actions)
    answer["providesDatabase"] = bool(bound)
    answer["providesFiles"] = files
    answer["actions"] = [_action(a, empty) for a in actions]
    answer["install"] = {
        "typeElements": [
            _type_element(s, s.type_name in bound, empty) for s in types if s.type_name not in empty
        ],
    }
    return answer
