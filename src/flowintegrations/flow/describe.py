"""The describe answer (``/metadata``, ``/metadata/install``): actions, types, flags.

Written from :mod:`flowintegrations.flow.types`, so what is described is exactly what the
value converter reads and writes. Both spellings of a DescribeValue's flag and position are
sent (``required`` and ``isRequired``, ``ordinal`` and ``order``): the Java SDK writes the
first, the .NET SDK and the engine's own schema the second.

Types: every object type is a TypeElement. A type with data actions (Load, Save, Delete)
carries a binding (``databaseTableName`` = its name, a property binding per property), so
that Flow's database map elements can use it, and then ``providesDatabase`` is true; other
types have none. ``providesFiles`` is true when the service lists or takes files.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from flowintegrations.flow.types import Action, Field, Shape

__all__ = ["PROVIDES", "describe_answer"]

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


def _action(action: Action) -> dict[str, Any]:
    scenario = action.scenario
    return {
        "developerName": scenario.name,
        "developerSummary": scenario.description or scenario.name,
        "uriPart": f"actions/{action.uri_part}",
        "serviceInputs": [_describe_value(f, i) for i, f in enumerate(action.inputs.fields)],
        "serviceOutputs": [_describe_value(f, i) for i, f in enumerate(action.outputs.fields)],
        "serviceActionOutcomes": [],
        "isViewMessageAction": False,
    }


def _type_element(shape: Shape, bound: bool) -> dict[str, Any]:
    properties = [
        {
            "id": None,
            "developerName": field.name,
            "contentType": field.wire_type.value,
            "contentFormat": None,
            "typeElementId": None,
            "typeElementDeveloperName": None if field.shape is None else field.shape.type_name,
        }
        for field in shape.fields
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
                    for field in shape.fields
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
    bound = frozenset(bound)
    answer: dict[str, Any] = {"culture": culture, "uri": uri, "configurationValues": []}
    answer.update(dict.fromkeys(PROVIDES, False))
    answer["providesLogic"] = bool(actions)
    answer["providesDatabase"] = bool(bound)
    answer["providesFiles"] = files
    answer["actions"] = [_action(a) for a in actions]
    answer["install"] = {
        "typeElements": [_type_element(s, s.type_name in bound) for s in types],
    }
    return answer
