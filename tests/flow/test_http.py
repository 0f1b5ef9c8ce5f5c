"""The HTTP concerns every endpoint shares: Flow's problem answers, and a line per rejection."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from flowintegrations.flow import PROBLEM_KIND_HEADER, FlowService
from flowintegrations.flow.http import Gate, json_response
from support.asgi import Session, session
from support.flow_adapters import kitchen_app

TOKEN = "s3cr3t-t0ken-value"
AUTH = ("flow", TOKEN)


@pytest.fixture
def kitchen() -> Iterator[Session]:
    """The kitchen adapter in process, with credentials and a 1 KiB body cap."""
    service = FlowService(
        kitchen_app(), path="/fs/k", username="flow", token=TOKEN, max_body_bytes=1024
    )
    with session(service, auth=AUTH) as client:
        yield client


def problem(status: int, uri: str, message: str) -> dict[str, Any]:
    """Flow's problem body."""
    return {"kind": "service", "uri": uri, "statusCode": status, "message": message}


def rejections(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    """The level and text of every rejection line logged."""
    return [
        (r.levelname, r.getMessage())
        for r in caplog.records
        if getattr(r, "event", None) == "flow.rejected"
    ]


def test_an_unknown_route_is_a_json_problem_404(kitchen: Session) -> None:
    """A path the service does not serve: 404, Flow's problem body and header."""
    response = kitchen.post("/fs/k/nowhere", json={})
    assert (response.status_code, response.json()) == (
        404,
        problem(404, "/fs/k/nowhere", "no endpoint '/fs/k/nowhere'"),
    )
    assert response.headers[PROBLEM_KIND_HEADER] == "service"


def test_a_path_outside_the_service_is_a_json_problem_404(kitchen: Session) -> None:
    """Outside the Path to Service too: the same JSON problem, never plain text."""
    response = kitchen.request("GET", "/other")
    assert (response.status_code, response.json()) == (
        404,
        problem(404, "/other", "no endpoint '/other'"),
    )


def test_a_wrong_method_is_a_json_problem_405(kitchen: Session) -> None:
    """GET on /metadata: 405 naming the allowed method, with the Allow header."""
    response = kitchen.request("GET", "/fs/k/metadata")
    assert (response.status_code, response.json()) == (
        405,
        problem(405, "/fs/k/metadata", "GET is not allowed here (allowed: POST)"),
    )
    assert (response.headers["allow"], response.headers[PROBLEM_KIND_HEADER]) == (
        "POST",
        "service",
    )


def test_a_wrong_method_on_an_action_is_a_json_problem_405(kitchen: Session) -> None:
    """GET on an action's URL: 405, the JSON problem."""
    response = kitchen.request("GET", "/fs/k/actions/echo")
    assert (response.status_code, response.json()["kind"]) == (405, "service")


def test_a_401_is_a_service_problem_with_both_headers(kitchen: Session) -> None:
    """Without credentials: 401, kind service, WWW-Authenticate and the problem-kind header."""
    response = kitchen.post("/fs/k/metadata", json={}, auth=("flow", "wrong"))
    assert (response.status_code, response.json()) == (
        401,
        problem(
            401,
            "/fs/k/metadata",
            "authentication required: HTTP Basic with the service's username and token",
        ),
    )
    assert (response.headers["www-authenticate"], response.headers[PROBLEM_KIND_HEADER]) == (
        'Basic realm="flowintegrations"',
        "service",
    )


def test_a_400_is_a_service_problem(kitchen: Session) -> None:
    """Malformed input: 400, kind service, the header set."""
    response = kitchen.post("/fs/k/actions/echo", json=[1])
    assert (response.status_code, response.json()) == (
        400,
        problem(400, "/fs/k/actions/echo", "the request body must be a JSON object"),
    )
    assert response.headers[PROBLEM_KIND_HEADER] == "service"


def test_a_413_is_a_service_problem(kitchen: Session) -> None:
    """A body over the cap: 413, kind service."""
    response = kitchen.post("/fs/k/metadata", json={"x": "y" * 2000})
    assert (response.status_code, response.json()) == (
        413,
        problem(413, "/fs/k/metadata", "the request body is larger than the 1024 bytes allowed"),
    )


def test_each_rejected_request_leaves_one_line(
    kitchen: Session, caplog: pytest.LogCaptureFixture
) -> None:
    """400, 401, 404, 405 and 413: one WARNING each with method, path, status and reason."""
    caplog.set_level(logging.INFO, logger="flowintegrations.flow")
    kitchen.post("/fs/k/actions/echo", json=[1])
    kitchen.post("/fs/k/metadata", json={}, auth=("flow", TOKEN + "x"))
    kitchen.post("/fs/k/actions/nope", json={})
    kitchen.request("GET", "/fs/k/metadata")
    kitchen.post("/fs/k/metadata", json={"x": "y" * 2000})
    assert rejections(caplog) == [
        ("WARNING", "rejected POST /fs/k/actions/echo: 400 the request body must be a JSON object"),
        (
            "WARNING",
            "rejected POST /fs/k/metadata: 401 authentication required: HTTP Basic with the "
            "service's username and token",
        ),
        (
            "WARNING",
            "rejected POST /fs/k/actions/nope: 404 no action 'nope' (actions: bad-reply, broken, "
            "broken-politely, echo, flaky, slow)",
        ),
        ("WARNING", "rejected GET /fs/k/metadata: 405 GET is not allowed here (allowed: POST)"),
        (
            "WARNING",
            "rejected POST /fs/k/metadata: 413 the request body is larger than the 1024 bytes "
            "allowed",
        ),
    ]
    assert TOKEN not in caplog.text


def test_an_accepted_request_leaves_no_rejection_line(
    kitchen: Session, caplog: pytest.LogCaptureFixture
) -> None:
    """A describe that succeeds logs no rejection."""
    caplog.set_level(logging.INFO, logger="flowintegrations.flow")
    assert kitchen.post("/fs/k/metadata", json={}).status_code == 200
    assert rejections(caplog) == []


def test_a_secret_in_a_rejection_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    """A token that shows up in a request's path is redacted from the line and the answer."""
    caplog.set_level(logging.INFO, logger="flowintegrations.flow")
    service = FlowService(kitchen_app(), username="flow", token=TOKEN)
    with session(service, auth=AUTH) as client:
        response = client.post(f"/actions/{TOKEN}", json={})
    assert response.json()["message"] == (
        "no action '<redacted>' (actions: bad-reply, broken, broken-politely, echo, flaky, slow)"
    )
    assert TOKEN not in caplog.text
    assert len(rejections(caplog)) == 1


def test_a_requests_secrets_end_with_it() -> None:
    """A value one request marked secret is not redacted from the next request's answer."""
    seen: list[str] = []

    async def first(request: Request) -> Response:
        gate.secret(["tenant-secret-value"])
        seen.append(gate.redacted("tenant-secret-value"))
        return json_response({})

    async def second(request: Request) -> Response:
        seen.append(gate.redacted("tenant-secret-value"))
        return json_response({})

    gate = Gate(username=None, token=None)
    app = Starlette(
        routes=[Route("/1", gate.guard(first), methods=["GET"]), Route("/2", gate.guard(second))]
    )
    with session(app) as client:
        # Both in one task, as a server that runs a connection's requests in turn does.
        client.run(_in_turn(client.client, "/1", "/2"))
    assert seen == ["<redacted>", "tenant-secret-value"]


async def _in_turn(client: httpx.AsyncClient, *paths: str) -> None:
    for path in paths:
        await client.get(path)
