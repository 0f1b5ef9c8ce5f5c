"""Payload dicts -> Flow's typed values: :func:`engine_values` and :func:`object_data`.

The writing half of :mod:`flowintegrations.flow.values` (whose docstring gives the
mapping of every property type, both ways); reading is there.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from flowintegrations.flow.types import (
    ITEM_PROPERTY,
    JSON_FORMAT,
    MAX_DEPTH,
    ContentType,
    Field,
    FieldKind,
    FlowValueError,
    Shape,
)
from flowintegrations.validation import Violation

__all__ = ["engine_values", "object_data"]


def _number_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        msg = f"expected a number, got {type(value).__name__}"
        raise TypeError(msg)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        msg = f"{value!r} is not a number Flow can hold"
        raise ValueError(msg)
    return repr(value)


def _scalar_text(field: Field, value: Any) -> str:
    content = field.content_type
    if content is ContentType.NUMBER:
        return _number_text(value)
    if content is ContentType.BOOLEAN:
        if not isinstance(value, bool):
            msg = f"expected a boolean, got {type(value).__name__}"
            raise TypeError(msg)
        return "true" if value else "false"
    if not isinstance(value, str):
        msg = f"expected a string, got {type(value).__name__}"
        raise TypeError(msg)
    return value


def _property(field: Field, value: Any, depth: int, *, top: bool) -> dict[str, Any]:
    """A typed value for ``field`` holding ``value`` (absent: a null value).

    ``top``: an EngineValue (a message action's output), which names the type of its
    objects; otherwise an object's Property, which has a ``contentFormat`` instead.
    """
    content_value: str | None = None
    object_data: list[dict[str, Any]] | None = None
    if value is not None:
        kind = field.kind
        if kind is FieldKind.SCALAR:
            content_value = _scalar_text(field, value)
        elif kind is FieldKind.OBJECT:
            object_data = [_object(field.shape, value, 0, depth + 1)]  # type: ignore[arg-type]
        elif kind is FieldKind.LIST:
            object_data = [
                _object(field.shape, item, order, depth + 1)  # type: ignore[arg-type]
                for order, item in enumerate(_as_list(value))
            ]
        else:
            object_data = [
                _object(field.shape, {ITEM_PROPERTY: item}, order, depth + 1)  # type: ignore[arg-type]
                for order, item in enumerate(_as_list(value))
            ]
    if top:
        shape = field.shape
        return {
            "developerName": field.name,
            "contentType": field.wire_type.value,
            "contentValue": content_value,
            "objectData": object_data,
            "typeElementDeveloperName": None if shape is None else shape.type_name,
        }
    return {
        "developerName": field.name,
        "contentType": field.wire_type.value,
        "contentValue": content_value,
        "contentFormat": None,
        "objectData": object_data,
    }


def _extra(name: str, value: Any, *, top: bool) -> dict[str, Any]:
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    if top:
        # An EngineValue has no contentFormat: the JSON text travels as a plain string.
        return {
            "developerName": name,
            "contentType": ContentType.STRING.value,
            "contentValue": text,
            "objectData": None,
            "typeElementDeveloperName": None,
        }
    return {
        "developerName": name,
        "contentType": ContentType.STRING.value,
        "contentValue": text,
        "contentFormat": JSON_FORMAT,
        "objectData": None,
    }


def _as_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        msg = f"expected an array, got {type(value).__name__}"
        raise TypeError(msg)
    return value


def _properties(shape: Shape, payload: Any, depth: int, *, absent: bool) -> list[dict[str, Any]]:
    if not isinstance(payload, dict):
        msg = f"expected an object, got {type(payload).__name__}"
        raise TypeError(msg)
    if depth > MAX_DEPTH:
        msg = f"objects nest deeper than {MAX_DEPTH} levels"
        raise ValueError(msg)
    top = not absent
    result = [
        _property(field, payload.get(field.name), depth, top=top)
        for field in shape.fields
        if absent or payload.get(field.name) is not None
    ]
    if len(payload) > len(result) or absent:
        declared = shape.by_name
        result.extend(
            _extra(key, value, top=top) for key, value in payload.items() if key not in declared
        )
    return result


def _object(shape: Shape, payload: Any, order: int, depth: int) -> dict[str, Any]:
    return {
        # The platform sends null and fills it in; an answer keeps what was sent.
        "internalId": None,
        "externalId": None,
        "developerName": shape.type_name,
        "order": order,
        "isSelected": False,
        "properties": _properties(shape, payload, depth, absent=True),
    }


def engine_values(shape: Shape, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The EngineValues (a message action's outputs) that carry ``payload``.

    Only the properties present in ``payload`` are sent. Raises :class:`FlowValueError`
    when a value does not fit its property (a reply is validated before it gets here, so
    that is a bug in the caller).
    """
    try:
        return _properties(shape, payload, 0, absent=False)
    except (TypeError, ValueError) as exc:
        raise FlowValueError((Violation("$", "shape", str(exc)),)) from None


def object_data(
    shape: Shape,
    payloads: Iterable[Mapping[str, Any]],
    external_ids: Iterable[str | None],
    internal_ids: Iterable[str | None] | None = None,
) -> list[dict[str, Any]]:
    """The objects (MObjects) of type ``shape`` carrying ``payloads``, with their externalIds.

    ``internal_ids`` are the platform's ids of the objects (what it sent; null when not
    given). Raises :class:`FlowValueError` when a value does not fit its property.
    """
    result = []
    payloads = list(payloads)
    internal = [None] * len(payloads) if internal_ids is None else list(internal_ids)
    try:
        for order, (payload, external_id, internal_id) in enumerate(
            zip(payloads, external_ids, internal, strict=True)
        ):
            item = _object(shape, payload, order, 0)
            item["externalId"] = external_id
            item["internalId"] = internal_id
            result.append(item)
    except (TypeError, ValueError) as exc:
        raise FlowValueError((Violation(f"$[{len(result)}]", "shape", str(exc)),)) from None
    return result
