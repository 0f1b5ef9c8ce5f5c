"""What a WAITing action's callback carries: the platform's ServiceResponse and headers."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from flowintegrations.flow import FlowService
from support.flow_adapters import kitchen_app
from support.flowserver import serve

TENANT = "3b8f7c2e-1d4a-4f6b-9e0c-5a7d2b1c9e09"


class Engine:
    """Flow's callback endpoint as an in-memory httpx transport: records every POST."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.transport = httpx.MockTransport(self.receive)

    def receive(self, request: httpx.Request) -> httpx.Response:
        """Record the callback; answer as the engine does (an invoke type)."""
        self.posts.append((dict(request.headers), json.loads(request.content)))
        return httpx.Response(200, json="FORWARD")

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[dict[str, str], Any]]:
        """The POSTs received, once there are ``count`` of them."""
        deadline = time.monotonic() + timeout
        while len(self.posts) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.posts)


def slow_request(**fields: Any) -> dict[str, Any]:
    """A ServiceRequest to the slow action (0.3 s) with a callback URI."""
    return {
        "token": "state-token",
        "tenantId": TENANT,
        "stateId": "state-9",
        "callbackUri": "http://engine.test/api/run/1/response",
        "inputs": [
            {"developerName": "seconds", "contentType": "ContentNumber", "contentValue": "0.3"}
        ],
        **fields,
    }


def service(engine: Engine, **options: Any) -> FlowService:
    """The kitchen adapter, WAITing after 0.1 s, calling back into ``engine``."""
    return FlowService(
        kitchen_app(), sync_timeout=0.1, callback_transport=engine.transport, **options
    )


def test_wait_and_callback_answers_carry_value_faults_as_an_array() -> None:
    """The WAIT answer and the callback's FORWARD carry valueFaults as [] (never {})."""
    engine = Engine()
    with serve(service(engine)) as base:
        answer = httpx.post(f"{base}/actions/slow", json=slow_request()).json()
        ((_, body),) = engine.wait_for(1)
    assert (answer["invokeType"], answer["valueFaults"], body["valueFaults"]) == ("WAIT", [], [])


def test_the_callback_carries_the_tenant_and_the_requests_authorization() -> None:
    """ManyWhoTenant is the request's tenantId; Authorization is the request's, forwarded."""
    engine = Engine()
    with serve(service(engine, username="flow", token="s3cr3t-token")) as base:
        httpx.post(f"{base}/actions/slow", json=slow_request(), auth=("flow", "s3cr3t-token"))
        ((headers, body),) = engine.wait_for(1)
    assert (headers["manywhotenant"], headers["authorization"], headers["content-type"]) == (
        TENANT,
        "Basic ZmxvdzpzM2NyM3QtdG9rZW4=",
        "application/json",
    )
    assert (body["invokeType"], body["tenantId"], body["token"]) == (
        "FORWARD",
        TENANT,
        "state-token",
    )


def test_without_an_authorization_header_the_body_field_is_forwarded() -> None:
    """An open service forwards the ServiceRequest's authorization field instead."""
    engine = Engine()
    with serve(service(engine)) as base:
        httpx.post(f"{base}/actions/slow", json=slow_request(authorization="engine-user"))
        ((headers, _),) = engine.wait_for(1)
    assert headers["authorization"] == "engine-user"
