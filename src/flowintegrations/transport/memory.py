"""A real, in-process transport: topics, partitions, consumer groups, committed offsets.

:class:`InMemoryTransport` behaves like a small Kafka cluster living in one process. It is
what :class:`~flowintegrations.App` runs on when no transport is given, and what
:class:`~flowintegrations.testing.TestClient` drives:

* a topic has N partitions; a record goes to the partition it names, else to
  ``crc32(key) % N`` (librdkafka's ``consistent`` partitioner) when it has a key, else to
  the next partition in turn (round robin, so the placement is deterministic);
* every partition is an append-only log with offsets from 0 and a timestamp per record
  (the record's own, else the transport's clock);
* a consumer group spreads the partitions of its topics over its members (Kafka's *range*
  assignment, members in join order); when a member joins or leaves, the partitions that
  move are first revoked from their old owner — inside its next
  :meth:`~InMemorySubscription.getmany`, through its listener, so it can still commit —
  and only then assigned to their new owner, which resumes from the committed offset;
* a member that closes, or :meth:`~InMemorySubscription.crash` es, leaves at once without
  callbacks: everything it did not commit is delivered again to the next owner;
* a record larger than ``max_message_bytes`` (Kafka's ``message.max.bytes``, 1 MiB by
  default; see :func:`record_size`) is refused with a ``DeliveryError``, as the broker
  refuses it with ``MSG_SIZE_TOO_LARGE``;
* :meth:`~InMemoryBroker.delete_records` drops the records before an offset (Kafka's
  ``DeleteRecords``), so a long test can keep its memory bounded.

Transports made with the same :class:`InMemoryBroker` share its topics and groups, as
clients of one cluster do. Everything is deterministic and inspectable
(:meth:`InMemoryTransport.records`, :meth:`~InMemoryTransport.committed`,
:meth:`~InMemoryTransport.topics`, ...). The
transport is not thread-safe, with one exception: records produced on one event loop wake
a subscription waiting on another one, and the inspection helpers may be called from any
thread.

The broker's state (topics, groups, the assignment) is in
:mod:`flowintegrations.transport.memory_broker`; this module holds the clients: the
transport and its subscriptions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

from flowintegrations.errors import (
    DeliveryError,
    TopicNotFoundError,
    TransportClosedError,
    TransportError,
)
from flowintegrations.transport.base import (
    Lifecycle,
    RebalanceListener,
    Record,
    TopicPartition,
    check_subscription,
)
from flowintegrations.transport.memory_broker import (
    DEFAULT_MAX_MESSAGE_BYTES,
    ConsumerGroup,
    InMemoryBroker,
    record_size,
)

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "InMemoryBroker",
    "InMemorySubscription",
    "InMemoryTransport",
    "record_size",
]


def _set_if_pending(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class InMemoryTransport:
    """A :class:`~flowintegrations.transport.Transport` that keeps everything in memory.

    Without ``broker`` the transport has a cluster of its own, made with ``partitions``,
    ``auto_create_topics``, ``clock`` and ``max_message_bytes`` (see
    :class:`InMemoryBroker`); pass ``broker`` to share one with other transports (the other
    options must then be left out). The
    inspection helpers (:meth:`records`, :meth:`committed`, ...) describe the broker and
    keep working after :meth:`stop`.
    """

    def __init__(
        self,
        *,
        partitions: int | None = None,
        auto_create_topics: bool | None = None,
        clock: Callable[[], float] | None = None,
        broker: InMemoryBroker | None = None,
        max_message_bytes: int | None = None,
    ) -> None:
        if broker is None:
            broker = InMemoryBroker(
                partitions=1 if partitions is None else partitions,
                auto_create_topics=True if auto_create_topics is None else auto_create_topics,
                clock=time.time if clock is None else clock,
                max_message_bytes=(
                    DEFAULT_MAX_MESSAGE_BYTES if max_message_bytes is None else max_message_bytes
                ),
            )
        elif (partitions, auto_create_topics, clock, max_message_bytes) != (None,) * 4:
            msg = (
                "partitions, auto_create_topics, clock and max_message_bytes belong to the "
                "InMemoryBroker passed"
            )
            raise TypeError(msg)
        self.broker = broker
        self._state = Lifecycle.NEW
        self._subscriptions: list[InMemorySubscription] = []

    def __repr__(self) -> str:
        broker = self.broker
        return (
            f"InMemoryTransport(state={self._state}, topics={len(broker.topics())}, "
            f"records={broker.count()}, groups={len(broker.groups())})"
        )

    # Lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start; idempotent while running. Raises ``TransportClosedError`` after :meth:`stop`."""
        if self._state is Lifecycle.STOPPED:
            msg = "the transport was stopped and cannot be started again"
            raise TransportClosedError(msg)
        self._state = Lifecycle.RUNNING

    async def stop(self) -> None:
        """Close this transport's subscriptions (no callbacks, no commit). Idempotent.

        The broker keeps the records and committed offsets, for inspection or for other
        transports.
        """
        if self._state is Lifecycle.STOPPED:
            return
        self._state = Lifecycle.STOPPED
        for member in list(self._subscriptions):
            member._leave()

    def _check_running(self) -> None:
        self._state.check_running()

    # Topics ----------------------------------------------------------------------------------

    async def ensure_topics(self, topics: Collection[str]) -> None:
        """Create missing topics, or raise ``TopicNotFoundError`` naming them if not allowed."""
        self._check_running()
        missing = self.broker.missing(topics)
        if missing and not self.broker.auto_create_topics:
            raise TopicNotFoundError(missing)
        for name in missing:
            self.broker.create_topic(name)

    async def create_topics(self, topics: Collection[str], *, partitions: int = 1) -> None:
        """Create each topic in ``topics`` with ``partitions`` partitions; keep existing ones."""
        self._check_running()
        for name in topics:
            self.broker.create_topic(name, partitions=partitions)

    def create_topic(self, name: str, *, partitions: int | None = None) -> None:
        """Create topic ``name`` now (synchronously; for test setup). Existing topics stay."""
        self.broker.create_topic(name, partitions=partitions)

    # Producing -------------------------------------------------------------------------------

    async def produce(self, record: Record) -> asyncio.Future[Record]:
        """Write ``record`` now; return a future already resolved to the record as written."""
        self._check_running()
        future: asyncio.Future[Record] = asyncio.get_running_loop().create_future()
        try:
            future.set_result(self.broker.write(record))
        except DeliveryError as exc:
            future.set_exception(exc)
        return future

    async def produce_batch(self, records: Sequence[Record]) -> asyncio.Future[None]:
        """Write ``records`` now, in order; return a future already resolved (or failed).

        A record that cannot be delivered does not stop the others: the future fails with
        the first ``DeliveryError`` once every record was tried, as on Kafka.
        """
        self._check_running()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        failure: DeliveryError | None = None
        write = self.broker.write
        for record in records:
            try:
                write(record)
            except DeliveryError as exc:
                if failure is None:
                    failure = exc
        if failure is None:
            future.set_result(None)
        else:
            future.set_exception(failure)
        return future

    async def send(self, record: Record) -> Record:
        """Write ``record`` and return it as written (``partition``, ``offset`` set)."""
        self._check_running()
        return self.broker.write(record)

    async def flush(self, timeout: float | None = None) -> None:
        """Return at once: every record is acknowledged when it is written."""
        self._check_running()

    # Consuming -------------------------------------------------------------------------------

    async def subscribe(
        self,
        topics: Sequence[str],
        *,
        group_id: str,
        listener: RebalanceListener | None = None,
    ) -> InMemorySubscription:
        """Join group ``group_id`` as a new member reading ``topics``.

        Missing topics are created (or ``TopicNotFoundError`` raised without
        ``auto_create_topics``). The member's partitions are assigned inside its first
        :meth:`~InMemorySubscription.getmany`.
        """
        self._check_running()
        check_subscription(topics, group_id)
        unique = tuple(dict.fromkeys(topics))

        def make(group: ConsumerGroup, number: int) -> InMemorySubscription:
            return InMemorySubscription(self, group, unique, listener, number)

        member = self.broker.join(topics, group_id, make)
        self._subscriptions.append(member)
        return member

    def _forget(self, member: InMemorySubscription) -> None:
        if member in self._subscriptions:
            self._subscriptions.remove(member)

    # Inspection (for tests) ------------------------------------------------------------------

    def topics(self) -> list[str]:
        """The names of every topic, sorted."""
        return self.broker.topics()

    def partitions(self, topic: str) -> int:
        """The partition count of ``topic``; raises ``TopicNotFoundError`` if it is missing."""
        return self.broker.partitions(topic)

    def records(self, topic: str, *, partition: int | None = None) -> list[Record]:
        """The records of ``topic`` in the order written (see :meth:`InMemoryBroker.records`)."""
        return self.broker.records(topic, partition=partition)

    def count(self, topic: str | None = None) -> int:
        """How many records ``topic`` holds (every topic's when ``topic`` is ``None``)."""
        return self.broker.count(topic)

    def end_offsets(self, topic: str) -> dict[TopicPartition, int]:
        """For each partition of ``topic``, the offset the next record will get."""
        return self.broker.end_offsets(topic)

    def committed(self, group_id: str) -> dict[TopicPartition, int]:
        """The offsets group ``group_id`` committed (empty for an unknown group)."""
        return self.broker.committed(group_id)

    def groups(self) -> list[str]:
        """The ids of every consumer group that ever had a member, sorted."""
        return self.broker.groups()

    def delete_records(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Drop the records before the offsets given (see :meth:`InMemoryBroker.delete_records`)."""
        self.broker.delete_records(offsets)


class InMemorySubscription:
    """One member of an in-memory consumer group (see :class:`InMemoryTransport`).

    Implements :class:`~flowintegrations.transport.Subscription`; :meth:`crash` is an
    extra for tests.
    """

    def __init__(
        self,
        transport: InMemoryTransport,
        group: ConsumerGroup,
        topics: tuple[str, ...],
        listener: RebalanceListener | None,
        number: int,
    ) -> None:
        self._transport = transport
        self._broker = transport.broker
        self.group = group
        """The consumer group (the broker keeps its state)."""
        self.topics = topics
        self.member_id = f"{group.group_id}-member-{number}"
        self._listener = listener
        self.target: frozenset[TopicPartition] = frozenset()
        """The partitions the last rebalance gives this member (taken at its next fetch)."""
        self._owned: set[TopicPartition] = set()
        self._positions: dict[TopicPartition, int] = {}
        self._paused: set[TopicPartition] = set()
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        self._rotation = 0

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"InMemorySubscription(member_id={self.member_id!r}, topics={list(self.topics)!r}, "
            f"assigned={len(self._owned)}, {state})"
        )

    @property
    def group_id(self) -> str:
        """The consumer group this member belongs to."""
        return self.group.group_id

    def assignment(self) -> frozenset[TopicPartition]:
        """The partitions this member holds now."""
        return frozenset(self._owned)

    def paused(self) -> frozenset[TopicPartition]:
        """The partitions paused by :meth:`pause` (and still assigned)."""
        return frozenset(self._paused)

    def position(self, tp: TopicPartition) -> int | None:
        """The offset of the next record :meth:`getmany` returns for ``tp`` (if assigned)."""
        return self._positions.get(tp)

    def _check_open(self) -> None:
        if self._closed:
            msg = f"subscription {self.member_id!r} is closed"
            raise TransportClosedError(msg)

    def wake(self) -> None:
        """Stop waiting in :meth:`getmany` (the broker calls this, from any thread)."""
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        loop = waiter.get_loop()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            waiter.set_result(None)
        else:
            loop.call_soon_threadsafe(_set_if_pending, waiter)

    async def _sync_assignment(self) -> None:
        """Run the rebalance this member owes: revoke what moved away, then take what is free."""
        group = self.group
        broker = self._broker
        revoked = frozenset(self._owned - self.target)
        if revoked:
            try:
                if self._listener is not None:
                    await self._listener.on_partitions_revoked(revoked)
            finally:
                for tp in revoked:
                    self._owned.discard(tp)
                    self._positions.pop(tp, None)
                    self._paused.discard(tp)
                broker.release(group, revoked)
        if self._closed:
            return
        free = [tp for tp in self.target - self._owned if tp not in group.owner]
        if free:
            for tp in free:
                self._owned.add(tp)
                self._positions[tp] = group.committed.get(tp, 0)
                broker.take(group, self, tp)
            if self._listener is not None:
                await self._listener.on_partitions_assigned(frozenset(free))

    def _collect(self, max_records: int) -> list[Record]:
        owned = sorted(self._owned - self._paused) if self._paused else sorted(self._owned)
        if not owned:
            return []
        # Start one partition further each call, so a long backlog cannot starve the rest.
        start = self._rotation % len(owned)
        self._rotation += 1
        batch: list[Record] = []
        broker = self._broker
        for tp in owned[start:] + owned[:start]:
            topic = broker.topic_log(tp.topic)
            log = topic.partitions[tp.partition]
            position = self._positions[tp]
            start = topic.starts[tp.partition]
            # Records deleted meanwhile: read on from the first one left.
            index = max(position, start) - start
            if index < len(log):
                end = min(len(log), index + max_records - len(batch))
                batch.extend(log[index:end])
                self._positions[tp] = start + end
                if len(batch) >= max_records:
                    break
        return batch

    async def getmany(self, *, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        """Return up to ``max_records`` records, waiting up to ``timeout`` seconds for some.

        Rebalance callbacks run first. Raises ``TransportClosedError`` once closed.
        """
        self._check_open()
        if max_records < 1:
            msg = f"max_records must be at least 1, not {max_records}"
            raise ValueError(msg)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout, 0.0)
        while True:
            if self.target != self._owned:
                await self._sync_assignment()
                self._check_open()
            batch = self._collect(max_records)
            if batch:
                return batch
            remaining = deadline - loop.time()
            if remaining <= 0:
                return batch
            waiter = self._waiter = loop.create_future()
            timer = loop.call_later(remaining, _set_if_pending, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
            self._check_open()

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Record ``offsets`` as the group's committed offsets.

        Raises ``TransportError`` for a partition this member does not hold (on Kafka such
        a commit would race the partition's new owner) or a negative offset.
        """
        self._check_open()
        foreign = sorted(tp for tp in offsets if tp not in self._owned)
        if foreign:
            names = ", ".join(f"{tp.topic}[{tp.partition}]" for tp in foreign)
            msg = f"cannot commit partitions not assigned to {self.member_id!r}: {names}"
            raise TransportError(msg)
        for tp, offset in offsets.items():
            if offset < 0:
                msg = f"cannot commit a negative offset ({offset}) for {tp.topic}[{tp.partition}]"
                raise TransportError(msg)
        self.group.committed.update(offsets)

    def pause(self, partitions: Iterable[TopicPartition]) -> None:
        """Stop returning records of ``partitions`` (those assigned) until :meth:`resume`."""
        self._check_open()
        self._paused.update(tp for tp in partitions if tp in self._owned)

    def resume(self, partitions: Iterable[TopicPartition]) -> None:
        """Return records of ``partitions`` again, from where reading left off."""
        self._check_open()
        self._paused.difference_update(partitions)
        self.wake()

    async def close(self) -> None:
        """Leave the group at once, without callbacks and without committing. Idempotent."""
        self._leave()

    def crash(self) -> None:
        """Vanish from the group as a crashed process would (a test hook).

        Like :meth:`close`: no callbacks, no commit; the other members get the partitions
        and everything not committed is delivered again.
        """
        self._leave()

    def _leave(self) -> None:
        if self._closed:
            return
        self._closed = True
        owned = list(self._owned)
        self._owned.clear()
        self._positions.clear()
        self._paused.clear()
        self.target = frozenset()
        self._broker.leave(self, owned)
        self._transport._forget(self)
        self.wake()
