"""Stopping: from the start of the service's shutdown, requests get the 503 problem."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from flowintegrations import App, DataModel, Integration, Property, Retry, Scenario
from flowintegrations.flow import PROBLEM_KIND_HEADER, FlowService
from support.asgi import lifespan
from support.flowcontract import AsyncContractClient

WORK = Scenario(
    "Work",
    "work",
    output_model=DataModel((Property.number("seconds", mandatory=True),)),
    input_model=DataModel((Property.string("status"),)),
)
FAIL_ONCE = Scenario("Fail once", "fail-once", output_model=DataModel(), input_model=DataModel())


def work_app(release: asyncio.Event, failed: asyncio.Event, tries: list[int] | None = None) -> App:
    """The work action sleeps as asked; fail-once fails every try once `release` is set."""
    app = App(Integration("Work", "work", scenarios=(WORK, FAIL_ONCE)), retry=Retry(3, backoff=0))

    @app.handler(WORK)
    async def work(payload: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(payload["seconds"])
        return {"status": "done"}

    @app.handler(FAIL_ONCE)
    async def fail_once(payload: dict[str, Any]) -> dict[str, Any]:
        await release.wait()
        failed.set()
        if tries is not None:
            tries.append(1)
        msg = "the backend went away"
        raise ConnectionError(msg)

    return app


def seconds(value: str) -> dict[str, Any]:
    """The inputs of the work action."""
    return {
        "inputs": [
            {"developerName": "seconds", "contentType": "ContentNumber", "contentValue": value}
        ],
        "callbackUri": "http://engine.test/callback",
    }


async def shut_down_while_waiting() -> tuple[httpx.Response, httpx.Response, int]:
    """A WAITing action keeps shutdown open; a request arriving then, and one after."""
    posted: list[httpx.Request] = []

    def engine(request: httpx.Request) -> httpx.Response:
        posted.append(request)
        return httpx.Response(200, json="FORWARD")

    release, failed = asyncio.Event(), asyncio.Event()
    service = FlowService(
        work_app(release, failed),
        sync_timeout=0.05,
        callback_transport=httpx.MockTransport(engine),
    )
    transport = httpx.ASGITransport(app=service)
    async with AsyncContractClient(transport=transport, base_url="http://flow.test") as client:
        async with lifespan(service):
            waiting = await client.post("/actions/work", json=seconds("0.3"))
            assert waiting.json()["invokeType"] == "WAIT"
            closing = asyncio.ensure_future(service.aclose())
            await asyncio.sleep(0.05)
            during = await client.post("/actions/work", json=seconds("0"))
            await closing
        after = await client.post("/metadata", json={})  # closed, it serves again
    return during, after, len(posted)


def test_a_request_arriving_while_stopping_is_a_503_problem() -> None:
    """During shutdown: 503, Flow's problem body; the WAITing action still calls back."""
    during, after, callbacks = asyncio.run(shut_down_while_waiting())
    assert (during.status_code, during.json(), during.headers[PROBLEM_KIND_HEADER]) == (
        503,
        {
            "kind": "service",
            "uri": "/actions/work",
            "statusCode": 503,
            "message": "the service is stopping; try again",
        },
        "service",
    )
    assert (after.status_code, callbacks) == (200, 1)


async def fail_while_stopping() -> tuple[list[dict[str, Any]], int]:
    """A WAITing action whose first try fails once the service has begun to stop."""
    posted: list[dict[str, Any]] = []

    def engine(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content))
        return httpx.Response(200, json="FORWARD")

    release, failed = asyncio.Event(), asyncio.Event()
    tries: list[int] = []
    app = work_app(release, failed, tries)
    service = FlowService(app, sync_timeout=0.05, callback_transport=httpx.MockTransport(engine))
    transport = httpx.ASGITransport(app=service)
    client = AsyncContractClient(transport=transport, base_url="http://flow.test")
    async with client, lifespan(service):
        body = {"callbackUri": "http://engine.test/callback", "tenantId": "t"}
        waiting = await client.post("/actions/fail-once", json=body)
        assert waiting.json()["invokeType"] == "WAIT"
        closing = asyncio.ensure_future(service.aclose())
        await asyncio.sleep(0.05)
        release.set()
        await closing
    return posted, len(tries)


def test_a_failed_try_while_stopping_is_not_retried() -> None:
    """Tries were left, but the service is stopping: one try, its failure called back."""
    posted, tries = asyncio.run(fail_while_stopping())
    ((answer),) = posted
    assert (tries, answer["invokeType"], answer["rootFaults"]) == (
        1,
        "FORWARD",
        {"error": "the backend went away"},
    )
