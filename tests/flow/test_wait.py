"""Long-running actions: WAIT at once, the final answer POSTed to the callback URI later."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from flowintegrations.flow import FlowService
from support.flow_adapters import kitchen_app
from support.flowcontract import FlowHttp, check_callback
from support.flowserver import serve


class Engine:
    """A real HTTP server playing Flow's callback endpoint; fails the first ``failures`` POSTs."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.posts: list[tuple[int, dict[str, Any]]] = []
        self.broken: list[str] = []  # callback bodies that break the platform's contract
        engine = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                try:
                    check_callback(body)
                except AssertionError as exc:
                    engine.broken.append(str(exc))
                status = 500 if len(engine.posts) < engine.failures else 200
                engine.posts.append((status, body))
                self.send_response(status)
                self.send_header("Content-Length", "9")
                self.end_headers()
                self.wfile.write(b'"FORWARD"')

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.server.server_address[1]}/api/run/1/response"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[int, dict[str, Any]]]:
        """The POSTs received, once there are ``count`` of them (each held to the contract)."""
        deadline = time.monotonic() + timeout
        while len(self.posts) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.broken == []
        return list(self.posts)


@pytest.fixture
def engine() -> Iterator[Engine]:
    """A callback endpoint that accepts every POST."""
    engine = Engine()
    yield engine
    engine.server.shutdown()


def slow_request(seconds: str, callback: str) -> dict[str, Any]:
    """A ServiceRequest to the slow action."""
    return {
        "token": "state-token",
        "tenantId": "3b8f7c2e-1d4a-4f6b-9e0c-5a7d2b1c9e09",
        "stateId": "state-9",
        "callbackUri": callback,
        "inputs": [
            {"developerName": "seconds", "contentType": "ContentNumber", "contentValue": seconds}
        ],
    }


def service() -> FlowService:
    """The kitchen adapter with a short sync timeout and fast callback retries."""
    return FlowService(kitchen_app(), sync_timeout=0.2, callback_attempts=3, callback_backoff=0.05)


def test_a_slow_action_answers_wait_with_a_wait_message(
    flow_http: FlowHttp, engine: Engine
) -> None:
    """A handler still running after sync_timeout: WAIT at once, token and tenant echoed."""
    with serve(service()) as base:
        answer = flow_http.post(f"{base}/actions/slow", json=slow_request("0.6", engine.uri)).json()
    assert (answer["invokeType"], answer["token"], answer["tenantId"], answer["outputs"]) == (
        "WAIT",
        "state-token",
        "3b8f7c2e-1d4a-4f6b-9e0c-5a7d2b1c9e09",
        [],
    )
    assert answer["waitMessage"] == "The action is still running; its result will follow."


def test_the_final_answer_is_posted_to_the_callback_uri(
    flow_http: FlowHttp, engine: Engine
) -> None:
    """When the handler finishes, its ServiceResponse (FORWARD, outputs) reaches the callback."""
    with serve(service()) as base:
        flow_http.post(f"{base}/actions/slow", json=slow_request("0.4", engine.uri))
        ((status, body),) = engine.wait_for(1)
    assert status == 200
    assert (body["invokeType"], body["token"], body["tenantId"]) == (
        "FORWARD",
        "state-token",
        "3b8f7c2e-1d4a-4f6b-9e0c-5a7d2b1c9e09",
    )
    assert [(o["developerName"], o["contentValue"]) for o in body["outputs"]] == [
        ("status", "done")
    ]


def test_a_failing_callback_endpoint_is_retried(flow_http: FlowHttp) -> None:
    """Two 500s from the callback endpoint, then a 200: three POSTs of the same answer."""
    engine = Engine(failures=2)
    flow = service()
    with serve(flow) as base:
        flow_http.post(f"{base}/actions/slow", json=slow_request("0.3", engine.uri))
        posts = engine.wait_for(3)
    engine.server.shutdown()
    assert [status for status, _ in posts] == [500, 500, 200]
    assert posts[0][1] == posts[2][1]
    assert (flow.callbacks.delivered, flow.callbacks.failed) == (1, 0)


def test_a_callback_that_keeps_failing_is_logged_and_kept(
    flow_http: FlowHttp, caplog: pytest.LogCaptureFixture
) -> None:
    """After its last try the answer is counted, logged at ERROR and kept for replay."""
    engine = Engine(failures=100)
    flow = service()
    with serve(flow) as base:
        flow_http.post(f"{base}/actions/slow", json=slow_request("0.3", engine.uri))
        engine.wait_for(3)
    engine.server.shutdown()
    assert flow.callbacks.failed == 1
    (kept,) = flow.undelivered_callbacks
    assert (kept.uri, kept.state_id, kept.reason) == (engine.uri, "state-9", "HTTP 500")
    assert json.loads(kept.body)["invokeType"] == "FORWARD"
    assert any(
        r.levelname == "ERROR" and "failed 3 times" in r.getMessage() for r in caplog.records
    )


def test_shutdown_waits_for_a_waiting_action_to_deliver(
    flow_http: FlowHttp, engine: Engine
) -> None:
    """Stopping the server while an action runs still delivers its final answer."""
    with serve(service()) as base:
        answer = flow_http.post(f"{base}/actions/slow", json=slow_request("0.5", engine.uri)).json()
    assert answer["invokeType"] == "WAIT"
    assert [status for status, _ in engine.posts] == [200]
