"""Structured logs: one record per event, processInstanceId on each, secrets never shown."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from flowintegrations import App, Context, Retry
from flowintegrations.testing import TestClient
from flowintegrations.transport import Record
from support.runtime import DEMO, GREET, GREET_OUT

SECRET = "eyJhbGciOi.secret-jwt.do-not-log"
HEADERS = {"processInstanceId": "1001", "processInstanceUuid": "uuid-1001", "jwt": SECRET}


def failing_app(attempts: int = 2) -> App:
    """An app whose greet handler logs, then fails with the request's jwt in its message."""
    app = App(DEMO, retry=Retry(attempts=attempts, backoff=0.0))

    @app.handler(GREET)
    def greet(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
        ctx.logger.info("greeting %s", payload["name"])
        msg = f"token {ctx.headers['jwt']} was refused"
        raise PermissionError(msg)

    return app


def events(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, str | None]]:
    """(event, message, processInstanceId) of every record that names an event."""
    return [
        (r.event, r.getMessage(), getattr(r, "processInstanceId", None))
        for r in caplog.records
        if hasattr(r, "event") and r.event in ("retry", "dead_letter")
    ]


def test_retries_and_dead_letters_log_one_record_each_with_the_process_instance(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failed try logs one retry record, the dead letter one record, both with the id."""
    with caplog.at_level(logging.INFO), TestClient(failing_app()) as client:
        client.send(GREET, {"name": "Ana"}, headers=HEADERS)
    assert events(caplog) == [
        (
            "retry",
            "greet failed (try 1 of 2), retrying in 0.00s: token <redacted> was refused",
            "1001",
        ),
        (
            "dead_letter",
            f"greet: {GREET_OUT}[0]@0 failed at handler after 2 tries, dead-lettered: "
            "PermissionError: token <redacted> was refused",
            "1001",
        ),
    ]


def test_handler_log_records_carry_the_process_instance_and_scenario(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Records logged through ctx.logger carry processInstanceId and scenario as extra."""
    with caplog.at_level(logging.INFO), TestClient(failing_app(attempts=1)) as client:
        client.send(GREET, {"name": "Ana"}, headers=HEADERS)
    assert [
        (r.getMessage(), r.processInstanceId, r.scenario)
        for r in caplog.records
        if r.name == "flowintegrations.handler"
    ] == [("greeting Ana", "1001", "greet")]


def test_a_request_with_invalid_headers_is_logged_with_its_process_instance(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A dead letter for bad headers still names the processInstanceId the request had."""
    headers = (("processInstanceId", b"1001"), ("Fx-AppId", b"\xff"))
    with caplog.at_level(logging.INFO), TestClient(failing_app()) as client:
        client.send_raw(Record(GREET_OUT, None, b'{"name": "Ana"}', headers))
    assert [(event, pid) for event, _, pid in events(caplog)] == [("dead_letter", "1001")]


def test_secrets_never_reach_a_log_record(caplog: pytest.LogCaptureFixture) -> None:
    """No record, message or extra field holds the value of a secret header."""
    with caplog.at_level(logging.DEBUG), TestClient(failing_app()) as client:
        client.send(GREET, {"name": "Ana"}, headers=HEADERS)
    leaking = [
        r.getMessage()
        for r in caplog.records
        if SECRET in r.getMessage() or SECRET in repr(vars(r))
    ]
    assert (len(caplog.records) > 2, leaking) == (True, [])
