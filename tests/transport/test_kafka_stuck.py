"""A broker that stops answering (SIGSTOP): commits fail in commit_timeout, stop never hangs.

librdkafka's synchronous commit and its close can wait for good for an answer that does
not come (clientthread.py). The broker is a :class:`LocalBroker` of the test's own, frozen
with SIGSTOP: its socket stays open and says nothing, the worst case for a client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from flowintegrations import App
from flowintegrations.errors import TransportError
from flowintegrations.testing.broker import LocalBroker
from flowintegrations.transport import KafkaTransport, Record, TopicPartition
from support.kafka import fresh, integration_on_fresh_topics, kafka_transport, own_broker, read
from support.runtime import DEMO, HEADERS

pytestmark = pytest.mark.kafka

COMMIT_TIMEOUT = 1.0
BOUND = 60.0  # a test that waits longer than this has hung: fail it, do not wait on


@pytest.fixture
def broker() -> Iterator[LocalBroker]:
    """A broker of this test's own, which it may freeze; thawed and stopped at the end."""
    with own_broker() as broker:
        yield broker


def freeze(broker: LocalBroker) -> None:
    """Stop the broker's process: connections stay open, nothing is answered."""
    assert broker.pid is not None
    os.kill(broker.pid, signal.SIGSTOP)


def transport_on(broker: LocalBroker) -> KafkaTransport:
    """A test transport on ``broker`` whose commits give up after COMMIT_TIMEOUT."""
    assert broker.bootstrap_servers is not None
    return kafka_transport(broker.bootstrap_servers, commit_timeout=COMMIT_TIMEOUT)


def test_commit_to_a_silent_broker_fails_and_close_leaves_the_consumer_behind(
    broker: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """The commit raises TransportError naming the group; close and stop return anyway."""
    topic, group = fresh("stuck"), fresh("stuck-group")

    async def main() -> tuple[str, list[str]]:
        transport = transport_on(broker)
        await transport.start()
        try:
            await transport.create_topics([topic])
            await transport.send(Record(topic, b"k", b"v"))
            subscription = await transport.subscribe([topic], group_id=group)
            (record,) = await read(subscription, 1)
            freeze(broker)
            with pytest.raises(TransportError) as caught:
                await asyncio.wait_for(
                    subscription.commit({TopicPartition(topic, 0): record.offset + 1}), BOUND
                )
            with caplog.at_level(logging.WARNING, logger="flowintegrations"):
                await asyncio.wait_for(subscription.close(), BOUND)
            warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
            return str(caught.value), warnings
        finally:
            await asyncio.wait_for(transport.stop(), BOUND)

    error, warnings = asyncio.run(main())
    assert error == (
        f"committing for group {group!r}: librdkafka did not return within "
        f"{COMMIT_TIMEOUT} s (commit_timeout)"
    )
    assert warnings == [
        f"leaving group {group!r}: librdkafka did not return within "
        f"{COMMIT_TIMEOUT} s (commit_timeout); the consumer is left behind"
    ]


def test_app_stop_returns_when_the_broker_stops_answering(broker: LocalBroker) -> None:
    """An App that handled a request, and then its transport, stop on a frozen broker."""
    integration = integration_on_fresh_topics(DEMO)

    async def main() -> dict[str, Any]:
        transport = transport_on(broker)
        app = App(integration, transport=transport, group_id=fresh("adapter"))

        @app.handler(integration.scenario("greet"))
        async def greet(payload: dict[str, Any]) -> dict[str, Any]:
            return {"greeting": f"Hello, {payload['name']}"}

        binding = integration.scenario("greet").binding(None)
        assert binding.in_topic is not None
        await app.start()
        try:
            replies = await transport.subscribe([binding.in_topic], group_id=fresh("replies"))
            await transport.send(
                Record(
                    binding.out_topic,
                    b"1",
                    json.dumps({"name": "Ana"}).encode(),
                    tuple((k, v.encode()) for k, v in HEADERS.items()),
                )
            )
            (reply,) = await read(replies, 1)
            freeze(broker)
        finally:
            await asyncio.wait_for(app.stop(), BOUND)
            await asyncio.wait_for(transport.stop(), BOUND)  # the replies' reader too
        return json.loads(reply.value or b"null")

    assert asyncio.run(main()) == {"greeting": "Hello, Ana"}
