"""What the conformance checks work with: a run's names and transports, and small helpers.

Part of :mod:`flowintegrations.testing.conformance` (the checks and their driver live
there); split out so that the transaction checks (:mod:`.conformance_transactions`) can
share it.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from flowintegrations.errors import TransportClosedError
from flowintegrations.transport.base import Record, Subscription, TopicPartition, Transport

__all__ = [
    "ConformanceError",
    "Journal",
    "Run",
    "TransportFactory",
    "expect_closed",
    "poll_until",
    "send_all",
    "where",
]

TransportFactory = Callable[[], "Transport | Awaitable[Transport]"]
"""Returns a fresh, unstarted transport (plain function or coroutine function)."""


class ConformanceError(AssertionError):
    """A transport broke its contract: the message names the check and what went wrong."""


class Run:
    """What one check works with: the factory, fresh names, a deadline, transports to stop."""

    def __init__(self, name: str, factory: TransportFactory, timeout: float) -> None:
        self.name = name
        self.factory = factory
        self.timeout = timeout
        self.transports: list[Transport] = []
        self.token = uuid.uuid4().hex[:12]

    def fail(self, message: str) -> ConformanceError:
        """The error of this check failing with ``message``."""
        return ConformanceError(f"transport check {self.name!r} failed: {message}")

    def expect(self, expected: object, actual: object, what: str) -> None:
        """Fail, saying ``what`` differed, unless ``expected == actual``."""
        if expected != actual:
            msg = f"{what}: expected {expected!r}, got {actual!r}"
            raise self.fail(msg)

    def topic(self, suffix: str = "t") -> str:
        """A topic name of this run alone."""
        return f"conformance.{self.name}.{self.token}.{suffix}"

    def group(self, suffix: str = "g") -> str:
        """A group name of this run alone."""
        return f"conformance.{self.name}.{self.token}.{suffix}"

    async def transport(self) -> Transport:
        """A new transport from the factory, started (and stopped by :meth:`close`)."""
        made = self.factory()
        transport = await made if inspect.isawaitable(made) else made
        self.transports.append(transport)
        await transport.start()
        return transport

    async def topic_with(self, transport: Transport, partitions: int, suffix: str = "t") -> str:
        """A topic of this run, created with ``partitions`` partitions."""
        name = self.topic(suffix)
        await transport.create_topics([name], partitions=partitions)
        return name

    async def read(self, subscription: Subscription, count: int, what: str) -> list[Record]:
        """Read until ``count`` records arrived; fail if they do not within the timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        got: list[Record] = []
        while len(got) < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                msg = f"{what}: expected {count} records within {self.timeout} s, got {len(got)}"
                raise self.fail(msg)
            got += await subscription.getmany(
                max_records=count - len(got), timeout=min(remaining, 1.0)
            )
        return got

    async def nothing_more(self, subscription: Subscription, what: str) -> None:
        """Fail if ``subscription`` returns any record within a short grace period."""
        extra = await subscription.getmany(timeout=min(1.0, self.timeout))
        if extra:
            msg = f"{what}: expected no more records, got {[where(r) for r in extra]}"
            raise self.fail(msg)

    async def close(self) -> None:
        """Stop every transport of this run."""
        for transport in reversed(self.transports):
            await transport.stop()


def where(record: Record) -> str:
    """``topic[partition]@offset`` of ``record``."""
    return f"{record.topic}[{record.partition}]@{record.offset}"


async def send_all(transport: Transport, records: Iterable[Record]) -> list[Record]:
    """Produce every record with all of them in flight, then await the acknowledgements."""
    futures = [await transport.produce(record) for record in records]
    return list(await asyncio.gather(*futures))


class Journal:
    """Replays what a rebalance listener was told into the assignment it implies."""

    def __init__(self) -> None:
        self.assignment: set[TopicPartition] = set()
        self.events: list[tuple[str, frozenset[TopicPartition]]] = []

    async def on_partitions_revoked(self, partitions: frozenset[TopicPartition]) -> None:
        """Note the revocation."""
        self.events.append(("revoked", partitions))
        self.assignment -= partitions

    async def on_partitions_assigned(self, partitions: frozenset[TopicPartition]) -> None:
        """Note the assignment."""
        self.events.append(("assigned", partitions))
        self.assignment |= partitions


async def poll_until(
    run: Run,
    members: list[Subscription],
    done: Callable[[], bool],
    what: str,
    got: list[list[Record]] | None = None,
) -> list[list[Record]]:
    """Poll every member concurrently (as a group needs) until ``done()``; return their records.

    Records are appended to ``got`` (one list per member) as they arrive.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + run.timeout
    if got is None:
        got = [[] for _ in members]
    while not done():
        if loop.time() > deadline:
            msg = f"{what}: not done within {run.timeout} s"
            raise run.fail(msg)
        batches = await asyncio.gather(*(m.getmany(timeout=0.2) for m in members))
        for index, batch in enumerate(batches):
            got[index] += batch
    return got


async def expect_closed(run: Run, what: str, call: Awaitable[Any]) -> None:
    """Fail unless awaiting ``call`` raises TransportClosedError."""
    try:
        await call
    except TransportClosedError:
        return
    except Exception as exc:
        msg = f"{what} must raise TransportClosedError, raised {type(exc).__name__}: {exc}"
        raise run.fail(msg) from exc
    msg = f"{what} must raise TransportClosedError, but returned"
    raise run.fail(msg)
