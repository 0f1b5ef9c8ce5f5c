"""App + EngineClient on the real broker: replies, headers, keys, dead letters, error replies."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import pytest

from flowintegrations import App, Context, EngineClient, Integration, Retry
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
from flowintegrations.transport import Record, Subscription
from support.kafka import fresh, headers_of, integration_on_fresh_topics, kafka_transport, read
from support.runtime import DEMO, HEADERS

pytestmark = pytest.mark.kafka

NO_WAIT = Retry(attempts=3, backoff=0.0)
WHY = (
    ERROR_STAGE,
    ERROR_CLASS,
    ERROR_MESSAGE,
    ERROR_VIOLATIONS,
    ORIGINAL_TOPIC,
    ORIGINAL_PARTITION,
    ORIGINAL_OFFSET,
    ATTEMPTS,
)


@attrs.define
class Running:
    """An app on Kafka, the engine's client, and readers of the dead letters and replies."""

    app: App
    integration: Integration
    engine: EngineClient
    dead_letters: Subscription
    replies: Subscription

    def topics(self, identifier: str) -> tuple[str, str | None]:
        """(out topic, in topic) of the scenario called ``identifier``."""
        binding = self.integration.scenario(identifier).binding(None)
        return binding.out_topic, binding.in_topic

    async def send_raw(self, identifier: str, record: Record) -> None:
        """Put ``record`` on the scenario's out topic as is, unvalidated."""
        out_topic, _ = self.topics(identifier)
        await self.app.transport.send(record.replace(topic=out_topic))


@contextlib.asynccontextmanager
async def on_kafka(
    bootstrap: str, register: Callable[[App, Integration], None], *, retry: Retry = NO_WAIT
) -> AsyncIterator[Running]:
    """Run a fresh-topic copy of the demo integration on Kafka, handlers from ``register``.

    The app, the engine client and the two readers join their groups concurrently (each
    join takes seconds); readers see the dead-letter topics and the raw in topics. Every
    group is fresh: on Tansu, a member that left while its group was still forming can
    keep that group from forming again for a long while.
    """
    integration = integration_on_fresh_topics(DEMO)
    transport = kafka_transport(bootstrap)
    app = App(integration, transport=transport, retry=retry, group_id=fresh("adapter"))
    register(app, integration)
    engine = EngineClient(integration, transport=transport)
    routes = app.routes()
    dead_topics = sorted(out + app.dead_letter_suffix for _, _, out, _ in routes)
    in_topics = sorted(in_topic for _, _, _, in_topic in routes if in_topic)
    try:
        await transport.start()
        await transport.ensure_topics([*dead_topics, *in_topics, *(o for _, _, o, _ in routes)])
        dead_letters, replies, *_ = await asyncio.gather(
            transport.subscribe(dead_topics, group_id=fresh("dead")),
            transport.subscribe(in_topics, group_id=fresh("replies")),
            app.start(),
            engine.start(),
        )
        yield Running(app, integration, engine, dead_letters, replies)
    finally:
        await engine.stop()
        await app.stop()
        await transport.stop()


def greet_and_answer(app: App, integration: Integration) -> None:
    """Greet answers 'Hello, <name>'; answer fails for a question about failing."""

    @app.handler(integration.scenario("greet"))
    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        return {"greeting": f"Hello, {payload['name']}"}

    @app.handler(integration.scenario("answer"))
    async def answer(payload: dict[str, Any]) -> dict[str, Any]:
        if "fail" in payload["question"]:
            msg = f"cannot answer {payload['question']!r}"
            raise LookupError(msg)
        return {"answer": "42"}


def test_request_gets_its_validated_reply(kafka_bootstrap: str) -> None:
    """A request through Kafka comes back as the handler's validated reply."""

    async def main() -> Any:
        async with on_kafka(kafka_bootstrap, greet_and_answer) as running:
            reply = await running.engine.request("greet", {"name": "Ana"}, headers=HEADERS)
            return reply.payload

    assert asyncio.run(main()) == {"greeting": "Hello, Ana"}


def test_every_request_header_is_copied_to_the_reply(kafka_bootstrap: str) -> None:
    """The reply carries every request header in order, except the propagate=False jwt."""
    headers = {
        **HEADERS,
        "jwt": "secret-token",
        "destinationId": "dest-1",
        "callbacksForAction": "cb",
        "fxContext": "main",
        "Fx-AppId": "app-7",
        "custom": "x",
    }

    async def main() -> Record:
        async with on_kafka(kafka_bootstrap, greet_and_answer) as running:
            reply = await running.engine.request("greet", {"name": "Ana"}, headers=headers)
            return reply.record

    assert asyncio.run(main()).headers == (
        ("processInstanceId", b"1001"),
        ("processInstanceUuid", b"uuid-1001"),
        ("destinationId", b"dest-1"),
        ("callbacksForAction", b"cb"),
        ("fxContext", b"main"),
        ("Fx-AppId", b"app-7"),
        ("custom", b"x"),
    )


def test_reply_key_is_the_process_instance_uuid(kafka_bootstrap: str) -> None:
    """The reply's key is the processInstanceUuid header, not the request's key."""

    async def main() -> list[bytes | None]:
        async with on_kafka(kafka_bootstrap, greet_and_answer) as running:
            request = Record(
                "",
                b"request-key",
                b'{"name": "Ana"}',
                tuple((k, v.encode()) for k, v in HEADERS.items()),
            )
            await running.send_raw("greet", request)
            return [r.key for r in await read(running.replies, 1)]

    assert asyncio.run(main()) == [b"uuid-1001"]


