"""Deferred replies on the real broker: a handler defers, a webhook answers seconds later."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from flowintegrations import App, Context, DeferredReply, EngineClient
from flowintegrations.transport import Record
from support.kafka import fresh, integration_on_fresh_topics, kafka_transport, read
from support.runtime import DEMO, HEADERS

pytestmark = pytest.mark.kafka

SECRET = "a-secret-of-at-least-16-bytes"
ENGINE_HEADERS = {**HEADERS, "destinationId": "dest-1", "fxContext": "main", "Fx-AppId": "a-7"}


def test_a_deferred_reply_reaches_the_engine_like_an_immediate_one(kafka_bootstrap: str) -> None:
    """A request is answered seconds later, with the headers and key of an immediate reply."""
    integration = integration_on_fresh_topics(DEMO)
    greet = integration.scenario("greet")
    in_topic = greet.binding(None).in_topic
    assert in_topic is not None
    transport = kafka_transport(bootstrap=kafka_bootstrap)
    app = App(integration, transport=transport, group_id=fresh("adapter"), defer_secret=SECRET)
    tokens: list[str] = []

    @app.handler(greet)
    def handle(payload: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        if payload["name"] == "now":
            return {"greeting": "Hello, now"}
        tokens.append(ctx.defer().dumps())  # stored, say, in a database
        return None

    async def webhook(token: str) -> None:
        """The e-signature service calls back some seconds later, in 'another process'."""
        await asyncio.sleep(2)
        restarted = App(integration, transport=transport, defer_secret=SECRET)
        await restarted.reply_later(DeferredReply.loads(token), {"greeting": "Hello, later"})

    async def main() -> tuple[Any, list[Record]]:
        engine = EngineClient(integration, transport=transport)
        try:
            await transport.start()
            await transport.ensure_topics([greet.binding(None).out_topic or "", in_topic])
            replies, *_ = await asyncio.gather(
                transport.subscribe([in_topic], group_id=fresh("replies")),
                app.start(),
                engine.start(),
            )
            await engine.request(greet, {"name": "now"}, headers=ENGINE_HEADERS, timeout=30)
            later = asyncio.create_task(
                engine.request(greet, {"name": "Ana"}, headers=ENGINE_HEADERS, timeout=30)
            )
            for _ in range(3000):  # the handler runs on a worker thread: poll for its token
                if tokens:
                    break
                await asyncio.sleep(0.01)
            await webhook(tokens[0])
            reply = await later
            return reply.payload, await read(replies, 2)
        finally:
            await engine.stop()
            await app.stop()
            await transport.stop()

    payload, (immediate, deferred) = asyncio.run(main())
    assert payload == {"greeting": "Hello, later"}
    assert (deferred.headers, deferred.key) == (immediate.headers, immediate.key)
