"""The App on the in-memory transport, driven by TestClient: the message loop's behaviour."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import attrs
import pytest

from flowintegrations import (
    App,
    Context,
    HandlerRegistrationError,
    Integration,
    Retry,
    ValidationError,
)
from flowintegrations.deadletter import (
    ATTEMPTS,
    ERROR_CLASS,
    ERROR_MESSAGE,
    ERROR_STAGE,
    ERROR_VIOLATIONS,
    ORIGINAL_OFFSET,
    ORIGINAL_PARTITION,
    ORIGINAL_TOPIC,
)
from flowintegrations.testing import TestClient
from flowintegrations.transport import Record
from support.runtime import ANSWER, DEMO, GREET, GREET_IN, GREET_OUT, HEADERS, NOTIFY

NO_WAIT = Retry(attempts=3, backoff=0.0)


def why(record: Record) -> dict[str, str]:
    """The dead-letter headers of ``record``, decoded."""
    return {k: v.decode() for k, v in record.headers if k.startswith("flowintegrations.")}


def greet_app(**kw: Any) -> App:
    """An app whose greet handler answers 'Hello, <name>'."""
    app = App(DEMO, retry=NO_WAIT, **kw)

    @app.handler(GREET)
    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        return {"greeting": f"Hello, {payload['name']}"}

    return app


def test_sync_handler_reply_is_returned() -> None:
    """A sync handler's return value comes back to the engine as the reply payload."""
    with TestClient(greet_app()) as client:
        reply = client.request(GREET, {"name": "Ana"}, headers=HEADERS)
    assert reply.payload == {"greeting": "Hello, Ana"}


