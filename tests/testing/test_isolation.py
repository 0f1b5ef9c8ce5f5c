"""IsolatedTransport: private topic and group names on the broker, the usual ones above it."""

from __future__ import annotations

import asyncio

import pytest

from flowintegrations.errors import TopicNotFoundError
from flowintegrations.testing import check_transport
from flowintegrations.testing.isolation import IsolatedTransport
from flowintegrations.transport import InMemoryBroker, InMemoryTransport, Record


def test_the_wrapper_honours_the_transport_contract() -> None:
    """Every conformance check passes on an IsolatedTransport over the in-memory one."""
    broker = InMemoryBroker()
    check_transport(lambda: IsolatedTransport(InMemoryTransport(broker=broker), namespace="ns"))


def test_topics_carry_the_namespace_on_the_broker_only() -> None:
    """A record sent to 't' is written to 't.ns', and comes back named 't'."""

    async def scenario() -> tuple[Record, list[str], list[Record]]:
        inner = InMemoryTransport()
        transport = IsolatedTransport(inner, namespace="ns")
        await transport.start()
        written = await transport.send(Record("t", value=b"v"))
        return written, inner.topics(), transport.records("t")

    written, broker_topics, remembered = asyncio.run(scenario())
    assert (written.topic, written.offset) == ("t", 0)
    assert broker_topics == ["t.ns"]
    assert remembered == [written]


def test_a_missing_topic_is_named_as_the_caller_knows_it() -> None:
    """TopicNotFoundError names the caller's topic, not the private one."""

    async def scenario() -> None:
        transport = IsolatedTransport(InMemoryTransport(auto_create_topics=False), namespace="ns")
        await transport.start()
        await transport.ensure_topics(["orders"])

    with pytest.raises(TopicNotFoundError, match=r"^topics do not exist: orders$"):
        asyncio.run(scenario())


def test_each_wrapper_gets_a_fresh_namespace_by_default() -> None:
    """Two wrappers made without a namespace never share topics."""
    first, second = IsolatedTransport(InMemoryTransport()), IsolatedTransport(InMemoryTransport())
    assert first.broker_name("t") != second.broker_name("t")
