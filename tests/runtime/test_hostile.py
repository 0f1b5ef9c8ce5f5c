"""Hostile records from the reliability issue: each defect's trigger, through a real App.

Every test sends the trigger, then a valid request on the same partition: the trigger must
be dead-lettered (or answered with an error reply) and the partition must keep serving.
"""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from flowintegrations import (
    App,
    Context,
    DataModel,
    Header,
    Integration,
    Property,
    Retry,
    Scenario,
    TopicBinding,
)
from flowintegrations.codec import JsonCodec
from flowintegrations.deadletter import ERROR_MESSAGE, ERROR_STAGE, ORIGINAL_OFFSET
from flowintegrations.testing import TestClient
from flowintegrations.transport import InMemoryBroker, Record
from flowintegrations.transport.memory import record_size
from support.runtime import DEMO, GREET, GREET_OUT, HEADERS

NO_WAIT = Retry(attempts=2, backoff=0.0)
PID = (("processInstanceId", b"1001"),)


@pytest.fixture(autouse=True)
def _collect_garbage() -> Iterator[None]:
    """Collect after each test: a task that died logs so then, not inside pytest's own work."""
    yield
    gc.collect()


def why(record: Record) -> dict[str, str]:
    """The dead-letter headers of ``record``, decoded (invalid bytes escaped)."""
    return {
        k: v.decode("utf-8", "backslashreplace")
        for k, v in record.headers
        if k.startswith("flowintegrations.")
    }


def greet_app(**kw: Any) -> App:
    """An app whose greet handler answers 'Hello, <name>'."""
    app = App(DEMO, retry=NO_WAIT, **kw)

    @app.handler(GREET)
    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        return {"greeting": f"Hello, {payload['name']}"}

    return app


# Defect 4: 1e400 passes the codec as inf ------------------------------------------------------


def test_an_overflowing_number_is_dead_lettered_at_decode() -> None:
    """A request holding 1e400 is dead-lettered at stage decode, naming the number and where."""
    with TestClient(greet_app()) as client:
        client.send_raw(Record(GREET_OUT, None, b'{"n": 1e400}', PID))
        (dead,) = client.dead_letters
    assert (why(dead)[ERROR_STAGE], why(dead)[ERROR_MESSAGE]) == (
        "decode",
        "value is not JSON: number 1e400 at line 1, column 7 is out of range",
    )


def test_the_partition_serves_the_next_request_after_an_overflowing_number() -> None:
    """After a request holding 1e400, the next valid request on its partition is answered."""
    with TestClient(greet_app()) as client:
        client.send_raw(Record(GREET_OUT, None, b'{"name": "a", "times": -1e400}', PID))
        reply = client.request(GREET, {"name": "Ana"}, headers=HEADERS)
    assert reply.payload == {"greeting": "Hello, Ana"}


# Defect 1: a lone surrogate stalls its partition ---------------------------------------------


def answers_after(client: TestClient, hostile: Record) -> tuple[list[tuple[str, str]], Any]:
    """Send ``hostile``, then a valid request: (stage and offset of each dead letter, reply)."""
    sent = client.send_raw(hostile)
    reply = client.request(GREET, {"name": "Ana"}, headers=HEADERS)
    dead = [(why(d)[ERROR_STAGE], why(d)[ORIGINAL_OFFSET]) for d in client.dead_letters]
    assert sent.offset == 0
    return dead, reply.payload


def test_a_lone_surrogate_key_is_dead_lettered_and_the_partition_goes_on() -> None:
    r"""Trigger A: {"\ud800": 1} for a model without unknown keys is dead-lettered; then served."""
    hostile = Record(GREET_OUT, None, b'{"name": "a", "\\ud800": 1}', PID)
    with TestClient(greet_app()) as client:
        dead, reply = answers_after(client, hostile)
    assert (dead, reply) == ([("request", "0")], {"greeting": "Hello, Ana"})


