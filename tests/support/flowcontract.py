"""The platform's contract (tests/flow/contract/*.json) and a Flow client held to it.

:class:`ContractClient` is an ``httpx.Client`` whose every 2xx JSON answer from a Flow
service is validated against the schema of its endpoint (:func:`schema_for`); a violation
fails the request at once with :class:`ContractViolation`, naming the endpoint, the JSON
path and the rule. :func:`check_callback` holds a callback body to the same contract.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
from referencing import Registry, Resource

CONTRACT = Path(__file__).resolve().parents[1] / "flow" / "contract"
BASE = "https://contract.flowintegrations.test/"

SCHEMAS = (
    "Culture",
    "DescribeServiceResponse",
    "DescribeValue",
    "EngineValue",
    "MObject",
    "ObjectDataResponse",
    "Property",
    "ServiceResponse",
    "TypeElement",
    "ValueFault",
)
"""Every schema of the contract, by file name (without ``.json``)."""

_TAILS = (
    ("POST", "/metadata/install", "DescribeServiceResponse"),
    ("POST", "/metadata", "DescribeServiceResponse"),
    ("POST", "/data/delete", "ObjectDataResponse"),
    ("POST", "/data", "ObjectDataResponse"),
    ("PUT", "/data", "ObjectDataResponse"),
    ("POST", "/file/content", "ObjectDataResponse"),
    ("POST", "/file/delete", "ObjectDataResponse"),
    ("POST", "/file", "ObjectDataResponse"),
)


class ContractViolation(AssertionError):  # noqa: N818 - reads as the failure it is
    """An answer of a Flow service that the platform's own schema rejects."""


def schema(name: str) -> dict[str, Any]:
    """The schema ``name`` as JSON."""
    loaded: dict[str, Any] = json.loads((CONTRACT / f"{name}.json").read_text())
    return loaded


@functools.cache
def registry() -> Registry[Any]:
    """Every contract schema, by its ``$id`` (no reference is ever fetched)."""
    return Registry().with_resources(
        (BASE + f"{name}.json", Resource.from_contents(schema(name))) for name in SCHEMAS
    )


@functools.cache
def validator(name: str) -> jsonschema.protocols.Validator:
    """A draft 2020-12 validator of the schema ``name``."""
    return jsonschema.Draft202012Validator(schema(name), registry=registry())


def violations(name: str, document: Any) -> list[str]:
    """Every way ``document`` breaks the schema ``name``: ``$.path: message``, sorted."""
    found = []
    for error in validator(name).iter_errors(document):
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
        found.append(f"{path}: {error.message}")
    return sorted(found)


def schema_for(method: str, path: str) -> str | None:
    """The schema of the answer to ``method path`` (path as served, under any service path).

    ``/metadata`` (and ``/install``) -> DescribeServiceResponse, ``/actions/*`` ->
    ServiceResponse, ``/data*`` and ``/file*`` -> ObjectDataResponse; ``None`` for anything
    else (``/health``).
    """
    method = method.upper()
    if method == "POST" and "/actions/" in path:
        return "ServiceResponse"
    for verb, tail, name in _TAILS:
        if method == verb and path.endswith(tail):
            return name
    return None


def check(name: str, document: Any, where: str) -> None:
    """Raise :class:`ContractViolation` when ``document`` breaks the schema ``name``."""
    found = violations(name, document)
    if found:
        lines = "\n  ".join(found[:20])
        msg = f"{where}: the answer breaks the platform's {name} schema:\n  {lines}"
        raise ContractViolation(msg)


def check_response(response: httpx.Response) -> None:
    """Hold a 2xx JSON answer of a Flow service to the schema of its endpoint."""
    request = response.request
    name = schema_for(request.method, request.url.path)
    if name is None or not 200 <= response.status_code < 300:
        return
    if not response.headers.get("content-type", "").startswith("application/json"):
        msg = f"{request.method} {request.url.path}: a {name} must be JSON"
        raise ContractViolation(msg)
    check(name, response.json(), f"{request.method} {request.url.path}")


def check_callback(body: Any) -> None:
    """Hold the body of a callback (POSTed to ``callbackUri``) to ServiceResponse."""
    check("ServiceResponse", body, "callback")


def _hook(response: httpx.Response) -> None:
    response.read()
    check_response(response)


class ContractClient(httpx.Client):
    """An ``httpx.Client`` of a Flow service that checks every answer against the contract."""

    def __init__(self, **kwargs: Any) -> None:
        hooks = dict(kwargs.pop("event_hooks", None) or {})
        hooks["response"] = [*hooks.get("response", []), _hook]
        super().__init__(event_hooks=hooks, **kwargs)


def post(url: str, **kwargs: Any) -> httpx.Response:
    """``httpx.post`` through a :class:`ContractClient`."""
    with ContractClient(timeout=kwargs.pop("timeout", 10.0)) as client:
        return client.post(url, **kwargs)


def get(url: str, **kwargs: Any) -> httpx.Response:
    """``httpx.get`` through a :class:`ContractClient`."""
    with ContractClient(timeout=kwargs.pop("timeout", 10.0)) as client:
        return client.get(url, **kwargs)


def iter_type_elements(describe: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The type elements of a describe answer."""
    yield from (describe.get("install") or {}).get("typeElements") or []


async def _async_hook(response: httpx.Response) -> None:
    await response.aread()
    check_response(response)


class AsyncContractClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` of a Flow service that checks every answer likewise."""

    def __init__(self, **kwargs: Any) -> None:
        hooks = dict(kwargs.pop("event_hooks", None) or {})
        hooks["response"] = [*hooks.get("response", []), _async_hook]
        super().__init__(event_hooks=hooks, **kwargs)


class FlowHttp:
    """HTTP to Flow services, every 2xx JSON answer held to the platform's contract.

    ``client(base)`` is an ``httpx.Client`` of a served service; ``post`` and ``get`` are
    one-off requests. An answer the platform's schema rejects fails the request with
    ``ContractViolation`` (tests/support/flowcontract.py).
    """

    def __init__(self) -> None:
        self._clients: list[ContractClient] = []
        self._oneoff = ContractClient(timeout=10.0)

    def client(self, base_url: str, **kwargs: Any) -> ContractClient:
        """A client of the service at ``base_url`` (closed when the session ends)."""
        kwargs.setdefault("timeout", 10.0)
        client = ContractClient(base_url=base_url, **kwargs)
        self._clients.append(client)
        return client

    def post(self, url: str, **kwargs: Any) -> Any:
        """POST ``url`` (``httpx.post``'s arguments)."""
        return self._oneoff.post(url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        """GET ``url``."""
        return self._oneoff.get(url, **kwargs)

    def close(self) -> None:
        """Close every client."""
        for client in [*self._clients, self._oneoff]:
            client.close()
