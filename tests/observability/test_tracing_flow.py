"""Traces of Flow message actions: a SERVER span with the same attributes, and its children."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from opentelemetry.trace import SpanKind, StatusCode

from flowintegrations.flow import FlowService
from support.flow_adapters import kitchen_app
from support.otel import Recorded

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def call(recorded: Recorded, action: str, inputs: list[dict[str, Any]]) -> int:
    """POST one action to the kitchen service (traced by ``recorded``); the status code."""
    app = kitchen_app()
    app.telemetry = recorded.telemetry
    service = FlowService(app)

    async def main() -> int:
        transport = httpx.ASGITransport(app=service)
        async with httpx.AsyncClient(transport=transport, base_url="http://flow") as client:
            response = await client.post(
                f"/actions/{action}",
                json={"stateId": "state-1", "inputs": inputs},
                headers={"traceparent": TRACEPARENT},
            )
        await service.aclose()
        return response.status_code

    return asyncio.run(main())


def test_an_action_is_a_server_span_continuing_the_callers_trace() -> None:
    """The echo action: a SERVER span under the caller's traceparent, with its attributes."""
    recorded = Recorded.make()
    status = call(recorded, "echo", [{"developerName": "text", "contentValue": "hi"}])
    span = recorded.span("flow:actions/echo")
    assert (
        status,
        span.kind,
        f"{span.context.trace_id:032x}",
        f"{span.parent.span_id:016x}",  # type: ignore[union-attr]
        dict(span.attributes or {}),
    ) == (
        200,
        SpanKind.SERVER,
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
        {
            "flowx.integration": "kitchen",
            "flowx.scenario": "echo",
            "flowx.process_instance_id": "state-1",
            "flowx.outcome": "replied",
        },
    )


def test_an_action_has_validate_and_handler_children() -> None:
    """Validation and the handler's try are children of the action's span."""
    recorded = Recorded.make()
    call(recorded, "echo", [{"developerName": "text", "contentValue": "hi"}])
    assert recorded.tree() == {
        ("flow:actions/echo", "remote"),
        ("validate", "flow:actions/echo"),
        ("handler", "flow:actions/echo"),
    }


def test_a_failing_action_records_the_error_and_its_stage() -> None:
    """The broken action: its span is an error at stage handler, outcome dead_lettered."""
    recorded = Recorded.make()
    seconds = {"developerName": "seconds", "contentType": "ContentNumber", "contentValue": "0"}
    status = call(recorded, "broken", [seconds])
    span = recorded.span("flow:actions/broken")
    attributes = dict(span.attributes or {})
    assert (
        status,
        span.status.status_code,
        attributes["flowx.error.stage"],
        attributes["flowx.outcome"],
    ) == (500, StatusCode.ERROR, "handler", "dead_lettered")
