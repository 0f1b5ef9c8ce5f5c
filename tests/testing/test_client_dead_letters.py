"""TestClient.request fails at once, with the dead letter's reasons, on a dead letter."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from flowintegrations import (
    App,
    DataModel,
    Integration,
    Property,
    RequestDeadLetteredError,
    Retry,
    Scenario,
    TopicBinding,
    Violation,
)
from flowintegrations.deadletter import ERROR_STAGE, ERROR_VIOLATIONS
from flowintegrations.testing import TestClient
from flowintegrations.transport import Record

UUID = "3f1c2a9e-0000-4000-8000-000000000001"
CHARGE = Scenario(
    "Charge card",
    "charge",
    topics=[
        TopicBinding("ai.flowx.test.plugin.charge.v1", "ai.flowx.test.engine.receive.charge.v1")
    ],
    output_model=DataModel([Property.number("amount", mandatory=True)]),
    input_model=DataModel([Property.string("receipt", mandatory=True)]),
)
REFUND = Scenario(
    "Refund",
    "refund",
    topics=[
        TopicBinding("ai.flowx.test.plugin.refund.v1", "ai.flowx.test.engine.receive.refund.v1")
    ],
    input_model=DataModel([Property.string("error")]),
    error_reply=True,
)


def payments_app() -> App:
    """Charges fail above 1000 (a ConnectionError); refunds always fail; replies may be bad."""
    app = App(
        Integration("Payments", "payments", scenarios=[CHARGE, REFUND]),
        retry=Retry(attempts=2, backoff=0),
    )

    @app.handler(CHARGE)
    def charge(request: dict[str, Any]) -> dict[str, Any]:
        if request["amount"] > 1000:
            raise ConnectionError("the card processor is down")
        if request["amount"] == 13:
            return {"receipt": 13}
        return {"receipt": f"r-{request['amount']}"}

    @app.handler(REFUND)
    def refund(request: dict[str, Any]) -> dict[str, Any]:
        raise ValueError("refunds are closed")

    return app


def test_a_failing_handler_fails_the_request_at_once() -> None:
    """A handler that fails every try makes request() raise long before the timeout."""
    with TestClient(payments_app()) as client:
        started = time.monotonic()
        with pytest.raises(
            RequestDeadLetteredError,
            match=re.escape(
                f"request to payments/charge (processInstanceUuid={UUID}) was dead-lettered at "
                "stage 'handler' after 2 tries: ConnectionError: the card processor is down"
            )
            + "$",
        ):
            client.request(
                CHARGE, {"amount": 5000}, headers={"processInstanceUuid": UUID}, timeout=30.0
            )
        assert time.monotonic() - started < 5.0


def test_the_error_carries_the_dead_letters_reasons() -> None:
    """stage, error_class, error_message, attempts and the dead letter itself are attributes."""
    with TestClient(payments_app()) as client:
        with pytest.raises(RequestDeadLetteredError) as caught:
            client.request(CHARGE, {"amount": 5000})
        error = caught.value
        assert (error.stage, error.error_class, error.error_message, error.attempts) == (
            "handler",
            "ConnectionError",
            "the card processor is down",
            2,
        )
        assert error.record == client.dead_letters[0]


def test_a_reply_that_breaks_its_model_fails_with_its_violations() -> None:
    """A reply breaking the input model fails the request with stage 'reply' and violations."""
    with (
        TestClient(payments_app()) as client,
        pytest.raises(RequestDeadLetteredError) as caught,
    ):
        client.request(CHARGE, {"amount": 13}, headers={"processInstanceUuid": UUID})
    violation = Violation("$.receipt", "type", "must be a string, got 13")
    assert (caught.value.stage, caught.value.error_class, caught.value.violations) == (
        "reply",
        "ValidationError",
        (violation,),
    )
    assert str(caught.value) == (
        f"request to payments/charge (processInstanceUuid={UUID}) was dead-lettered at stage "
        "'reply' after 2 tries: ValidationError: invalid payload (1 violation):\n"
        "  $.receipt: must be a string, got 13"
    )


def test_a_scenario_with_error_replies_returns_the_error_reply() -> None:
    """When the scenario answers failures, request() returns that answer, not an error."""
    with TestClient(payments_app()) as client:
        reply = client.request(REFUND, {})
        assert (reply.error, len(client.dead_letters)) == ("refunds are closed", 1)


def test_an_earlier_dead_letter_with_the_same_uuid_does_not_fail_a_new_request() -> None:
    """Only a dead letter written after the request was sent counts."""
    with TestClient(payments_app()) as client:
        headers = {"processInstanceUuid": UUID}
        with pytest.raises(RequestDeadLetteredError):
            client.request(CHARGE, {"amount": 5000}, headers=headers)
        assert client.request(CHARGE, {"amount": 5}, headers=headers).payload == {"receipt": "r-5"}


def test_a_non_utf8_value_in_an_undeclared_header_dead_letters_the_request() -> None:
    """An undeclared header that is not UTF-8 makes the request invalid: stage 'headers'."""
    with TestClient(payments_app()) as client:
        client.send_raw(
            Record(
                "ai.flowx.test.plugin.charge.v1",
                value=b'{"amount": 5}',
                headers=(("processInstanceId", b"1"), ("x-trace", b"\xff\xfe")),
            )
        )
        (dead,) = client.dead_letters
    assert (dead.header(ERROR_STAGE), dead.header(ERROR_VIOLATIONS)) == (
        b"headers",
        b'[{"path": "$[\'x-trace\']", "rule": "encoding", "message": "is not valid UTF-8"}]',
    )
