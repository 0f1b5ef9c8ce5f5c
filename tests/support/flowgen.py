"""A cheap, seeded request generator for a Flow service, from its own OpenAPI document.

schemathesis (tests/support/flowfuzz.py) costs 15-22 ms to generate a request; this one
costs tens of microseconds, so ``make test`` can send thousands a operation. It walks the
document (:func:`~flowintegrations.flow.openapi.openapi_document`) with a
``random.Random`` seeded by ``(seed, operation, index)``: :meth:`Generator.request` makes
request ``index`` of an operation again, alone, from the seed, the label and the index a
failure prints (:meth:`Request.replay`).

A request starts as a valid instance of the operation's body, shaped as the Flow engine
sends it (tests/flow/fixtures/engine/, FLOW-SERVICES.md "Corrections"): every property
present (``""`` or null for unset ones), one entry a named value of a list whose items are
named (every input of an action, every property of an object), a ``culture`` object and
``configurationValues``, ``limit`` 0 or null, ``where`` entries with only the deprecated
``value``, lowercase enum words. Values come from ``values`` (good values by name, e.g. the
examples' own) or else from the content type; list-filter words from :data:`WORDS`. Then,
most of the time, one to three :data:`MUTATIONS` spoil it.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

MUTATIONS: dict[str, str] = {
    "wrong-type": "a value of the body replaced by one of another JSON type",
    "missing": "a key of an object removed (required ones too)",
    "unknown-field": "an object given a key the document does not have",
    "empty": 'a value replaced by ""',
    "null": "a value replaced by null",
    "case": "a text value in lower case, upper case or mixed (enum words too)",
    "long-string": "a text value replaced by a long or odd unicode one (NUL, surrogates)",
    "big-number": "a number replaced by a huge, negative, fractional or infinite one",
    "deep": "a value wrapped in lists and objects, shallow to 100,000 levels deep",
    "duplicate": "an entry of a list repeated",
    "bad-json": "the body's bytes broken: cut, not UTF-8, not an object, trailing junk, empty",
    "content-type": "the Content-Type header wrong, odd or missing",
}
"""Every way a valid request is spoiled, by name."""

VALID_SHARE = 0.35
"""The share of requests sent valid (no mutation)."""

WORDS: dict[str, tuple[Any, ...]] = {
    "criteriaType": (
        "EQUAL",
        "NOT_EQUAL",
        "GREATER_THAN",
        "GREATER_THAN_OR_EQUAL",
        "LESS_THAN",
        "LESS_THAN_OR_EQUAL",
        "CONTAINS",
        "STARTS_WITH",
        "ENDS_WITH",
        "IS_EMPTY",
        "equal",
    ),
    "comparisonType": ("AND", "OR", "", "and", None),
    "direction": ("ASC", "DESC", "desc"),
    "orderByDirectionType": ("ASC", "DESC", "", "desc", None),
    "limit": (0, None, 1, 2, 5, 20),
    "offset": (0, None, 0, 1, 2),
    "offsetToken": (None, "", "1"),
    "search": (None, "", "a", "Cluj"),
    "filterByProvidedObjects": (False, None, False, True),
    "language": ("EN", "en", None),
    "country": ("USA", "RO", None),
    "invokeType": ("FORWARD", "WAIT"),
    "resourcePath": (None, "", "docs"),
    "resourceFile": (None, "", "a.txt"),
}
"""Flow's own words for keys of the platform's messages (the document only says string)."""

_PLAIN = ("", None, "Ana", "a", "Flow", "4021", "x-1")
_BY_CONTENT_TYPE: dict[str, tuple[Any, ...]] = {
    "contentstring": ("Ana", "otp-login", "a@example.com", ""),
    "contentnumber": ("6", "42", "0", "-3", "2.5", ""),
    "contentboolean": ("true", "false", "TRUE", ""),
    "contentdatetime": ("2026-11-22T15:00:00Z", "2026-11-22", ""),
    "contentpassword": ("secret", ""),
    "contentencrypted": ("secret", ""),
    "contentcontent": ("<p>hi</p>", ""),
}
_CONTENT_TYPE = (
    (bool, "ContentBoolean"),
    (int, "ContentNumber"),
    (float, "ContentNumber"),
    (str, "ContentString"),
    (dict, "ContentObject"),
    (list, "ContentList"),
)
_ODD_TEXT = (
    "\x00",
    "\ud800",
    "\udfff\ud800x",
    "é" * 3000,
    "🙂" * 2000,
    "a" * 20_000,
    "\u202etxet",
    "../../etc/passwd",
    "'; DROP TABLE customers; --",
    "${jndi:ldap://x}",
    "\r\nX-Injected: 1",
    "%s%n%x",
)
_BIG = (10**20, -(10**20), -1, 2**63, 1.5, 1e308, float("inf"), float("nan"), -0.0)
_OTHERS = (17, True, False, [], {}, "x", [1, "a"], {"a": 1}, 0.5)
_CONTENT_TYPES = (
    None,
    "text/plain",
    "application/xml",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "application/json; charset=latin-1",
    "application/octet-stream",
    "APPLICATION/JSON",
    "\x7f",
)
_MAX_DEPTH = 3
_RARE = {"listFilters": 0.15, "searchCriteria": 0.3, "orderBy": 0.4, "configurationValues": 0.6}
"""Lists the engine seldom fills: how often one has entries."""
_DEEP = re.compile(r'"\\u0000deep:(\d+)\\u0000"')
_BOUNDARY = "flowgen-boundary"


@dataclass(frozen=True)
class Operation:
    """One operation of the document: its label, method, path, body schema and answers."""

    label: str
    method: str
    path: str
    body: Mapping[str, Any] | None
    media: str | None
    statuses: frozenset[str]


@dataclass(frozen=True)
class Request:
    """One generated request, and how to make it again."""

    label: str
    method: str
    path: str
    body: bytes | None
    headers: tuple[tuple[str, str], ...]
    mutations: tuple[str, ...]
    seed: str
    index: int

    def replay(self) -> str:
        """What a failure prints: the seed and index that make it again, and the request."""
        body = (self.body or b"")[:2000].decode("utf-8", "backslashreplace")
        return (
            f"FLOW_FUZZ_SEED={self.seed} {self.label} #{self.index} "
            f"(Generator(document, seed={self.seed!r}).request({self.label!r}, {self.index}))"
            f" mutations {list(self.mutations)}\n  {self.method} {self.path} "
            f"headers {dict(self.headers)}\n  body {body}"
        )


class Generator:
    """Requests for every operation of ``document``, deterministic per ``seed``.

    ``values``: good values by name (a developerName of an input or property, or a JSON
    key such as ``externalId``), as plain JSON: text, numbers, booleans, objects (an
    object's properties) and lists of objects. Without one, a value fits its content type.
    """

    def __init__(
        self, document: Mapping[str, Any], *, seed: str, values: Mapping[str, Any] | None = None
    ) -> None:
        self.document = document
        self.seed = seed
        self.values = dict(values or {})
        self.schemas: Mapping[str, Any] = document.get("components", {}).get("schemas", {})
        self.operations = _operations(document)
        types = set(_enum(self.schemas, "ObjectDataRequest", "objectDataType", "developerName"))
        self.names = sorted(set(self._names()) - types)

    def requests(self, label: str, count: int, start: int = 0) -> Iterator[Request]:
        """Requests ``start`` to ``start + count - 1`` of the operation ``label``."""
        for index in range(start, start + count):
            yield self.request(label, index)

    def request(self, label: str, index: int) -> Request:
        """Request ``index`` of the operation ``label`` (the same for the same seed)."""
        operation = self.operations[label]
        rng = random.Random(f"{self.seed}:{label}:{index}")
        mutations: list[str] = []
        if rng.random() >= VALID_SHARE:
            mutations = rng.sample(list(MUTATIONS), rng.choice((1, 1, 1, 2, 3)))
        headers: dict[str, str] = {}
        body: bytes | None = None
        if operation.body is not None:
            document = self._instance(operation.body, rng, "", 0)
            for name in mutations:
                if name in _TREE:
                    document = _mutate(document, rng, _TREE[name])
            body, headers = self._encode(operation, document, rng)
            if "bad-json" in mutations:
                body = _break(body, rng)
        if "content-type" in mutations:
            odd = rng.choice(_CONTENT_TYPES)
            headers.pop("Content-Type", None)
            if odd is not None:
                headers["Content-Type"] = odd
        return Request(
            label,
            operation.method,
            operation.path,
            body,
            tuple(headers.items()),
            tuple(mutations),
            self.seed,
            index,
        )

    def _names(self) -> Iterator[str]:
        """Every developerName the document enumerates (inputs, properties, types)."""
        stack: list[Any] = [self.schemas]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                named = node.get("properties", {}).get("developerName")
                if isinstance(named, dict):
                    yield from named.get("enum", ())
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        ref = schema.get("$ref")
        return self.schemas[ref.rsplit("/", 1)[1]] if ref else schema

    def _instance(self, schema: Mapping[str, Any], rng: random.Random, key: str, depth: int) -> Any:
        schema = self._resolve(schema)
        if "oneOf" in schema:
            return self._instance(rng.choice(schema["oneOf"]), rng, key, depth)
        if key in WORDS:
            return rng.choice(WORDS[key])
        if schema.get("nullable") and rng.random() < 0.1:
            return None
        if "enum" in schema:
            return rng.choice(schema["enum"])
        kind = schema.get("type")
        if kind == "object":
            return self._object(schema, rng, depth)
        if kind == "array":
            return self._array(schema, rng, key, depth)
        if kind == "integer":
            return rng.choice((0, 1, 2))
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "string":
            if key in ("columnName", "orderByPropertyDeveloperName"):
                return rng.choice(self.names) if self.names else "id"
            if key == "FileDataRequest" and key in self.schemas:  # a JSON part of an upload
                return self._instance(self.schemas[key], rng, "", depth)
            if schema.get("format") == "binary":
                return rng.choice(("hello", "", "\x00\xff" * 40))
            return rng.choice(_PLAIN)
        return rng.choice(_PLAIN)

    def _object(self, schema: Mapping[str, Any], rng: random.Random, depth: int) -> Any:
        properties = schema.get("properties")
        if not properties:
            extra = schema.get("additionalProperties")
            return {"note": rng.choice(_PLAIN)} if extra and rng.random() < 0.3 else {}
        found = {k: self._instance(s, rng, k, depth + 1) for k, s in properties.items()}
        if "developerName" in found and "contentType" in found:
            declared = self._resolve(properties["contentType"]).get("enum", ())
            self._fill(found, rng, fixed=len(declared) == 1)
        elif "columnName" in found and "criteriaType" in found:
            value = self._value(found["columnName"], rng)
            if value is not None and not isinstance(value, str):
                value = _text(value)
            if rng.random() < 0.3:  # the deprecated field alone, as the engine may send it
                found.pop("contentValue", None)
                found["value"] = value
            else:
                found["contentValue"] = value
                found.pop("value", None)
        elif "externalId" in found and "externalId" in self.values:
            found["externalId"] = rng.choice(self.values["externalId"])
        return found

    def _array(self, schema: Mapping[str, Any], rng: random.Random, key: str, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            return None if schema.get("nullable") else []
        items = self._resolve(schema.get("items", {}))
        if key in _RARE and rng.random() >= _RARE[key]:
            return rng.choice((None, [])) if schema.get("nullable") else []
        named = _named(items, self._resolve)
        if named:  # the engine sends every input, every property: each name once
            chosen = named
            if rng.random() >= 0.8:  # some left out, the rest in order
                kept = rng.sample(range(len(named)), rng.randint(0, len(named)))
                chosen = [named[i] for i in sorted(kept)]
            return [self._instance(item, rng, key, depth) for item in chosen]
        count = rng.choice((0, 1, 1, 2, 3))
        return [self._instance(items, rng, key, depth) for _ in range(count)]

    def _value(self, name: Any, rng: random.Random) -> Any:
        if not isinstance(name, str) or name not in self.values:
            return None
        return rng.choice(self.values[name])

    def _fill(self, value: dict[str, Any], rng: random.Random, *, fixed: bool) -> None:
        """A named value's content: one of ``values`` by its name, else one of its type.

        ``fixed``: the document names the value's content type (an action's input); else
        the content type follows the value.
        """
        name = value["developerName"]
        if isinstance(name, str) and name in self.values:
            good = rng.choice(self.values[name])
            if not fixed:
                value["contentType"] = _content_type(good, value["contentType"])
            if isinstance(good, dict):
                value["contentValue"], value["objectData"] = None, [_mobject(good, name)]
            elif isinstance(good, list):
                value["contentValue"] = None
                value["objectData"] = [_mobject(g, name, i) for i, g in enumerate(good)]
            else:
                value["contentValue"], value["objectData"] = _text(good), None
            if rng.random() < 0.1 and isinstance(value["contentType"], str):
                value["contentType"] = value["contentType"].lower()  # the engine's contentboolean
            return
        content_type = value.get("contentType")
        pool = _BY_CONTENT_TYPE.get(str(content_type).lower())
        if pool is not None:
            value["contentValue"] = rng.choice(pool)
            value["objectData"] = None

    def _encode(
        self, operation: Operation, document: Any, rng: random.Random
    ) -> tuple[bytes, dict[str, str]]:
        if operation.media == "multipart/form-data" and isinstance(document, dict):
            if rng.random() < 0.2:
                return _bytes(document.get("file")), {"Content-Type": "application/octet-stream"}
            return _multipart(document, rng)
        if operation.media == "application/json" and rng.random() < 0.05:
            return b"", {}  # no body at all: an optional body is then {}
        text = json.dumps(document, ensure_ascii=rng.random() < 0.7)
        if "deep:" in text:
            text = _DEEP.sub(lambda m: "[" * int(m[1]) + "null" + "]" * int(m[1]), text)
        return text.encode("utf-8", "surrogatepass"), {"Content-Type": "application/json"}


def _operations(document: Mapping[str, Any]) -> dict[str, Operation]:
    found = {}
    for path, methods in document.get("paths", {}).items():
        for method, spec in methods.items():
            label = f"{method.upper()} {path}"
            content = spec.get("requestBody", {}).get("content", {})
            media = next(iter(content), None)
            body = content[media]["schema"] if media else None
            found[label] = Operation(
                label, method.upper(), path, body, media, frozenset(spec.get("responses", {}))
            )
    return found


def _enum(schemas: Mapping[str, Any], name: str, *keys: str) -> Iterator[Any]:
    """The enum at ``properties.<key>...`` of the schema ``name`` (nothing when absent)."""
    node: Any = schemas.get(name, {})
    for key in keys:
        node = node.get("properties", {}).get(key, {}) if isinstance(node, dict) else {}
    yield from node.get("enum", ()) if isinstance(node, dict) else ()


def _named(items: Mapping[str, Any], resolve: Callable[..., Any]) -> list[Mapping[str, Any]]:
    """The items of a list of named values, one a name (an enum or a oneOf of them)."""
    alternatives = [resolve(a) for a in items.get("oneOf", ())] or [items]
    found: list[Mapping[str, Any]] = []
    for alternative in alternatives:
        named = alternative.get("properties", {}).get("developerName", {})
        names = named.get("enum") if isinstance(named, dict) else None
        if not names:
            return []
        for name in names:
            properties = dict(alternative["properties"], developerName={"enum": [name]})
            found.append(dict(alternative, properties=properties))
    return found


def _content_type(value: Any, declared: Any) -> Any:
    for kind, name in _CONTENT_TYPE:
        if isinstance(value, kind):
            return name
    return declared


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _mobject(payload: Any, type_name: str, order: int = 0) -> Any:
    if not isinstance(payload, dict):
        return payload
    return {
        "internalId": None,
        "externalId": None,
        "developerName": type_name,
        "order": order,
        "isSelected": False,
        "properties": [
            {
                "developerName": k,
                "contentType": _content_type(v, "ContentString"),
                "contentValue": None if isinstance(v, (dict, list)) else _text(v),
                "contentFormat": "",
                "objectData": (
                    [_mobject(v, k)]
                    if isinstance(v, dict)
                    else [_mobject(x, k, i) for i, x in enumerate(v)]
                    if isinstance(v, list)
                    else None
                ),
            }
            for k, v in payload.items()
        ],
    }


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value if value is not None else "").encode("utf-8", "surrogatepass")


def _multipart(document: dict[str, Any], rng: random.Random) -> tuple[bytes, dict[str, str]]:
    """A FileDataRequest part (JSON) and a file part, as the platform uploads them."""
    parts = []
    request = document.get("FileDataRequest")
    if request is not None:
        text = request if isinstance(request, str) else json.dumps(request)
        if "deep:" in text:
            text = _DEEP.sub(lambda m: "[" * int(m[1]) + "null" + "]" * int(m[1]), text)
        parts.append(
            b'Content-Disposition: form-data; name="FileDataRequest"\r\n'
            b"Content-Type: application/json\r\n\r\n" + _bytes(text)
        )
    if "file" in document:
        name = rng.choice(("a.txt", "", "../x.bin", "é.pdf", 'q"uote.txt'))
        parts.append(
            f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'.encode()
            + b"Content-Type: application/octet-stream\r\n\r\n"
            + _bytes(document["file"])
        )
    boundary = _BOUNDARY.encode()
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    body += b"--" + boundary + b"--\r\n"
    return body, {"Content-Type": f"multipart/form-data; boundary={_BOUNDARY}"}


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _paths(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _paths(child, (*path, index))


def _fresh(value: Any) -> Any:
    """A copy of ``value`` that shares nothing with it (the constants stay constant)."""
    return json.loads(json.dumps(value)) if isinstance(value, (dict, list)) else value


def _replace(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = node
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return node


def _spoil_value(value: Any, rng: random.Random, how: str) -> Any:
    if how == "wrong-type":
        return _fresh(rng.choice([o for o in _OTHERS if type(o) is not type(value)]))
    if how == "empty":
        return ""
    if how == "null":
        return None
    if how == "case" and isinstance(value, str):
        return rng.choice((value.lower(), value.upper(), value.swapcase()))
    if how == "long-string":
        return rng.choice(_ODD_TEXT)
    if how == "big-number":
        return rng.choice(_BIG)
    if how == "deep":
        depth = rng.choice((3, 40, 300, 5000, 100_000))
        if depth > 300:  # past what json.dumps nests: spliced into the text (_encode)
            return f"\x00deep:{depth}\x00"
        for _ in range(depth):
            value = [value] if rng.random() < 0.5 else {"a": value}
        return value
    return value


def _mutate(document: Any, rng: random.Random, how: str) -> Any:
    """``document`` spoiled one way (see :data:`MUTATIONS`)."""
    nodes = list(_paths(document))
    if how in ("missing", "unknown-field"):
        objects = [(p, n) for p, n in nodes if isinstance(n, dict)]
        if not objects:
            return document
        _, target = rng.choice(objects)
        if how == "missing" and target:
            del target[rng.choice(list(target))]
        elif how == "unknown-field":
            name = rng.choice(("zzUnknown", "__proto__", "contentvalue", ""))
            target[name] = _fresh(rng.choice(_OTHERS))
        return document
    if how == "duplicate":
        lists = [n for _, n in nodes if isinstance(n, list) and n]
        if lists:
            chosen = rng.choice(lists)
            chosen.append(_fresh(rng.choice(chosen)))
        return document
    if how == "case":
        nodes = [(p, n) for p, n in nodes if isinstance(n, str)] or nodes
    elif how == "big-number":
        nodes = [(p, n) for p, n in nodes if isinstance(n, (int, float))] or nodes
    elif how in ("long-string", "empty"):
        nodes = [(p, n) for p, n in nodes if isinstance(n, str) or n is None] or nodes
    path, node = rng.choice(nodes)
    return _replace(document, path, _spoil_value(node, rng, how))


_TREE = {name: name for name in MUTATIONS if name not in ("bad-json", "content-type")}


def _break(body: bytes, rng: random.Random) -> bytes:
    """``body``'s bytes broken one way."""
    how = rng.randrange(8)
    if how == 0 and body:
        return body[: rng.randrange(len(body))]
    if how == 1:
        return body + rng.choice((b"}", b" x", b",", b"\x00"))
    if how == 2:
        return b"\xff\xfe" + body
    if how == 3:
        return rng.choice((b"[]", b"null", b'"text"', b"42", b"true", b"[{}]"))
    if how == 4:
        return rng.choice((b"", b" ", b"\n\t"))
    if how == 5:
        return rng.choice((b"{'a': 1}", b"{a: 1}", b"NaN", b'{"a": NaN}', b'{"a": 1,}'))
    if how == 6:
        return b"[" * 100_000 + b"]" * 100_000
    return body.replace(b'"', b"\\", 1)