def test_a_handler_error_with_a_lone_surrogate_is_dead_lettered_and_the_partition_goes_on() -> None:
    """Trigger B: a handler error holding a lone surrogate is dead-lettered; then served."""
    app = App(DEMO, retry=NO_WAIT)

    @app.handler(GREET)
    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        if payload["name"] == "boom":
            raise ValueError("bad \ud800 value")
        return {"greeting": f"Hello, {payload['name']}"}

    with TestClient(app) as client:
        dead, reply = answers_after(client, Record(GREET_OUT, None, b'{"name": "boom"}', PID))
        (letter,) = client.dead_letters
    assert (dead, reply) == ([("handler", "0")], {"greeting": "Hello, Ana"})
    assert why(letter)[ERROR_MESSAGE] == "bad \\ud800 value"


def test_a_surrogate_header_name_with_a_bad_value_is_dead_lettered_and_the_partition_goes_on() -> (
    None
):
    r"""A header named "\udcff" with a non-UTF-8 value is dead-lettered at headers; then served."""
    hostile = Record(GREET_OUT, None, b'{"name": "a"}', (*PID, ("\udcff", b"\xff")))
    with TestClient(greet_app()) as client:
        dead, reply = answers_after(client, hostile)
    assert (dead, reply) == ([("headers", "0")], {"greeting": "Hello, Ana"})


# Defect 3: a dead letter larger than the broker takes ---------------------------------------


def too_many_keys(size: int) -> bytes:
    """An invalid greet request of exactly ``size`` bytes: one unknown key per 13 bytes."""
    entries = (size - 13) // 13
    body = b'{"name": "a"' + b"".join(b',"k%07d":0' % i for i in range(entries))
    return body + b" " * (size - len(body) - 1) + b"}"


OVERSIZED = too_many_keys(1_019_998)


def test_an_oversized_invalid_request_is_dead_lettered_within_the_message_size() -> None:
    """A 1,019,998-byte invalid request whose full dead letter would exceed 1 MiB still gets one."""
    with TestClient(greet_app()) as client:
        client.send_raw(Record(GREET_OUT, None, OVERSIZED, PID), timeout=15.0)
        (dead,) = client.dead_letters
    assert (why(dead)[ERROR_STAGE], why(dead)[ORIGINAL_OFFSET]) == ("request", "0")
    assert record_size(dead) <= InMemoryBroker().max_message_bytes


def test_the_partition_serves_the_next_request_after_an_oversized_invalid_request() -> None:
    """After an invalid request whose dead letter must be reduced, the next request is answered."""
    with TestClient(greet_app()) as client:
        client.send_raw(Record(GREET_OUT, None, OVERSIZED, PID), timeout=15.0)
        reply = client.request(GREET, {"name": "Ana"}, headers=HEADERS)
    assert reply.payload == {"greeting": "Hello, Ana"}


def test_the_decode_limit_and_the_message_size_agree_by_default() -> None:
    """The codec decodes exactly what the transport's default message size lets through."""
    assert JsonCodec().max_bytes == InMemoryBroker().max_message_bytes == 1024 * 1024


# Defect 5: a secret shown cut short or escaped ------------------------------------------------

LONG_JWT = "eyJhbGciOiJIUzI1NiJ9." + "x7Kq" * 15
TRICKY_JWT = 'eyJ"quote\\back-slash-ünïcødé-' + "Zp9" * 8

SIGN = Scenario(
    "Sign a document",
    "sign",
    topics=(TopicBinding("ai.flowx.test.plugin.sign.v1", "ai.flowx.test.engine.receive.sign.v1"),),
    output_model=DataModel((Property.string("document", mandatory=True), Property.number("pages"))),
    input_model=DataModel((Property.string("signature"), Property.string("error"))),
    headers=(
        Header("processInstanceId", mandatory=True),
        Header("jwt", secret=True, propagate=False),
    ),
    error_reply=True,
)
VAULT = Integration("Vault", "vault", scenarios=(SIGN,))


