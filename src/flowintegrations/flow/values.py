"""Payload dicts <-> Flow's typed values (EngineValues, objects with ``objectData``).

Reading (Flow -> payload) is here; writing (:func:`engine_values`, :func:`object_data`)
is in :mod:`flowintegrations.flow.writing`, and both import from here as before.

Every ``contentValue`` Flow sees is a string or null, so this is where types are kept
exact both ways:

- NUMBER: an ``int`` is its decimal digits (``2`` <-> ``"2"``) and stays an ``int``; a
  ``float`` is its shortest round-trip text (``0.5`` <-> ``"0.5"``, ``0.1`` never becomes
  ``0.1000000000000000055``) and stays a ``float``; NaN and infinities do not exist.
- BOOLEAN: ``"true"`` / ``"false"``, never a number.
- STRING and ENUM: the string itself (``ContentDateTime`` for a STRING declared a
  date-time). The engine sends ``""`` for every unset property: an empty ``contentValue``
  is absent for every property but a STRING (numbers, booleans, date-times, ENUMs).
- ``contentType`` words are matched ignoring case, as the Java SDK's ``forValue`` does.
- ``internalId`` is the platform's: answers carry what it sent, or null, never a new one.
- OBJECT / OBJECT_REF: a ``ContentObject`` holding one object; ARRAY of objects: a
  ``ContentList``; ARRAY of scalars: a ``ContentList`` of one-property item objects
  (:mod:`flowintegrations.flow.types`).
- A property that is absent travels as a null ``contentValue`` (and null ``objectData``)
  inside objects, and is not sent at all among the top-level values; a null comes back as
  absent.
- Keys the model does not declare (where it allows them) travel as ``ContentString`` with
  ``contentFormat: "application/json"`` holding the value's JSON text.

Reading is strict: a ``contentValue`` that does not fit its ``contentType`` (``"abc"`` as
a ContentNumber), a ``contentType`` that does not fit the declared property, or values of
the wrong JSON shape raise :class:`FlowValueError` listing every problem with its path.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from datetime import datetime
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
from flowintegrations.flow.writing import engine_values, object_data
from flowintegrations.model.datamodel import json_path_step
from flowintegrations.validation import Violation
from flowintegrations.vocabulary import is_encodable

__all__ = [
    "JSON_FORMAT",
    "MAX_DEPTH",
    "FlowValueError",
    "engine_values",
    "iter_content_values",
    "object_data",
    "payload_from_values",
    "payloads_from_object_data",
]

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_STRINGS = frozenset(
    {
        ContentType.STRING.value,
        ContentType.CONTENT.value,
        ContentType.PASSWORD.value,
        ContentType.ENCRYPTED.value,
        ContentType.DATE_TIME.value,
    }
)


def _not_json(name: str) -> Any:
    msg = f"{name} is not valid JSON"
    raise ValueError(msg)


_JSON_DECODER = json.JSONDecoder(parse_constant=_not_json)


# Reading: Flow -> payload --------------------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut short: it comes from the request."""
    return repr(text if len(text) <= 40 else text[:40] + "...")


_Path = Any
"""Where a value is, built cheaply as nested pairs ``(parent, name or index)``; ``None`` is
the root. Rendered as a JSON path (``$.recipients[0].email``) only for a problem."""


def _render(path: _Path) -> str:
    steps: list[str] = []
    while path is not None:
        path, step = path
        steps.append(f"[{step}]" if isinstance(step, int) else json_path_step(step))
    return "$" + "".join(reversed(steps))


