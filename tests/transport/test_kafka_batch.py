"""KafkaTransport.produce_batch: one future for a batch of records, on a real broker."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from flowintegrations.errors import DeliveryError
from flowintegrations.testing.broker import TANSU_TEST_CONFIG
from flowintegrations.transport import KafkaTransport, Record


def fresh(name: str) -> str:
    """A topic or group name no other test uses."""
    return f"test.{name}.{uuid.uuid4().hex[:10]}"


def transport_for(bootstrap: str) -> KafkaTransport:
    """A KafkaTransport with the test broker settings."""
    return KafkaTransport(bootstrap, config=TANSU_TEST_CONFIG, environ={})


@pytest.mark.kafka
def test_batch_future_resolves_once_every_record_is_written(kafka_bootstrap: str) -> None:
    """The batch's future resolves after all its records are written, in order."""
    topic = fresh("batch")

    async def main() -> tuple[bool, list[bytes]]:
        transport = transport_for(kafka_bootstrap)
        await transport.start()
        try:
            await transport.create_topics([topic])
            records = [Record(topic, key=b"k", value=b"%d" % i) for i in range(300)]
            done = await transport.produce_batch(records)
            await asyncio.wait_for(done, 30)
            subscription = await transport.subscribe([topic], group_id=fresh("group"))
            seen: list[bytes] = []
            while len(seen) < len(records):
                seen += [r.value for r in await subscription.getmany(timeout=5.0)]
            return done.result() is None, seen
        finally:
            await transport.stop()

    resolved, seen = asyncio.run(main())
    assert (True, [b"%d" % i for i in range(300)]) == (resolved, seen)


@pytest.mark.kafka
def test_empty_batch_is_done_at_once(kafka_bootstrap: str) -> None:
    """An empty batch returns a future that is already resolved."""

    async def main() -> bool:
        transport = transport_for(kafka_bootstrap)
        await transport.start()
        try:
            return (await transport.produce_batch([])).done()
        finally:
            await transport.stop()

    assert asyncio.run(main())


@pytest.mark.kafka
def test_batch_fails_with_delivery_error_when_a_record_cannot_be_written(
    kafka_bootstrap: str,
) -> None:
    """A record the broker refuses fails the whole batch's future with DeliveryError."""
    topic = fresh("batch-too-large")

    async def main() -> None:
        transport = KafkaTransport(
            kafka_bootstrap,
            config={**TANSU_TEST_CONFIG, "message.timeout.ms": 3000},
            environ={},
        )
        await transport.start()
        try:
            await transport.create_topics([topic])
            records = [Record(topic, value=b"ok"), Record(topic, value=b"x", partition=7)]
            await asyncio.wait_for(await transport.produce_batch(records), 30)
        finally:
            await transport.stop()

    with pytest.raises(DeliveryError):
        asyncio.run(main())
