"""A reply the producer refuses on Kafka: never committed, answered after a restart."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from flowintegrations import App, Retry
from flowintegrations.errors import DeliveryError
from flowintegrations.testing.broker import TANSU_TEST_CONFIG
from flowintegrations.transport import KafkaTransport, Record
from support.kafka import STATE_DIR, fresh, integration_on_fresh_topics, kafka_transport, read
from support.runtime import DEMO

pytestmark = pytest.mark.kafka


def test_a_refused_reply_is_never_committed_and_is_answered_after_a_restart(
    kafka_bootstrap: str,
) -> None:
    """The adapter stops with DeliveryError; the next one on the group answers the request."""
    integration = integration_on_fresh_topics(DEMO)
    greet = integration.scenario("greet")
    binding = greet.binding(None)
    assert binding.in_topic is not None
    group = fresh("adapter")

    async def main() -> tuple[type[BaseException], Any]:
        # The first adapter's producer takes nothing over 20 kB; its handler answers 50 kB.
        small = {**TANSU_TEST_CONFIG, "message.max.bytes": 20_000}
        strict = KafkaTransport(
            kafka_bootstrap, config=small, environ={}, create_topics=True, state_dir=STATE_DIR
        )
        first = App(integration, transport=strict, group_id=group, retry=Retry(attempts=1))

        @first.handler(greet)
        def too_big(payload: dict[str, Any]) -> dict[str, Any]:
            return {"greeting": "x" * 50_000}

        plain = kafka_transport(kafka_bootstrap)
        await plain.start()
        try:
            await plain.ensure_topics([binding.out_topic, binding.in_topic])
            request = Record(
                binding.out_topic, b"k", b'{"name": "Ana"}', (("processInstanceId", b"9"),)
            )
            await plain.send(request)
            replies = await plain.subscribe([binding.in_topic], group_id=fresh("replies"))
            await strict.start()
            try:
                with pytest.raises(DeliveryError) as refused:
                    await asyncio.wait_for(first.serve(), 60)
            finally:
                await strict.stop()
            second = App(integration, transport=plain, group_id=group, retry=Retry(attempts=1))

            @second.handler(greet)
            def fits(payload: dict[str, Any]) -> dict[str, Any]:
                return {"greeting": "Hello, " + payload["name"]}

            async with second:
                (reply,) = await read(replies, 1, timeout=60)
        finally:
            await plain.stop()
        return refused.type, json.loads(reply.value)

    assert asyncio.run(main()) == (DeliveryError, {"greeting": "Hello, Ana"})