class _Reader:
    """Reads Flow values into a payload, collecting every problem instead of stopping."""

    def __init__(self, *, check_unicode: bool = True) -> None:
        self.problems: list[Violation] = []
        self.check_unicode = check_unicode

    def problem(self, path: _Path, rule: str, message: str) -> None:
        self.problems.append(Violation(_render(path), rule, message))

    def encodable(self, text: str) -> bool:
        return not self.check_unicode or is_encodable(text)

    def properties(
        self, shape: Shape | None, values: Any, path: _Path, depth: int
    ) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if values is None:
            return result
        if not isinstance(values, list):
            self.problem(path, "shape", f"expected a list of values, got {_kind(values)}")
            return result
        declared = shape.by_name if shape is not None else {}
        # The common case, read right here: a plain text value of exactly the declared type,
        # in a body known to hold no lone surrogate.
        fast = not self.check_unicode
        for index, value in enumerate(values):
            if not isinstance(value, dict):
                self.problem((path, index), "shape", f"expected a typed value, got {_kind(value)}")
                continue
            name = value.get("developerName")
            if not isinstance(name, str) or not (fast or is_encodable(name)):
                self.problem(
                    ((path, index), "developerName"),
                    "shape",
                    f"expected the property's name (a valid Unicode string), got {_kind(name)}",
                )
                continue
            field = declared.get(name)
            if fast and field is not None and field.plain and field.kind is FieldKind.SCALAR:
                content = value.get("contentValue")
                if type(content) is str and value.get("contentType") == field.wire:
                    if content or field.keeps_empty:
                        result[name] = content
                    continue
            here = (path, name)
            read = (
                self.value(field, value, here, depth)
                if field
                else self.undeclared(value, here, depth)
            )
            if read is not _ABSENT:
                result[name] = read
        return result

    def undeclared(self, value: dict[str, Any], path: _Path, depth: int) -> Any:
        content = value.get("contentValue")
        if value.get("contentFormat") == JSON_FORMAT and isinstance(content, str):
            if not self.encodable(content):
                self.problem(path, "contentValue", "a contentValue must be valid Unicode")
                return _ABSENT
            try:
                return _JSON_DECODER.decode(content)
            except (ValueError, RecursionError):
                self.problem(path, "contentValue", "contentFormat says JSON, but it is not")
                return _ABSENT
        content_type = _content_type(value.get("contentType"))
        if content_type == ContentType.OBJECT.value:
            objects = self.objects(None, value, path, depth, single=True)
            return objects[0] if objects else _ABSENT
        if content_type == ContentType.LIST.value:
            objects = self.objects(None, value, path, depth, single=False)
            return _ABSENT if objects is None else objects
        return self.scalar(content_type, content, path)

    def value(self, field: Field, value: dict[str, Any], path: _Path, depth: int) -> Any:
        content_type = value.get("contentType")
        if content_type is not None and content_type != field.wire:
            content_type = _content_type(content_type)
        if field.kind is FieldKind.SCALAR and (content_type is None or content_type == field.wire):
            # A value of the declared type (plain text is mostly read in properties() already).
            content = value.get("contentValue")
            if content == "" and not field.keeps_empty:
                return _ABSENT  # the engine's "" for an unset number, boolean, enum, date
            return self.scalar(content_type or field.wire, content, path)
        expected = field.wire_type
        if content_type is not None and not self.fits(content_type, expected):
            shown = _shown(content_type) if isinstance(content_type, str) else _kind(content_type)
            self.problem(
                path,
                "contentType",
                f"property {field.name!r} is {expected.value}, got contentType {shown}",
            )
            return _ABSENT
        kind = field.kind
        if kind is FieldKind.SCALAR:
            return self.scalar(content_type or expected.value, value.get("contentValue"), path)
        if kind is FieldKind.OBJECT:
            objects = self.objects(field.shape, value, path, depth, single=True)
            return objects[0] if objects else _ABSENT
        objects = self.objects(field.shape, value, path, depth, single=False)
        if objects is None:
            return _ABSENT
        if kind is FieldKind.SCALAR_LIST:
            return [item.get(ITEM_PROPERTY) for item in objects]
        return objects

    @staticmethod
    def fits(content_type: Any, expected: ContentType) -> bool:
        if content_type == expected.value:
            return True
        # A string property accepts any of Flow's text types (HTML, password, date-time);
        # a contentType that is no text at all (an object, a list) fits nothing.
        return (
            expected in (ContentType.STRING, ContentType.DATE_TIME)
            and isinstance(content_type, str)
            and content_type in _STRINGS
        )

    def objects(
        self, shape: Shape | None, value: dict[str, Any], path: _Path, depth: int, *, single: bool
    ) -> list[Any] | None:
        data = value.get("objectData")
        if data is None:
            return None
        if not isinstance(data, list):
            self.problem(path, "shape", f"expected objectData to be a list, got {_kind(data)}")
            return None
        if single and len(data) > 1:
            self.problem(
                path, "shape", f"a ContentObject holds one object, got {len(data)} in objectData"
            )
            return None
        if depth >= MAX_DEPTH:
            self.problem(path, "shape", f"objects nest deeper than {MAX_DEPTH} levels")
            return None
        result = []
        for index, item in enumerate(data):
            here = path if single else (path, index)
            if not isinstance(item, dict):
                self.problem(here, "shape", f"expected an object, got {_kind(item)}")
                continue
            result.append(self.properties(shape, item.get("properties"), here, depth + 1))
        return result

    def scalar(self, content_type: Any, content: Any, path: _Path) -> Any:
        if content is None:
            return _ABSENT
        if not isinstance(content, str):
            self.problem(
                path, "contentValue", f"a contentValue is a string or null, got {_kind(content)}"
            )
            return _ABSENT
        if not self.encodable(content):
            self.problem(
                path,
                "contentValue",
                "a contentValue must be valid Unicode (a lone surrogate is not)",
            )
            return _ABSENT
        if content_type == ContentType.NUMBER.value:
            return self.number(content, path)
        if content_type == ContentType.BOOLEAN.value:
            if content == "":
                return _ABSENT
            lowered = content.lower()
            if lowered in ("true", "false"):
                return lowered == "true"
            self.problem(
                path,
                "contentValue",
                f"a ContentBoolean is 'true' or 'false', got {_shown(content)}",
            )
            return _ABSENT
        if content_type == ContentType.DATE_TIME.value:
            if content == "":
                return _ABSENT
            if not _is_date_time(content):
                self.problem(
                    path,
                    "contentValue",
                    f"a ContentDateTime is an ISO 8601 date-time, got {_shown(content)}",
                )
                return _ABSENT
            return content
        if content_type is None or (isinstance(content_type, str) and content_type in _STRINGS):
            return content
        shown = _shown(content_type) if isinstance(content_type, str) else _kind(content_type)
        self.problem(path, "contentType", f"unknown contentType {shown}")
        return _ABSENT

    def number(self, content: str, path: _Path) -> Any:
        text = content.strip()
        if text == "":
            return _ABSENT
        if _NUMBER.fullmatch(text):
            try:
                if _INTEGER.fullmatch(text):
                    return int(text)
                number = float(text)
            except ValueError:
                pass  # more digits than int() takes: reported below
            else:
                if math.isfinite(number):
                    return number
        self.problem(
            path,
            "contentValue",
            f"a ContentNumber is decimal text like '2' or '0.5', got {_shown(content)}",
        )
        return _ABSENT