def test_reply_key_is_the_request_key_without_a_uuid(kafka_bootstrap: str) -> None:
    """Without a processInstanceUuid header the reply is keyed like the request."""

    async def main() -> list[bytes | None]:
        async with on_kafka(kafka_bootstrap, greet_and_answer) as running:
            request = Record("", b"request-key", b'{"name": "Ana"}', (("processInstanceId", b"9"),))
            await running.send_raw("greet", request)
            return [r.key for r in await read(running.replies, 1)]

    assert asyncio.run(main()) == [b"request-key"]


def test_invalid_request_is_dead_lettered_with_why_headers(kafka_bootstrap: str) -> None:
    """A request that breaks its model goes to <topic>.DLT as it was, with why-headers."""
    value = b'{"times": "twice"}'

    async def main() -> tuple[str, Record]:
        async with on_kafka(kafka_bootstrap, greet_and_answer) as running:
            out_topic, _ = running.topics("greet")
            await running.send_raw("greet", Record("", b"k", value, (("processInstanceId", b"5"),)))
            (dead,) = await read(running.dead_letters, 1)
            return out_topic, dead

    out_topic, dead = asyncio.run(main())
    violations = [
        {"path": "$.name", "rule": "required", "message": "is mandatory but missing"},
        {"path": "$.times", "rule": "type", "message": "must be a number, got 'twice'"},
    ]
    assert (dead.topic, dead.key, dead.value) == (out_topic + ".DLT", b"k", value)
    assert headers_of(dead, ["processInstanceId", *WHY]) == {
        "processInstanceId": "5",
        ERROR_STAGE: "request",
        ERROR_CLASS: "ValidationError",
        ERROR_MESSAGE: (
            "invalid payload (2 violations):\n  $.name: is mandatory but missing\n"
            "  $.times: must be a number, got 'twice'"
        ),
        ERROR_VIOLATIONS: json.dumps(violations),
        ORIGINAL_TOPIC: out_topic,
        ORIGINAL_PARTITION: "0",
        ORIGINAL_OFFSET: "0",
        ATTEMPTS: "0",
    }


def test_failing_handler_is_retried_then_dead_lettered(kafka_bootstrap: str) -> None:
    """A handler failing every try is tried retry.attempts times, then dead-lettered."""
    tries: list[int] = []

    def register(app: App, integration: Integration) -> None:
        @app.handler(integration.scenario("greet"))
        def greet(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
            tries.append(ctx.attempt)
            msg = f"no greeting for {payload['name']} today"
            raise ConnectionError(msg)

    async def main() -> Record:
        async with on_kafka(kafka_bootstrap, register) as running:
            await running.engine.send("greet", {"name": "Ana"}, headers=HEADERS)
            (dead,) = await read(running.dead_letters, 1)
            return dead

    dead = asyncio.run(main())
    assert tries == [1, 2, 3]
    assert headers_of(dead, [ERROR_STAGE, ERROR_CLASS, ERROR_MESSAGE, ATTEMPTS]) == {
        ERROR_STAGE: "handler",
        ERROR_CLASS: "ConnectionError",
        ERROR_MESSAGE: "no greeting for Ana today",
        ATTEMPTS: "3",
    }


def test_flaky_handler_succeeds_on_a_retry(kafka_bootstrap: str) -> None:
    """A handler that fails once is retried and its second answer is the reply."""

    def register(app: App, integration: Integration) -> None:
        @app.handler(integration.scenario("greet"))
        async def greet(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
            if ctx.attempt == 1:
                msg = "flaky"
                raise ConnectionError(msg)
            return {"greeting": f"try {ctx.attempt}"}

    async def main() -> Any:
        async with on_kafka(kafka_bootstrap, register) as running:
            return (await running.engine.request("greet", {"name": "Ana"})).payload

    assert asyncio.run(main()) == {"greeting": "try 2"}


def test_error_reply_answers_a_failed_request(kafka_bootstrap: str) -> None:
    """A scenario with error_reply answers a failed request with {"error": message}."""

    async def main() -> tuple[Any, list[str]]:
        async with on_kafka(kafka_bootstrap, greet_and_answer) as running:
            reply = await running.engine.request("answer", {"question": "fail?"}, headers=HEADERS)
            dead = await read(running.dead_letters, 1)
            return reply.payload, [headers_of(d)[ERROR_STAGE] for d in dead]

    assert asyncio.run(main()) == ({"error": "cannot answer 'fail?'"}, ["handler"])


def test_invalid_reply_is_dead_lettered_and_never_sent(kafka_bootstrap: str) -> None:
    """A reply that breaks the input model is dead-lettered at stage reply; nothing is sent."""

    def register(app: App, integration: Integration) -> None:
        @app.handler(integration.scenario("greet"))
        def greet(payload: dict[str, Any]) -> dict[str, Any]:
            return {"greeting": 42} if payload["name"] == "bad" else {"greeting": "ok"}

    async def main() -> tuple[list[str], list[bytes]]:
        async with on_kafka(kafka_bootstrap, register) as running:
            await running.engine.send("greet", {"name": "bad"}, headers=HEADERS)
            (dead,) = await read(running.dead_letters, 1)
            # The next request's reply is the first record on the in topic.
            await running.engine.request("greet", {"name": "good"})
            (reply,) = await read(running.replies, 1)
            return [headers_of(dead)[ERROR_STAGE]], [reply.value]

    assert asyncio.run(main()) == (["reply"], [b'{"greeting":"ok"}'])