def test_async_handler_reply_is_returned() -> None:
    """An async handler is awaited and its return value is the reply payload."""
    app = App(DEMO)

    @app.handler(GREET)
    async def greet(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return {"greeting": f"Hi {payload['name']}"}

    with TestClient(app) as client:
        assert client.request(GREET, {"name": "Bo"}).payload == {"greeting": "Hi Bo"}


def test_scenario_can_be_named_by_identifier() -> None:
    """Handlers may be registered by scenario identifier, or 'integration/scenario'."""
    app = App(DEMO)

    @app.handler("demo/greet")
    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        return {"greeting": "x"}

    assert app.handlers == {("demo", "greet"): greet}


def test_sync_handlers_run_off_the_loop_and_async_handlers_on_it() -> None:
    """Sync handlers run on worker threads; async handlers run on the event loop thread."""
    threads: dict[str, str] = {}
    app = App(DEMO)

    @app.handler(GREET)
    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        threads["sync"] = threading.current_thread().name
        return {"greeting": "x"}

    @app.handler(ANSWER)
    async def answer(payload: dict[str, Any]) -> dict[str, Any]:
        threads["async"] = threading.current_thread().name
        return {"answer": "y"}

    with TestClient(app) as client:
        client.request(GREET, {"name": "a"})
        client.request(ANSWER, {"question": "b"})
    assert threads["sync"].startswith("flowintegrations-handler")
    assert threads["async"] == "flowintegrations-testclient"


def test_every_request_header_is_copied_to_the_reply_except_non_propagating() -> None:
    """The reply carries every request header, in order, but those declared propagate=False."""
    headers = {**HEADERS, "jwt": "secret-token", "Fx-AppId": "app-7", "callbacksForAction": "cb"}
    with TestClient(greet_app()) as client:
        reply = client.request(GREET, {"name": "Ana"}, headers=headers)
    assert reply.record.headers == (
        ("processInstanceId", b"1001"),
        ("processInstanceUuid", b"uuid-1001"),
        ("Fx-AppId", b"app-7"),
        ("callbacksForAction", b"cb"),
    )


def test_reply_key_is_the_process_instance_uuid() -> None:
    """The reply's Kafka key is the request's processInstanceUuid header."""
    with TestClient(greet_app()) as client:
        reply = client.request(GREET, {"name": "Ana"}, headers=HEADERS)
    assert reply.record.key == b"uuid-1001"


def test_reply_key_is_the_request_key_without_a_uuid_header() -> None:
    """Without a processInstanceUuid header the reply is keyed like the request."""
    request = Record(GREET_OUT, b"request-key", b'{"name": "Ana"}', (("processInstanceId", b"7"),))
    with TestClient(greet_app()) as client:
        client.send_raw(request)
        (reply,) = client.replies(GREET)
    assert (reply.key, json.loads(reply.value)) == (b"request-key", {"greeting": "Hello, Ana"})


def test_reply_key_is_the_uuid_header_even_when_the_request_key_differs() -> None:
    """A request keyed otherwise is answered under its processInstanceUuid header."""
    headers = (("processInstanceId", b"7"), ("processInstanceUuid", b"uuid-7"))
    request = Record(GREET_OUT, b"request-key", b'{"name": "Ana"}', headers)
    with TestClient(greet_app()) as client:
        client.send_raw(request)
        (reply,) = client.replies(GREET)
    assert reply.key == b"uuid-7"


def test_invalid_request_is_dead_lettered_with_every_violation() -> None:
    """A request that breaks its model never reaches the handler and lands in the DLT."""
    calls: list[Any] = []
    app = App(DEMO)

    @app.handler(GREET)
    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        calls.append(payload)
        return {"greeting": "x"}

    value = b'{"times": "twice", "extra": 1}'
    headers = (("processInstanceId", b"9"), ("x", b"\x00\x01"))
    with TestClient(app) as client:
        sent = client.send_raw(Record(GREET_OUT, b"k", value, headers))
        (dead,) = client.dead_letters
    assert calls == []
    assert (dead.topic, dead.key, dead.value) == (GREET_OUT + ".DLT", b"k", value)
    assert dead.headers[:2] == headers
    info = why(dead)
    assert info[ERROR_STAGE] == "request"
    assert info[ERROR_CLASS] == "ValidationError"
    assert json.loads(info[ERROR_VIOLATIONS]) == [
        {"path": "$.name", "rule": "required", "message": "is mandatory but missing"},
        {"path": "$.times", "rule": "type", "message": "must be a number, got 'twice'"},
        {
            "path": "$.extra",
            "rule": "additionalProperties",
            "message": "is not a property of this model",
        },
    ]
    assert (info[ORIGINAL_TOPIC], info[ORIGINAL_PARTITION], info[ORIGINAL_OFFSET]) == (
        GREET_OUT,
        str(sent.partition),
        str(sent.offset),
    )
    assert info[ATTEMPTS] == "0"


@pytest.mark.parametrize(
    ("value", "headers", "stage", "error_class"),
    [
        (b"{not json", (("processInstanceId", b"1"),), "decode", "CodecError"),
        (b"\xff\xfe", (("processInstanceId", b"1"),), "decode", "CodecError"),
        (b'{"name": "a"}', (), "headers", "ValidationError"),
        (b'{"name": "a"}', (("processInstanceId", b"\xff"),), "headers", "ValidationError"),
    ],
    ids=["bad-json", "not-utf8", "missing-mandatory-header", "non-utf8-header"],
)
def test_undecodable_requests_are_dead_lettered(
    value: bytes, headers: tuple[tuple[str, bytes], ...], stage: str, error_class: str
) -> None:
    """Bad bytes and bad headers go to the DLT, tagged with the stage that refused them."""
    with TestClient(greet_app()) as client:
        client.send_raw(Record(GREET_OUT, None, value, headers))
        (dead,) = client.dead_letters
    assert (why(dead)[ERROR_STAGE], why(dead)[ERROR_CLASS]) == (stage, error_class)
    assert dead.value == value


def test_failing_handler_is_retried_until_it_succeeds() -> None:
    """A handler failure is retried; ctx.attempt counts the tries."""
    attempts: list[int] = []
    app = App(DEMO, retry=NO_WAIT)

    @app.handler(GREET)
    def greet(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
        attempts.append(ctx.attempt)
        if ctx.attempt < 3:
            raise ConnectionError("flaky")
        return {"greeting": "finally"}

    with TestClient(app) as client:
        reply = client.request(GREET, {"name": "a"})
        assert client.dead_letters == []
    assert (attempts, reply.payload) == ([1, 2, 3], {"greeting": "finally"})


class BoomError(Exception):
    """A handler's own error."""


def test_handler_failing_every_try_is_dead_lettered() -> None:
    """When retries run out the request is dead-lettered with the handler's error."""
    app = App(DEMO, retry=NO_WAIT)

    @app.handler(GREET)
    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        raise BoomError("no greeting today")

    with TestClient(app) as client:
        client.send(GREET, {"name": "a"})
        (dead,) = client.dead_letters
    info = why(dead)
    assert (info[ERROR_STAGE], info[ERROR_CLASS], info[ERROR_MESSAGE], info[ATTEMPTS]) == (
        "handler",
        f"{__name__}.BoomError",
        "no greeting today",
        "3",
    )


def test_only_listed_exceptions_are_retried() -> None:
    """An exception outside retry_on is dead-lettered after one try."""
    tries: list[int] = []
    app = App(DEMO, retry=Retry(attempts=5, backoff=0.0, retry_on=(ConnectionError,)))

    @app.handler(GREET)
    def greet(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
        tries.append(ctx.attempt)
        raise KeyError("nope")

    with TestClient(app) as client:
        client.send(GREET, {"name": "a"})
        (dead,) = client.dead_letters
    assert (tries, why(dead)[ATTEMPTS]) == ([1], "1")


def test_error_reply_answers_a_failed_request_and_dead_letters_it() -> None:
    """With error_reply the engine gets {"error": message}, and the DLT keeps the request."""
    app = App(DEMO, retry=Retry(attempts=1))

    @app.handler(ANSWER)
    def answer(payload: dict[str, Any]) -> dict[str, Any]:
        raise ValueError("the oracle is closed")

    with TestClient(app) as client:
        reply = client.request(ANSWER, {"question": "why?"})
        assert len(client.dead_letters) == 1
    assert (reply.payload, reply.error) == (
        {"error": "the oracle is closed"},
        "the oracle is closed",
    )


def test_invalid_reply_is_never_sent_and_is_dead_lettered() -> None:
    """A reply that breaks the input model is a handler bug: retried, then dead-lettered."""
    tries: list[int] = []
    app = App(DEMO, retry=NO_WAIT)

    @app.handler(GREET)
    def greet(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
        tries.append(ctx.attempt)
        return {"greeting": 42}

    with TestClient(app) as client:
        client.send(GREET, {"name": "a"})
        (dead,) = client.dead_letters
        assert client.replies(GREET) == []
    info = why(dead)
    assert (tries, info[ERROR_STAGE], info[ERROR_CLASS]) == ([1, 2, 3], "reply", "ValidationError")
    assert json.loads(info[ERROR_VIOLATIONS]) == [
        {"path": "$.greeting", "rule": "type", "message": "must be a string, got 42"}
    ]


def test_none_means_no_reply() -> None:
    """A handler returning None sends nothing, and the request counts as handled."""
    app = App(DEMO)

    @app.handler(GREET)
    def greet(payload: dict[str, Any]) -> None:
        return None

    with TestClient(app) as client:
        client.send(GREET, {"name": "a"})
        assert (client.replies(GREET), client.dead_letters) == ([], [])


def test_fire_and_forget_scenario_has_no_reply_topic() -> None:
    """A scenario without an in topic is handled; whatever the handler returns is not sent."""
    seen: list[str] = []
    app = App(DEMO)

    @app.handler(NOTIFY)
    def notify(payload: dict[str, Any]) -> None:
        seen.append(payload["text"])

    with TestClient(app) as client:
        client.send(NOTIFY, {"text": "hello"})
    assert seen == ["hello"]


@attrs.frozen
class GreetRequest:
    """A typed greet request."""

    name: str
    times: int = 1


@attrs.frozen
class Greeting:
    """A typed greet reply."""

    greeting: str


def test_attrs_classes_are_structured_and_unstructured() -> None:
    """An attrs-annotated payload is structured in; an attrs reply is unstructured out."""
    app = App(DEMO)

    @app.handler(GREET)
    def greet(request: GreetRequest) -> Greeting:
        return Greeting(greeting=" ".join([f"Hi {request.name}"] * request.times))

    with TestClient(app) as client:
        reply = client.request(GREET, {"name": "Ana", "times": 2})
    assert reply.payload == {"greeting": "Hi Ana Hi Ana"}


def test_context_describes_the_request() -> None:
    """The context carries the request's headers, position, scenario and attempt."""
    seen: list[Context] = []
    app = App(DEMO, environment="test")

    @app.handler(GREET)
    def greet(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
        seen.append(ctx)
        return {"greeting": "x"}

    with TestClient(app) as client:
        reply = client.request(GREET, {"name": "a"}, headers=HEADERS)
    (ctx,) = seen
    assert (ctx.process_instance_id, ctx.headers) == ("1001", HEADERS)
    assert (ctx.integration, ctx.scenario, ctx.environment) == (DEMO, GREET, "test")
    assert (ctx.topic, ctx.partition, ctx.key, ctx.attempt) == (GREET_OUT, 0, b"uuid-1001", 1)
    assert ctx.offset == 0
    assert reply.record.topic == GREET_IN


def test_environment_comes_from_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """FLOWINTEGRATIONS_ENV picks the scenario's binding for that environment."""
    monkeypatch.setenv("FLOWINTEGRATIONS_ENV", "prod")
    app = App(DEMO)

    @app.handler(ANSWER)
    def answer(payload: dict[str, Any]) -> dict[str, Any]:
        return {"answer": "42"}

    assert [(out, into) for _, _, out, into in app.routes()] == [
        ("ai.flowx.prod.plugin.answer.v1", "ai.flowx.prod.engine.receive.answer.v1")
    ]
    with TestClient(app) as client:
        assert client.request(ANSWER, {"question": "?"}).record.topic == (
            "ai.flowx.prod.engine.receive.answer.v1"
        )


def test_registering_a_scenario_twice_is_an_error() -> None:
    """A second handler for one scenario is refused at registration."""
    app = greet_app()
    with pytest.raises(HandlerRegistrationError, match="'greet' of integration 'demo' already"):
        app.handler(GREET)(lambda payload: None)


def test_registering_a_scenario_of_an_unknown_integration_is_an_error() -> None:
    """A scenario the app's integrations do not contain is refused at registration."""
    app = App(Integration("Other", "other"))
    with pytest.raises(HandlerRegistrationError, match="belongs to none of this app's"):
        app.handler(GREET)


def test_a_handler_must_take_payload_or_payload_and_context() -> None:
    """A handler with three required parameters is refused at registration."""
    app = App(DEMO)
    with pytest.raises(HandlerRegistrationError, match="must take \\(payload\\) or"):
        app.handler(GREET)(lambda a, b, c: None)


def test_an_app_without_handlers_does_not_start() -> None:
    """Starting an app that has no handler is a clear error."""
    with pytest.raises(HandlerRegistrationError, match="has no handlers"), TestClient(App(DEMO)):
        pass


def test_engine_client_refuses_an_invalid_request() -> None:
    """The engine side validates requests before sending them."""
    with TestClient(greet_app()) as client, pytest.raises(ValidationError, match=r"\$\.name"):
        client.request(GREET, {"times": 1})


def test_secret_headers_never_reach_logs_or_dead_letter_reasons(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A secret header's value is redacted from log lines and dead-letter messages."""
    app = App(DEMO, retry=Retry(attempts=2, backoff=0.0))

    @app.handler(GREET)
    def greet(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
        raise RuntimeError(f"token {ctx.headers['jwt']} rejected")

    caplog.set_level(logging.DEBUG)
    with TestClient(app) as client:
        client.send(GREET, {"name": "a"}, headers={**HEADERS, "jwt": "s3cr3t-jwt"})
        (dead,) = client.dead_letters
    assert why(dead)[ERROR_MESSAGE] == "token <redacted> rejected"
    assert "s3cr3t-jwt" not in caplog.text
    assert "token <redacted> rejected" in caplog.text
