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


@pytest.mark.kafka
def test_every_field_a_record_sets_arrives_as_set(kafka_bootstrap: str) -> None:
    """Key, value, headers (in order, duplicates kept), partition and timestamp arrive as set.

    The producer hands librdkafka every argument by position (kafka/producer.py): this
    pins that order, for produce() and produce_batch() alike.
    """
    topic = fresh("fields")
    headers = (("a", b"1"), ("b", b""), ("a", b"2"))
    sent = [
        Record(
            topic, key=b"k1", value=b"v1", headers=headers, partition=1, timestamp=1_700_000_000_123
        ),
        Record(topic, key=None, value=b"v2", headers=(), partition=0, timestamp=1_700_000_000_456),
        Record(topic, key=b"k3", value=b"v3", headers=headers[:1], partition=1),
    ]

    async def main() -> list[tuple[object, ...]]:
        transport = transport_for(kafka_bootstrap)
        await transport.start()
        try:
            await transport.create_topics([topic], partitions=2)
            await transport.send(sent[0])
            await asyncio.wait_for(await transport.produce_batch(sent[1:]), 30)
            subscription = await transport.subscribe([topic], group_id=fresh("group"))
            seen: list[Record] = []
            while len(seen) < len(sent):
                seen += await subscription.getmany(timeout=5.0)
            return sorted((r.value, r.key, r.headers, r.partition, r.timestamp) for r in seen)
        finally:
            await transport.stop()

    found = asyncio.run(main())
    produced_at = found[2][4]  # no timestamp given: the time it was produced
    assert [
        (b"v1", b"k1", headers, 1, 1_700_000_000_123),
        (b"v2", None, (), 0, 1_700_000_000_456),
        (b"v3", b"k3", headers[:1], 1, produced_at),
    ] == found
    assert isinstance(produced_at, int)
    assert produced_at > 1_700_000_000_456
