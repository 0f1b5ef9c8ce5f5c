"""Fuzzing a Flow service over HTTP from its own OpenAPI document (tests/flow/test_http_fuzz.py).

:func:`operations` reads a service's :func:`~flowintegrations.flow.openapi.openapi_document`
with schemathesis; :class:`InProcess` sends each generated request to the ASGI app in this
process (httpx's ASGI transport on an event loop of its own, no server, no sockets) through
an :class:`~support.flowcontract.AsyncContractClient`, so a 2xx answer that breaks the
platform's contract fails as surely as a 5xx does. :func:`verdict` says what is wrong with
an answer, if anything.

The seeded generator (support.flowgen) sends through :class:`Direct` instead (no HTTP
client), judged by :func:`judge`, with good values of each example service's inputs
(:func:`catalog_values`, :func:`customer_values`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from typing import Any

import httpx
import requests
import schemathesis

from flowintegrations import DataModel, Property, PropertyType
from flowintegrations.flow.openapi import openapi_document
from support.flow_adapters import CATALOG
from support.flowcontract import AsyncContractClient, check_response
from support.flowdata import example

BASE = "http://flow.test"


def operations(service: Any) -> dict[str, Any]:
    """Every operation of ``service``'s OpenAPI document, by label (``POST /data``)."""
    schema = schemathesis.openapi.from_dict(openapi_document(service))
    found = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        found[str(operation.label)] = operation
    return found


class InProcess:
    """Requests to an ASGI app in this process, answered on an event loop of its own."""

    def __init__(self, app: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = AsyncContractClient(
            transport=httpx.ASGITransport(app=app), base_url=BASE, timeout=30.0
        )
        self.statuses: Counter[int] = Counter()

    def send(self, case: Any) -> httpx.Response:
        """Send a schemathesis case exactly as generated (its body as prepared bytes)."""
        kwargs = case.as_transport_kwargs(base_url=BASE)
        prepared = requests.Request(**kwargs).prepare()
        headers = {k: v for k, v in prepared.headers.items() if k.lower() != "content-length"}
        body = prepared.body
        content = body.encode("utf-8") if isinstance(body, str) else body
        response = self.request(prepared.method or "GET", prepared.url or BASE, content, headers)
        self.statuses[response.status_code] += 1
        return response

    def request(
        self, method: str, url: str, content: bytes | None = None, headers: Any = None
    ) -> httpx.Response:
        """One request; its answer."""
        return self.loop.run_until_complete(
            self.client.request(method, url, content=content, headers=headers)
        )

    def post(self, path: str, body: Any) -> httpx.Response:
        """POST ``body`` as JSON to ``path``."""
        return self.loop.run_until_complete(self.client.post(path, json=body))

    def close(self) -> None:
        """Close the client and the loop."""
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


class Direct:
    """Requests handed to an ASGI app as they are (no HTTP client on the way in).

    A quarter of the cost of :class:`InProcess` a request, for the thousands the seeded
    generator (support.flowgen) sends; each answer is still an ``httpx.Response`` that
    :func:`~support.flowcontract.check_response` holds to the platform's contract (a
    :class:`~support.flowcontract.ContractViolation` when a 2xx answer breaks it).
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.statuses: Counter[int] = Counter()

    def send(
        self, method: str, path: str, body: bytes | None, headers: Iterable[tuple[str, str]]
    ) -> httpx.Response:
        """One request, its body as given; the answer, checked against the contract."""
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        if body is not None:
            raw.append((b"content-length", str(len(body)).encode()))
        raw.append((b"host", b"flow.test"))
        status, answer_headers, content = self.loop.run_until_complete(
            self._call(method, path, body or b"", raw)
        )
        self.statuses[status] += 1
        response = httpx.Response(
            status,
            headers=answer_headers,
            content=content,
            request=httpx.Request(method, BASE + path),
        )
        check_response(response)
        return response

    async def _call(
        self, method: str, path: str, body: bytes, headers: list[tuple[bytes, bytes]]
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("flow.test", 80),
        }
        done = asyncio.Event()
        sent = False
        started: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        await self.app(scope, receive, send)
        done.set()
        return started["status"], list(started.get("headers", [])), b"".join(chunks)

    def close(self) -> None:
        """Close the loop."""
        self.loop.close()


def verdict(operation: Any, response: httpx.Response) -> str | None:
    """What is wrong with ``response`` to a request of a schemathesis ``operation``, if anything.

    See :func:`judge`; the operation's declared statuses are its document's.
    """
    declared = set(operation.definition.raw.get("responses", {}))
    return judge(str(operation.label), declared, response)


def judge(label: str, declared: Iterable[str], response: httpx.Response) -> str | None:
    """What is wrong with ``response`` to a request of operation ``label``; ``None`` when nothing.

    A 5xx is wrong unless the document declares it for the operation (a message action's
    handler failure) and it is the JSON problem of a service failure. An answer must be
    JSON (every answer of a Flow service is), and a status the document does not declare
    (``declared``: the statuses as text) is wrong too.
    """
    status = response.status_code
    declared = set(declared)
    if str(status) not in declared:
        return f"{label}: status {status} is not declared ({sorted(declared)})"
    if not response.headers.get("content-type", "").startswith("application/json"):
        return f"{label}: a {status} answer that is not JSON"
    if status >= 500:
        body = response.json()
        if body.get("kind") != "service" or body.get("statusCode") != status:
            return f"{label}: a {status} that is not a service problem: {body}"
    return None


def good_values(model: DataModel, definitions: dict[str, DataModel]) -> dict[str, list[Any]]:
    """Values a model's properties take, by name: examples, enum words, built objects."""
    found: dict[str, list[Any]] = {}
    for prop in model.properties:
        found.setdefault(prop.name, []).extend(_good(prop, definitions))
        for inner in prop.properties or ():
            found.setdefault(inner.name, []).extend(_good(inner, definitions))
    return found


def _good(prop: Property, definitions: dict[str, DataModel]) -> list[Any]:
    values = [prop.example] if prop.example is not None else []
    values.extend(prop.enum or ())
    if values:
        return values
    kind = prop.type
    if kind in (PropertyType.OBJECT, PropertyType.OBJECT_REF, PropertyType.ARRAY_REF):
        inner = definitions[prop.ref].properties if prop.ref else (prop.properties or ())
        record = {p.name: (_good(p, definitions) or ["x"])[0] for p in inner}
        return [[record]] if kind is PropertyType.ARRAY_REF else [record]
    return {
        PropertyType.NUMBER: [1, 10],
        PropertyType.BOOLEAN: [True, False],
        PropertyType.ARRAY: [[]],
    }.get(kind, ["text"])


def catalog_values() -> dict[str, list[Any]]:
    """Good values of the catalog's inputs: its models' examples and enums, its examples'."""
    found: dict[str, list[Any]] = {}
    for integration in CATALOG.integrations:
        for scenario in integration.scenarios:
            model_values = good_values(scenario.output_model, dict(integration.definitions))
            for name, values in model_values.items():
                found.setdefault(name, []).extend(values)
            for case in scenario.examples:
                for name, value in case.request.items():
                    found.setdefault(name, []).append(value)
    return found


def customer_values() -> dict[str, list[Any]]:
    """Good values of a customer's properties: the seed rows', and the engine's unset ``""``."""
    found: dict[str, list[Any]] = {"externalId": [None, "c1", "c2", "c3", "c9"]}
    for row in example("flow_customers").SEED:
        for name, value in row.items():
            found.setdefault(name, []).append(value)
    found["id"].append("")
    found["city"].append("")
    return found