def forms(secret: str) -> list[str]:
    """``secret`` as text may show it: as is, and escaped by json.dumps, repr() and ascii()."""
    return [
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        ascii(secret)[1:-1],
    ]


def leaks(text: str, secret: str) -> list[str]:
    """Every 12-character piece of any form of ``secret`` that shows in ``text``."""
    return sorted(
        {form[i : i + 12] for form in forms(secret) for i in range(len(form) - 11)}
        & {text[i : i + 12] for i in range(len(text) - 11)}
    )


def signer(error: str) -> App:
    """An app whose sign handler fails with ``error`` (formatted with the jwt header)."""
    app = App(VAULT, retry=NO_WAIT)

    @app.handler(SIGN)
    def sign(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
        jwt = ctx.headers["jwt"]
        raise RuntimeError(error.format(repr=repr(jwt), json=json.dumps(jwt)))

    return app


def run_sign(app: App, payload: dict[str, Any], jwt: str) -> tuple[str, str]:
    """Send ``payload`` (as is) with header jwt; the dead letters' reasons and the replies."""
    headers = (("processInstanceId", b"1"), ("jwt", jwt.encode()))
    request = Record(SIGN.binding(None).out_topic, None, json.dumps(payload).encode(), headers)
    with TestClient(app) as client:
        client.send_raw(request)
        reasons = " ".join(v for d in client.dead_letters for k, v in why(d).items() if k != "jwt")
        replies = " ".join(r.value.decode() for r in client.replies(SIGN))
    return reasons, replies


ECHOED = ({"document": "d", "pages": LONG_JWT}, LONG_JWT)


def test_a_secret_echoed_in_an_invalid_payload_reaches_no_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A jwt value longer than 60 characters, echoed in a refused payload, is in no log line."""
    caplog.set_level(logging.DEBUG)
    run_sign(signer("unused"), *ECHOED)
    assert leaks(caplog.text, LONG_JWT) == []


def test_a_secret_echoed_in_an_invalid_payload_reaches_no_dead_letter_reason() -> None:
    """A jwt value echoed in a refused payload is in none of the dead letter's reason headers."""
    reasons, _ = run_sign(signer("unused"), *ECHOED)
    assert leaks(reasons, LONG_JWT) == []


def test_a_secret_echoed_in_an_invalid_payload_reaches_no_error_reply() -> None:
    """A jwt value echoed in a refused payload is not in the error reply sent to the engine."""
    _, replies = run_sign(signer("unused"), *ECHOED)
    assert replies != ""
    assert leaks(replies, LONG_JWT) == []


ESCAPED = ["token {repr} rejected", "token {json} rejected"]


@pytest.mark.parametrize("error", ESCAPED, ids=["repr", "json"])
def test_an_escaped_secret_in_a_handler_error_reaches_no_log_line(
    error: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A jwt with quotes, backslashes, non-ASCII, escaped in a handler error, is logged nowhere."""
    caplog.set_level(logging.DEBUG)
    run_sign(signer(error), {"document": "d"}, TRICKY_JWT)
    assert leaks(caplog.text, TRICKY_JWT) == []


@pytest.mark.parametrize("error", ESCAPED, ids=["repr", "json"])
def test_an_escaped_secret_in_a_handler_error_reaches_no_dead_letter_reason(error: str) -> None:
    """A jwt escaped by repr() or json.dumps in a handler error is in no dead-letter reason."""
    reasons, _ = run_sign(signer(error), {"document": "d"}, TRICKY_JWT)
    assert leaks(reasons, TRICKY_JWT) == []


@pytest.mark.parametrize("error", ESCAPED, ids=["repr", "json"])
def test_an_escaped_secret_in_a_handler_error_reaches_no_error_reply(error: str) -> None:
    """A jwt escaped by repr() or json.dumps in a handler error is not in the error reply."""
    _, replies = run_sign(signer(error), {"document": "d"}, TRICKY_JWT)
    assert replies != ""
    assert leaks(replies, TRICKY_JWT) == []
