"""KafkaProducer.replace: the records a failed client had not delivered go out on the new one.

The librdkafka client is replaced by a small fake (the producer takes its client as an
argument): it keeps what is produced, acknowledges on ``poll`` when told to, and fails
everything pending with ``_PURGE_QUEUE`` on ``purge``, as librdkafka does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from flowintegrations.transport import Record
from flowintegrations.transport.kafka.producer import KafkaProducer

Callback = Callable[[Any, Any], None]


class FakeError:
    """A KafkaError as librdkafka reports it: a name, not fatal."""

    def __init__(self, name: str) -> None:
        self._name = name

    def name(self) -> str:
        """The error's code name."""
        return self._name

    def fatal(self) -> bool:
        """Never fatal."""
        return False

    def str(self) -> str:
        """The error's text."""
        return self._name


class FakeMessage:
    """A delivery report's message: topic, key, value; no headers (as librdkafka's)."""

    def __init__(self, topic: str, key: bytes | None, value: bytes) -> None:
        self._where = (topic, key, value)

    def topic(self) -> str:
        """The topic."""
        return self._where[0]

    def key(self) -> bytes | None:
        """The key."""
        return self._where[1]

    def value(self) -> bytes:
        """The value."""
        return self._where[2]

    def headers(self) -> None:
        """Delivery reports carry no headers."""

    def partition(self) -> int:
        """Partition 0."""
        return 0

    def offset(self) -> int:
        """Offset 0."""
        return 0

    def timestamp(self) -> tuple[int, int]:
        """No timestamp."""
        return (0, 0)


class FakeClient:
    """Keeps what is produced; acknowledges on poll when ``acking``; purge fails the rest."""

    def __init__(self, *, acking: bool, raising: BaseException | None = None) -> None:
        self.acking = acking
        self.raising = raising
        self.produced: list[tuple[str, bytes | None, bytes, Any]] = []
        self._pending: list[tuple[FakeMessage, Callback]] = []

    def produce(
        self,
        topic: str,
        value: bytes,
        key: bytes | None,
        partition: int,
        on_delivery: Callback,
        callback: Callback | None = None,
        timestamp: int = 0,
        headers: Any = None,
    ) -> None:
        """Keep the record until it is acknowledged or purged (librdkafka's argument order)."""
        self.produced.append((topic, key, value, headers))
        self._pending.append((FakeMessage(topic, key, value), on_delivery))

    def poll(self, timeout: float) -> int:
        """Acknowledge what is pending (when acking); raise ``raising`` if set."""
        if self.raising is not None:
            error, self.raising = self.raising, None
            raise error
        if not self.acking:
            return 0
        pending, self._pending = self._pending, []
        for message, on_delivery in pending:
            on_delivery(None, message)
        return len(pending)

    def purge(self, *flags: bool) -> None:
        """Fail everything pending, as librdkafka's purge does."""
        pending, self._pending = self._pending, []
        for message, on_delivery in pending:
            on_delivery(FakeError("_PURGE_QUEUE"), message)

    def __len__(self) -> int:
        return len(self._pending)


def record(n: int) -> Record:
    """Reply ``n``, with a correlation header."""
    return Record("in", b"k%d" % n, b"v%d" % n, (("processInstanceId", b"%d" % n),))


async def replaced(batch: bool) -> tuple[list[Any], object]:
    """Produce three records on a stuck client, replace it; what the new one got, the result."""
    stuck, fresh = FakeClient(acking=False), FakeClient(acking=True)
    producer = KafkaProducer(
        stuck, asyncio.get_running_loop(), redact=str, check_running=lambda: None
    )
    producer.start()
    records = [record(n) for n in range(3)]
    if batch:
        future: asyncio.Future[Any] = await producer.produce_batch(records)
    else:
        future = asyncio.gather(*[await producer.produce(r) for r in records])
    await producer.replace(fresh)
    result = await asyncio.wait_for(future, 5)
    await producer.close(1.0)
    return fresh.produced, result


def test_replaced_client_records_are_produced_again_with_their_headers() -> None:
    """Records a replaced client had not delivered go out on the new one, headers and all."""
    produced, written = asyncio.run(replaced(batch=False))
    expected = [
        ("in", b"k%d" % n, b"v%d" % n, [("processInstanceId", b"%d" % n)]) for n in range(3)
    ]
    assert (produced, [r.value for r in written]) == (expected, [b"v0", b"v1", b"v2"])


def test_replaced_client_batch_is_produced_again_and_resolves() -> None:
    """A batch a replaced client had not delivered goes out on the new one; its future is done."""
    produced, result = asyncio.run(replaced(batch=True))
    expected = [
        ("in", b"k%d" % n, b"v%d" % n, [("processInstanceId", b"%d" % n)]) for n in range(3)
    ]
    assert (produced, result) == (expected, None)


async def raised_from_poll() -> list[Any]:
    """A client whose poll raises a fatal error: what the producer's owner is told."""
    told: list[Any] = []
    error = FakeError("_FENCED")
    client = FakeClient(acking=True, raising=RuntimeError(error))
    producer = KafkaProducer(
        client,
        asyncio.get_running_loop(),
        redact=str,
        check_running=lambda: None,
        on_failure=told.append,
    )
    producer.start()
    await asyncio.sleep(0.05)
    await producer.close(0.0)
    return [e.name() for e in told]


def test_error_raised_from_poll_goes_to_the_owner() -> None:
    """A failure librdkafka raises from poll() is handed to on_failure; serving goes on."""
    assert asyncio.run(raised_from_poll()) == ["_FENCED"]
