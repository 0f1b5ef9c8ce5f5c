"""exactly_once=True: the transports that cannot do it refuse it; the transactional id."""

from __future__ import annotations

import asyncio

import pytest

from flowintegrations import App
from flowintegrations.errors import TransportError
from flowintegrations.runtime.transactional import transactional_id
from flowintegrations.transport import (
    InMemoryTransport,
    KafkaTransport,
    SupportsTransactions,
    TopicPartition,
)
from support.runtime import DEMO, GREET


def test_in_memory_transport_refuses_exactly_once() -> None:
    """An App with exactly_once=True on the in-memory transport fails to start, saying why."""
    app = App(DEMO, exactly_once=True)
    app.handler(GREET)(lambda payload: None)
    with pytest.raises(
        TransportError,
        match=r"^exactly_once=True needs a transport with transactions \(KafkaTransport\); "
        r"InMemoryTransport has none$",
    ):
        asyncio.run(app.start())


def test_kafka_transport_supports_transactions() -> None:
    """KafkaTransport declares the transactions capability; InMemoryTransport does not."""
    kinds = (KafkaTransport("127.0.0.1:1", environ={}), InMemoryTransport())
    assert [isinstance(t, SupportsTransactions) for t in kinds] == [True, False]


def test_transactional_id_depends_on_the_partitions_not_their_order() -> None:
    """The same partitions give the same transactional id, other partitions another."""
    a, b = TopicPartition("t", 0), TopicPartition("t", 1)
    ids = {transactional_id("g", [a, b]), transactional_id("g", [b, a])}
    assert (len(ids), transactional_id("g", [a]) in ids) == (1, False)
