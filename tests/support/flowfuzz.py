"""Fuzzing a Flow service over HTTP from its own OpenAPI document (tests/flow/test_http_fuzz.py).

:func:`operations` reads a service's :func:`~flowintegrations.flow.openapi.openapi_document`
with schemathesis; :class:`InProcess` sends each generated request to the ASGI app in this
process (httpx's ASGI transport on an event loop of its own, no server, no sockets) through
an :class:`~support.flowcontract.AsyncContractClient`, so a 2xx answer that breaks the
platform's contract fails as surely as a 5xx does. :func:`verdict` says what is wrong with
an answer, if anything.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import requests
import schemathesis

from flowintegrations.flow.openapi import openapi_document
from support.flowcontract import AsyncContractClient

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


def verdict(operation: Any, response: httpx.Response) -> str | None:
    """What is wrong with ``response`` to a request of ``operation``; ``None`` when nothing.

    A 5xx is wrong unless the document declares it for the operation (a message action's
    handler failure) and it is the JSON problem of a service failure. An answer must be
    JSON (every answer of a Flow service is), and a status the document does not declare
    is wrong too.
    """
    status = response.status_code
    declared = set(operation.definition.raw.get("responses", {}))
    if str(status) not in declared:
        return f"{operation.label}: status {status} is not declared ({sorted(declared)})"
    if not response.headers.get("content-type", "").startswith("application/json"):
        return f"{operation.label}: a {status} answer that is not JSON"
    if status >= 500:
        body = response.json()
        if body.get("kind") != "service" or body.get("statusCode") != status:
            return f"{operation.label}: a {status} that is not a service problem: {body}"
    return None
