"""JetStreamTransport beyond the conformance checks: topics, partitions, errors, groups."""

from __future__ import annotations

import asyncio
import socket
import uuid

import pytest

from flowintegrations.errors import DeliveryError, TopicNotFoundError, TransportBrokenError
from flowintegrations.transport import Record, TopicPartition
from flowintegrations.transport.nats import JetStreamTransport
from flowintegrations.transport.nats.groups import assign
from flowintegrations.transport.nats.naming import kafka_partition
from support.jetstream import nats_transport


def fresh(name: str) -> str:
    """A topic name no other test uses."""
    return f"test.nats.{name}.{uuid.uuid4().hex[:10]}"


def test_partitions_are_dealt_round_robin_to_the_members_of_each_topic() -> None:
    """Every member computes the same split; a topic goes only to its subscribers."""
    members = {"b": frozenset({"t", "u"}), "a": frozenset({"t"})}
    assert assign(members, {"t": 3, "u": 2}) == {
        "a": frozenset({TopicPartition("t", 0), TopicPartition("t", 2)}),
        "b": frozenset({TopicPartition("t", 1), TopicPartition("u", 0), TopicPartition("u", 1)}),
    }


def test_a_member_alone_gets_every_partition_and_no_member_gets_none() -> None:
    """One member reads all; topics nobody reads are dealt to nobody."""
    assert assign({"a": frozenset({"t"})}, {"t": 2, "other": 4}) == {
        "a": frozenset({TopicPartition("t", 0), TopicPartition("t", 1)})
    }


async def keyed_partitions(topic: str) -> dict[bytes, int]:
    """Send twelve keyed records to a new topic of three partitions; each key's partition."""
    transport = nats_transport()
    await transport.start()
    try:
        await transport.create_topics([topic], partitions=3)
        written = [await transport.send(Record(topic, key=b"k%d" % i)) for i in range(12)]
    finally:
        await transport.stop()
    return {record.key or b"": record.partition or 0 for record in written}


def test_a_key_goes_to_the_partition_kafka_would_give_it(nats_servers: str) -> None:
    """Over three partitions, each key lands where Kafka's partitioner puts it."""
    got = asyncio.run(keyed_partitions(fresh("keys")))
    assert got == {b"k%d" % i: kafka_partition(b"k%d" % i, 3) for i in range(12)}


async def send_to_missing(topic: str) -> None:
    """Send a record to ``topic`` (which does not exist)."""
    transport = nats_transport(create_topics=False)
    await transport.start()
    try:
        await transport.send(Record(topic, value=b"x"))
    finally:
        await transport.stop()


def test_sending_to_a_topic_that_does_not_exist_is_a_delivery_error(nats_servers: str) -> None:
    """A record for a missing topic fails with DeliveryError naming the topic."""
    topic = fresh("missing")
    with pytest.raises(DeliveryError, match=f"cannot deliver to topic '{topic}': it does not"):
        asyncio.run(send_to_missing(topic))


async def ensure(topics: list[str]) -> None:
    """ensure_topics(topics) on a transport that does not create topics."""
    transport = nats_transport(create_topics=False)
    await transport.start()
    try:
        await transport.ensure_topics(topics)
    finally:
        await transport.stop()


def test_ensure_topics_names_every_missing_topic(nats_servers: str) -> None:
    """Without create_topics, ensure_topics raises TopicNotFoundError naming them all."""
    topics = sorted([fresh("a"), fresh("b")])
    with pytest.raises(TopicNotFoundError) as raised:
        asyncio.run(ensure(topics))
    assert raised.value.topics == tuple(topics)


def free_port() -> int:
    """A loopback port nothing listens on (just now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_on(url: str) -> None:
    """Start a transport on ``url``, with a timeout of 2 s."""
    transport = JetStreamTransport(url, timeout=2.0)
    await transport.start()


def test_a_server_that_does_not_answer_breaks_the_start_with_its_address() -> None:
    """start() against a port nothing listens on raises TransportBrokenError naming it."""
    url = f"nats://user:pw-not-shown@127.0.0.1:{free_port()}"
    with pytest.raises(TransportBrokenError) as raised:
        asyncio.run(start_on(url))
    message = str(raised.value)
    assert message.startswith(f"connecting: NATS at nats://<redacted>@127.0.0.1:{url[-5:]}")
    assert "pw-not-shown" not in message
