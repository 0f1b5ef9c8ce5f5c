"""FlowService end to end: uvicorn on a loopback port, called with httpx."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from flowintegrations.flow import PROBLEM_KIND_HEADER, FlowService
from support.flow_adapters import catalog_app, kitchen_app
from support.flowcontract import AsyncContractClient, FlowHttp
from support.flowserver import serve

TOKEN = "s3cr3t-t0ken-value"
AUTH = ("flow", TOKEN)


def text(name: str, content: Any, content_type: str = "ContentString") -> dict[str, Any]:
    """A typed input as Flow sends it."""
    return {"developerName": name, "contentType": content_type, "contentValue": content}


def request(*inputs: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A ServiceRequest with ``inputs``."""
    return {
        "token": "flow-state-token",
        "tenantId": "3b8f7c2e-1d4a-4f6b-9e0c-5a7d2b1c9e01",
        "stateId": "state-1",
        "inputs": list(inputs),
        **fields,
    }


def outputs(answer: dict[str, Any]) -> dict[str, Any]:
    """The scalar outputs of an answer, by name."""
    return {o["developerName"]: o["contentValue"] for o in answer["outputs"]}


@pytest.fixture(scope="module")
def kitchen() -> Iterator[str]:
    """The kitchen adapter served with credentials and a small body cap."""
    service = FlowService(
        kitchen_app(),
        path="/fs/kitchen",
        username="flow",
        token=TOKEN,
        sync_timeout=5.0,
        max_body_bytes=64 * 1024,
        date_time_properties={"when"},
    )
    with serve(service) as base:
        yield f"{base}/fs/kitchen"


@pytest.fixture
def client(flow_http: FlowHttp, kitchen: str) -> Iterator[httpx.Client]:
    """An authenticated client of the kitchen service."""
    with flow_http.client(kitchen, auth=AUTH) as client:
        yield client