_ABSENT: Any = object()

_CONTENT_TYPES = {t.value.lower(): t.value for t in ContentType}


def _content_type(content_type: Any) -> Any:
    """``content_type`` as Flow's canonical word, matched ignoring case.

    As Java's ``ContentType.forValue`` does; anything else is returned unchanged, to be
    reported.
    """
    if isinstance(content_type, str):
        return _CONTENT_TYPES.get(content_type.lower(), content_type)
    return content_type


def _is_date_time(text: str) -> bool:
    candidate = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        datetime.fromisoformat(candidate)
    except ValueError:
        return False
    return True


def payload_from_values(shape: Shape, values: Any, *, check_unicode: bool = True) -> dict[str, Any]:
    r"""The payload that the EngineValues ``values`` (a message action's inputs) carry.

    Raises :class:`FlowValueError` listing every value that cannot be read.
    ``check_unicode=False`` skips looking for lone surrogates in every string: for a caller
    that knows there are none (its JSON text has no ``\ud800``-style escape).
    """
    reader = _Reader(check_unicode=check_unicode)
    payload = reader.properties(shape, values, None, 0)
    if reader.problems:
        raise FlowValueError(tuple(reader.problems))
    return payload


def payloads_from_object_data(
    shape: Shape, data: Any, *, check_unicode: bool = True, path: str = "objectData"
) -> list[tuple[str | None, dict[str, Any]]]:
    """The (externalId, payload) of each object in ``data`` (a request's ``objectData``).

    An empty externalId is ``None``. Raises :class:`FlowValueError` listing every value that
    cannot be read, with paths under ``$.<path>``.
    """
    reader = _Reader(check_unicode=check_unicode)
    root: _Path = (None, path)
    result: list[tuple[str | None, dict[str, Any]]] = []
    if data is None:
        data = []
    if not isinstance(data, list):
        reader.problem(root, "shape", f"expected a list of objects, got {_kind(data)}")
        data = []
    for index, item in enumerate(data):
        here = (root, index)
        if not isinstance(item, dict):
            reader.problem(here, "shape", f"expected an object, got {_kind(item)}")
            continue
        external = item.get("externalId")
        if external is not None and not isinstance(external, str):
            reader.problem(
                (here, "externalId"), "shape", f"an externalId is text, got {_kind(external)}"
            )
            external = None
        payload = reader.properties(shape, item.get("properties"), (here, "properties"), 1)
        result.append((external or None, payload))
    if reader.problems:
        raise FlowValueError(tuple(reader.problems))
    return result


def iter_content_values(values: Any) -> Iterator[Any]:
    """Every ``contentValue`` in ``values``, nested ones included (for checks and tests)."""
    for value in values or ():
        yield value.get("contentValue")
        for item in value.get("objectData") or ():
            yield from iter_content_values(item.get("properties"))