def test_health_answers_ok_without_credentials(flow_http: FlowHttp, kitchen: str) -> None:
    """GET /health is 200 {"status": "ok"} and needs no credentials."""
    response = flow_http.get(f"{kitchen}/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_a_request_without_credentials_is_401(flow_http: FlowHttp, kitchen: str) -> None:
    """No Authorization header: 401 with WWW-Authenticate: Basic."""
    response = flow_http.post(f"{kitchen}/metadata", json={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Basic realm="flowintegrations"'


def test_a_wrong_token_is_401(flow_http: FlowHttp, kitchen: str) -> None:
    """The right username with a wrong token is refused."""
    response = flow_http.post(f"{kitchen}/metadata", json={}, auth=("flow", "wrong"))
    assert response.status_code == 401


def test_a_malformed_authorization_header_is_401(flow_http: FlowHttp, kitchen: str) -> None:
    """Basic with text that is not base64 is refused, not a crash."""
    response = flow_http.post(
        f"{kitchen}/metadata", json={}, headers={"Authorization": "Basic ***not-base64***"}
    )
    assert response.status_code == 401


def test_the_right_credentials_are_accepted(client: httpx.Client) -> None:
    """Username and token as configured: the describe answer."""
    response = client.post("/metadata", json={"culture": None, "uri": "u"})
    assert (response.status_code, response.json()["uri"]) == (200, "u")


def test_the_token_never_shows_in_the_repr() -> None:
    """repr(FlowService) shows <redacted> instead of the token."""
    service = FlowService(kitchen_app(), username="flow", token=TOKEN)
    assert TOKEN not in repr(service)
    assert "token='<redacted>'" in repr(service)


def test_a_sync_action_answers_forward_with_its_outputs(client: httpx.Client) -> None:
    """The echo action answers FORWARD, echoing token and tenant, outputs exact."""
    answer = client.post(
        "/actions/echo",
        json=request(
            text("text", "hi"),
            text("count", "2", "ContentNumber"),
            text("ratio", "0.5", "ContentNumber"),
            text("flag", "false", "ContentBoolean"),
            text("when", "2026-11-22T15:00:00.000Z", "ContentDateTime"),
        ),
    ).json()
    assert (answer["invokeType"], answer["token"], answer["tenantId"]) == (
        "FORWARD",
        "flow-state-token",
        "3b8f7c2e-1d4a-4f6b-9e0c-5a7d2b1c9e01",
    )
    assert outputs(answer) == {
        "text": "hi",
        "count": "2",
        "ratio": "0.5",
        "flag": "false",
        "when": "2026-11-22T15:00:00.000Z",
    }


def test_an_invalid_request_is_400_with_every_violation(client: httpx.Client) -> None:
    """A request missing a mandatory input and with a wrong enum lists both, with paths."""
    response = client.post("/actions/echo", json=request(text("color", "BLUE")))
    assert response.status_code == 400
    paths = sorted((v["path"], v["rule"]) for v in response.json()["violations"])
    assert paths == [("$.color", "enum"), ("$.text", "required")]


def test_a_content_number_that_is_not_a_number_is_400(client: httpx.Client) -> None:
    """Text "abc" as a ContentNumber: 400 naming the path and the text."""
    response = client.post(
        "/actions/echo", json=request(text("text", "x"), text("count", "abc", "ContentNumber"))
    )
    assert response.status_code == 400
    assert response.json()["violations"] == [
        {
            "path": "$.count",
            "rule": "contentValue",
            "message": "a ContentNumber is decimal text like '2' or '0.5', got 'abc'",
        }
    ]


def test_malformed_json_is_400_without_a_traceback(client: httpx.Client) -> None:
    """A body that is not JSON is 400 with a sentence, no traceback."""
    response = client.post(
        "/actions/echo", content=b'{"inputs": [', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("the request body is not JSON:")
    assert "Traceback" not in response.text


def test_a_body_that_is_not_an_object_is_400(client: httpx.Client) -> None:
    """A JSON array as the body is refused with a clear message."""
    response = client.post("/actions/echo", json=[1, 2])
    assert (response.status_code, response.json()["message"]) == (
        400,
        "the request body must be a JSON object",
    )


def test_hostile_strings_are_data_not_errors(client: httpx.Client) -> None:
    """Quotes, markup and line separators in a value come back unchanged."""
    hostile = "'\"<script>\u2028\u0000"
    response = client.post("/actions/echo", json=request(text("text", hostile)))
    assert response.status_code == 200
    assert outputs(response.json()) == {"text": hostile}


def test_a_lone_surrogate_is_400(client: httpx.Client) -> None:
    """A value that is not valid Unicode is 400 naming its path, never a 500."""
    body = json.dumps(request(text("text", "\ud800"))).encode()
    response = client.post(
        "/actions/echo", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert [v["path"] for v in response.json()["violations"]] == ["$.text"]


def test_a_body_over_the_cap_is_413(client: httpx.Client) -> None:
    """A body larger than max_body_bytes is refused with 413."""
    response = client.post("/actions/echo", json=request(text("text", "x" * 70_000)))
    assert response.status_code == 413


def test_a_streamed_body_over_the_cap_is_413(client: httpx.Client) -> None:
    """Without a Content-Length, the cap still holds while reading."""
    chunks = (b"x" * 8192 for _ in range(10))
    response = client.post("/actions/echo", content=chunks)
    assert response.status_code == 413


def test_an_unknown_action_is_404(client: httpx.Client) -> None:
    """An action no scenario serves: 404 naming the served ones."""
    response = client.post("/actions/nope", json=request())
    assert response.status_code == 404
    assert response.json()["message"] == (
        "no action 'nope' (actions: bad-reply, broken, broken-politely, echo, flaky, slow)"
    )


def test_a_failing_handler_is_500_with_the_service_problem(client: httpx.Client) -> None:
    """After its retries a crashing handler is 500, kind service, and the header set."""
    response = client.post("/actions/broken", json=request(text("seconds", "0", "ContentNumber")))
    assert response.status_code == 500
    assert response.headers[PROBLEM_KIND_HEADER] == "service"
    body = response.json()
    assert (body["kind"], body["statusCode"], body["uri"]) == (
        "service",
        500,
        "/fs/kitchen/actions/broken",
    )
    assert "the printer is on fire" in body["message"]


def test_a_failing_try_is_retried_with_the_apps_policy(client: httpx.Client) -> None:
    """The pipeline retries a failed try; ctx carries the attempt and the Flow state id."""
    answer = client.post("/actions/flaky", json=request()).json()
    assert outputs(answer) == {"status": "attempt 2 for state-1"}


def test_a_reply_that_breaks_its_model_is_500(client: httpx.Client) -> None:
    """A handler's invalid reply is a handler bug: 500, never sent as outputs."""
    response = client.post(
        "/actions/bad-reply", json=request(text("seconds", "0", "ContentNumber"))
    )
    assert (response.status_code, response.json()["kind"]) == (500, "service")


def test_an_error_reply_scenario_answers_200_with_root_faults(client: httpx.Client) -> None:
    """With error_reply=True a failure is a 200 whose rootFaults carries the error."""
    response = client.post(
        "/actions/broken-politely", json=request(text("seconds", "0", "ContentNumber"))
    )
    assert response.status_code == 200
    assert "no paper left" in response.json()["rootFaults"]["error"]


def test_an_invalid_request_is_400_even_with_error_replies(client: httpx.Client) -> None:
    """A scenario with error_reply=True still answers a malformed request with 400."""
    response = client.post("/actions/broken-politely", json=request())
    assert response.status_code == 400
    assert [(v["path"], v["rule"]) for v in response.json()["violations"]] == [
        ("$.seconds", "required")
    ]


def test_many_concurrent_requests_are_all_answered_correctly(kitchen: str) -> None:
    """250 requests in parallel each get their own echo back."""

    async def run() -> list[tuple[int, dict[str, Any]]]:
        limits = httpx.Limits(max_connections=250)
        async with AsyncContractClient(
            base_url=kitchen, auth=AUTH, timeout=30.0, limits=limits
        ) as c:

            async def one(n: int) -> tuple[int, dict[str, Any]]:
                r = await c.post(
                    "/actions/echo",
                    json=request(text("text", f"n{n}"), text("count", str(n), "ContentNumber")),
                )
                return r.status_code, outputs(r.json())

            return await asyncio.gather(*(one(n) for n in range(250)))

    answers = asyncio.run(run())
    assert answers == [(200, {"text": f"n{n}", "count": str(n)}) for n in range(250)]


def test_the_token_is_not_logged(
    flow_http: FlowHttp, kitchen: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Failures and refusals log no credential."""
    caplog.set_level(logging.DEBUG)
    flow_http.post(f"{kitchen}/actions/broken", json=request(), auth=AUTH)
    flow_http.post(f"{kitchen}/metadata", json={}, auth=("flow", TOKEN + "x"))
    assert TOKEN not in caplog.text


def test_catalog_actions_run_through_the_same_handlers(flow_http: FlowHttp) -> None:
    """The example catalog's OBJECT_REF input reaches the handler as a dict."""
    service = FlowService(catalog_app())
    address = {"properties": [text("street", "S"), text("city", "Cluj"), text("country", "RO")]}
    with serve(service) as base:
        answer = flow_http.post(
            f"{base}/actions/generate-document",
            json=request(
                text("documentType", "OFFER"),
                text("customerName", "Ana"),
                {
                    "developerName": "address",
                    "contentType": "ContentObject",
                    "contentValue": None,
                    "objectData": [address],
                },
            ),
        ).json()
    assert outputs(answer) == {
        "documentId": "doc-1",
        "downloadPath": "/docs/Cluj.pdf",
        "pages": "2",
    }


def test_forward_and_fault_answers_carry_value_faults_as_an_array(client: httpx.Client) -> None:
    """A FORWARD and a 200 answer with rootFaults both carry valueFaults as [] (never {})."""
    forward = client.post("/actions/echo", json=request(text("text", "hi"))).json()
    fault = client.post(
        "/actions/broken-politely", json=request(text("seconds", "0", "ContentNumber"))
    ).json()
    assert (forward["valueFaults"], fault["valueFaults"], fault["invokeType"]) == (
        [],
        [],
        "FORWARD",
    )
