"""The transport contract: :class:`Record`, :class:`Transport` and :class:`Subscription`.

A transport moves :class:`Record` values between an adapter and a broker. The runtime
(:mod:`flowintegrations.app`) is written against these protocols only, so any backend that
honours the docstrings below works: the in-memory one for tests, Kafka in production, or
a third party's. :func:`flowintegrations.testing.check_transport` verifies an
implementation against this contract.

The docstrings *are* the contract. In short:

* ``start()`` before use; ``stop()`` is idempotent; any use after ``stop()`` raises
  :class:`~flowintegrations.errors.TransportClosedError`, while a transport that cannot
  work any more raises :class:`~flowintegrations.errors.TransportBrokenError`.
* ``produce()`` queues a record and returns a future of the broker's acknowledgement, so a
  caller can keep many sends in flight; ``send()`` is ``await (await produce(r))``.
  ``produce_batch()`` queues many records with one future for the delivery of them all.
* A :class:`Subscription` is one member of a consumer group. It yields records in batches,
  in order within each partition, never commits by itself, and tells a
  :class:`RebalanceListener` before partitions are taken away, so in-flight work of a
  revoked partition is not committed by the wrong owner.
* Offsets committed are Kafka's: the offset of the *next* record to read, i.e. the last
  processed offset + 1.
"""

from __future__ import annotations

import asyncio
import enum
import operator
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

import attrs

from flowintegrations.errors import TransportClosedError, TransportError

__all__ = [
    "BatchProducer",
    "Headers",
    "Lifecycle",
    "RebalanceListener",
    "Record",
    "Subscription",
    "SupportsTransactions",
    "TopicPartition",
    "TransactionalProducer",
    "Transport",
]

Headers = tuple[tuple[str, bytes], ...]
"""Record headers: ``(name, value)`` pairs, order and duplicates kept, values raw bytes."""


class TopicPartition(NamedTuple):
    """One partition of one topic."""

    topic: str
    partition: int


class Lifecycle(str, enum.Enum):
    """Where a transport is in its life: new, running, stopping, stopped (never back)."""

    NEW = "new"
    """Made, not started yet."""
    RUNNING = "running"
    """Started: it may be used."""
    STOPPING = "stopping"
    """:meth:`Transport.stop` is under way."""
    STOPPED = "stopped"
    """Stopped: it cannot be started again."""

    def __str__(self) -> str:
        return self.value

    def check_running(self) -> None:
        """Raise unless :attr:`RUNNING`: the one running-check of every transport.

        Raises :class:`~flowintegrations.errors.TransportError` before the start, and
        :class:`~flowintegrations.errors.TransportClosedError` once stopping or stopped.
        """
        if self is Lifecycle.RUNNING:
            return
        if self is Lifecycle.NEW:
            msg = "the transport is not started: await transport.start() first"
            raise TransportError(msg)
        msg = "the transport was stopped"
        raise TransportClosedError(msg)


def check_subscription(topics: Sequence[str], group_id: str) -> None:
    """Raise ``ValueError`` for a subscription to no topic or with an empty ``group_id``.

    The argument check every :meth:`Transport.subscribe` makes before it joins a group.
    """
    if not topics:
        msg = "subscribe to at least one topic"
        raise ValueError(msg)
    if not group_id:
        msg = "group_id cannot be empty"
        raise ValueError(msg)


_KEEP: Any = object()
"""The default of :meth:`Record.replace`'s arguments: keep the field as it is."""


def _field(index: int, doc: str) -> Any:
    """A read-only descriptor for field ``index`` of a :class:`Record` (as namedtuple's)."""
    try:
        from collections import _tuplegetter  # type: ignore[attr-defined]  # noqa: PLC0415
    except ImportError:  # pragma: no cover (interpreters without it: the same, a bit slower)
        return property(operator.itemgetter(index), doc=doc)
    return _tuplegetter(index, doc)


class Record(tuple[str, "bytes | None", bytes, Headers, "int | None", "int | None", "int | None"]):
    """One Kafka record, as sent or as consumed: an immutable value.

    ``key`` is ``None`` or bytes, ``value`` bytes; ``headers`` keeps order and duplicates and
    holds raw bytes (nothing is decoded here). ``partition``, ``offset`` and ``timestamp``
    (milliseconds since the epoch) are set on consumed records and on the record a send
    resolves to; on a record to send, ``partition=None`` lets the transport choose (by key
    hash, as Kafka does). :meth:`replace` returns a copy with some fields changed.

    Records compare equal, and hash alike, when all their fields are equal. Assigning to a
    field raises :class:`attrs.exceptions.FrozenInstanceError` (an ``AttributeError``).
    Underneath, a record is a tuple of its seven fields in the order above, so that a
    transport can build one per consumed message at little cost (see
    ``docs/performance.md``); it is not equal to a plain tuple and has no ordering.
    """

    __slots__ = ()
    __match_args__ = ("topic", "key", "value", "headers", "partition", "offset", "timestamp")

    def __new__(  # noqa: PLR0917 (positional, as the fields of a value class are)
        cls,
        topic: str,
        key: bytes | None = None,
        value: bytes = b"",
        headers: Headers = (),
        partition: int | None = None,
        offset: int | None = None,
        timestamp: int | None = None,
    ) -> Record:
        """Make a record; every field but ``topic`` has a default."""
        return tuple.__new__(cls, (topic, key, value, headers, partition, offset, timestamp))

    if TYPE_CHECKING:

        @property
        def topic(self) -> str:
            """The topic."""

        @property
        def key(self) -> bytes | None:
            """The key, or ``None``."""

        @property
        def value(self) -> bytes:
            """The value."""

        @property
        def headers(self) -> Headers:
            """The headers: ``(name, value)`` pairs, order and duplicates kept."""

        @property
        def partition(self) -> int | None:
            """The partition, or ``None`` on a record to send that lets the transport choose."""

        @property
        def offset(self) -> int | None:
            """The offset in its partition, once written."""

        @property
        def timestamp(self) -> int | None:
            """Milliseconds since the epoch, once written (or as asked for when sending)."""

    else:
        topic = _field(0, "The topic.")
        key = _field(1, "The key, or ``None``.")
        value = _field(2, "The value.")
        headers = _field(3, "The headers: ``(name, value)`` pairs, order and duplicates kept.")
        partition = _field(
            4, "The partition, or ``None`` on a record to send that lets the transport choose."
        )
        offset = _field(5, "The offset in its partition, once written.")
        timestamp = _field(
            6, "Milliseconds since the epoch, once written (or as asked for when sending)."
        )

        def __setattr__(self, name: str, value: object) -> None:
            raise attrs.exceptions.FrozenInstanceError

        def __delattr__(self, name: str) -> None:
            raise attrs.exceptions.FrozenInstanceError

        def _unordered(self, other: object) -> bool:
            return NotImplemented

        __lt__ = __le__ = __gt__ = __ge__ = _unordered
        del _unordered

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            # Not even the tuple of its fields (tuple's own == would say it is).
            return False if isinstance(other, tuple) else NotImplemented
        return tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return True if isinstance(other, tuple) else NotImplemented
        return tuple.__ne__(self, other)

    def __hash__(self) -> int:
        return tuple.__hash__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its fields (pickle, copy.copy, copy.deepcopy).
        return (self.__class__, tuple(self))

    def replace(
        self,
        *,
        topic: str = _KEEP,
        key: bytes | None = _KEEP,
        value: bytes = _KEEP,
        headers: Headers = _KEEP,
        partition: int | None = _KEEP,
        offset: int | None = _KEEP,
        timestamp: int | None = _KEEP,
    ) -> Record:
        """A copy of this record with the fields given changed (as ``attrs.evolve`` does)."""
        old_topic, old_key, old_value, old_headers, old_partition, old_offset, old_time = self
        return tuple.__new__(
            self.__class__,
            (
                old_topic if topic is _KEEP else topic,
                old_key if key is _KEEP else key,
                old_value if value is _KEEP else value,
                old_headers if headers is _KEEP else headers,
                old_partition if partition is _KEEP else partition,
                old_offset if offset is _KEEP else offset,
                old_time if timestamp is _KEEP else timestamp,
            ),
        )

    def __replace__(self, **changes: Any) -> Record:
        """``copy.replace(record, **changes)``: the same as :meth:`replace`."""
        return self.replace(**changes)

    @property
    def topic_partition(self) -> TopicPartition:
        """The record's :class:`TopicPartition`; raises ``ValueError`` if it has none."""
        if self.partition is None:
            msg = f"record on topic {self.topic!r} has no partition yet"
            raise ValueError(msg)
        return TopicPartition(self.topic, self.partition)

    def header(self, name: str) -> bytes | None:
        """The value of the last header called ``name``, or ``None``."""
        for key, value in reversed(self.headers):
            if key == name:
                return value
        return None

    def __repr__(self) -> str:
        # Header values may carry secrets (tokens): a repr names headers, never their values.
        names = [name for name, _ in self.headers]
        where = "" if self.partition is None else f", partition={self.partition}"
        at = "" if self.offset is None else f", offset={self.offset}"
        return (
            f"Record(topic={self.topic!r}{where}{at}, key={self.key!r}, "
            f"value=<{len(self.value)} bytes>, headers={names!r})"
        )


@runtime_checkable
class RebalanceListener(Protocol):
    """Told by a :class:`Subscription` when its partition assignment changes.

    Both methods are awaited from inside :meth:`Subscription.getmany` (as Kafka calls its
    rebalance callbacks from inside ``poll``), never concurrently with each other.
    """

    async def on_partitions_revoked(self, partitions: frozenset[TopicPartition]) -> None:
        """Partitions are about to be taken from this member.

        This is the last moment this member may commit offsets of ``partitions`` (by
        awaiting :meth:`Subscription.commit`). Work still in flight for them must not be
        committed later: another member will be given those records again.
        """

    async def on_partitions_assigned(self, partitions: frozenset[TopicPartition]) -> None:
        """Partitions were given to this member; records of them will follow."""


@runtime_checkable
class Subscription(Protocol):
    """One member of a consumer group, reading a set of topics.

    Created by :meth:`Transport.subscribe`. Records of one partition are returned in
    offset order; records of different partitions may interleave. The subscription never
    commits on its own: the owner commits what it has *processed*.
    """

    @property
    def group_id(self) -> str:
        """The consumer group this member belongs to."""

    def assignment(self) -> frozenset[TopicPartition]:
        """The partitions currently assigned to this member (empty before the first join)."""

    async def getmany(self, *, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        """Return the next records, at most ``max_records``, waiting at most ``timeout`` s.

        Returns an empty list when nothing arrived in time. Paused partitions yield nothing.
        Rebalance callbacks run inside this call, before records of the new assignment are
        returned. Raises :class:`~flowintegrations.errors.TransportClosedError` after
        :meth:`close` (or after the transport stopped) and
        :class:`~flowintegrations.errors.TransportBrokenError` when the broker cannot be
        reached any more.
        """

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit, for each partition, the offset of the next record to read.

        Returns when the group coordinator accepted the commit. Committing a partition that
        is no longer assigned to this member is an error on Kafka and must not be attempted
        (the :class:`RebalanceListener` says when partitions go). Raises
        :class:`~flowintegrations.errors.TransportError` on failure.
        """

    def pause(self, partitions: Iterable[TopicPartition]) -> None:
        """Stop returning records of ``partitions`` (backpressure) until :meth:`resume`.

        A pause ends with the assignment: a partition revoked and then assigned again is
        not paused.
        """

    def resume(self, partitions: Iterable[TopicPartition]) -> None:
        """Return records of ``partitions`` again, from where reading left off."""

    async def close(self) -> None:
        """Leave the group promptly, without committing. Idempotent.

        Records returned but not committed will be delivered again to whichever member
        gets their partition next.
        """


@runtime_checkable
class BatchProducer(Protocol):
    """Produces a batch of records with one future for the delivery of them all.

    Part of :class:`Transport`; a protocol of its own so that code which only produces
    batches can ask for no more.
    """

    async def produce_batch(self, records: Sequence[Record]) -> asyncio.Future[None]:
        """Queue ``records``, in order, for delivery; return one future of them all.

        For callers that only need to know when a whole batch is written (the runtime's
        replies): one future for the batch instead of a future and a written
        :class:`Record` per record. Records are queued in the order given, so records with
        the same key and topic (and records for the same partition) are delivered in that
        order, as with :meth:`Transport.produce`. Waits only while the local send buffer is
        full. The future resolves to ``None`` once *every* record of the batch is
        acknowledged by the broker, never earlier; for an empty batch it is returned
        already resolved.

        Raises :class:`~flowintegrations.errors.TransportClosedError` after
        :meth:`Transport.stop` and :class:`~flowintegrations.errors.TransportBrokenError`
        when the broker cannot be reached any more. A record that cannot even be queued
        raises its error here (a :class:`~flowintegrations.errors.TransportError`); the
        records queued before it are still delivered. The future fails with
        :class:`~flowintegrations.errors.DeliveryError` when any record of the batch could
        not be delivered (the first such failure; the other records may have been written).
        """


@runtime_checkable
class Transport(BatchProducer, Protocol):
    """Moves records to and from a broker. See the module docstring for the rules.

    Besides the methods below, a transport produces batches: :meth:`BatchProducer.produce_batch`.
    """

    async def start(self) -> None:
        """Connect. Must be awaited before any other method; idempotent while running.

        Raises :class:`~flowintegrations.errors.TransportBrokenError` when the broker cannot
        be reached, and :class:`~flowintegrations.errors.TransportClosedError` after
        :meth:`stop`.
        """

    async def stop(self) -> None:
        """Flush pending sends, close every subscription, disconnect. Idempotent.

        Afterwards every method but :meth:`stop` raises
        :class:`~flowintegrations.errors.TransportClosedError`.
        """

    async def ensure_topics(self, topics: Collection[str]) -> None:
        """Check that every topic in ``topics`` exists, or create it if configured to.

        Raises :class:`~flowintegrations.errors.TopicNotFoundError` naming every missing
        topic instead of waiting for topics that will never come.
        """

    async def create_topics(self, topics: Collection[str], *, partitions: int = 1) -> None:
        """Create every topic in ``topics`` that does not exist, with ``partitions`` partitions.

        For development, tests and tooling (the conformance checker needs topics with
        several partitions); whatever the transport's own auto-create setting says. Topics
        that already exist are left as they are. Returns once the topics can be used.
        """

    async def produce(self, record: Record) -> asyncio.Future[Record]:
        """Queue ``record`` for delivery and return a future of its acknowledgement.

        Waits only while the local send buffer is full (backpressure). The future resolves
        to the record as written (``partition``, ``offset``, ``timestamp`` set) once the
        broker acknowledged it, or fails with
        :class:`~flowintegrations.errors.DeliveryError`. Records with the same key and topic
        are delivered in the order they were produced.
        """

    async def send(self, record: Record) -> Record:
        """Deliver ``record`` and return it as written, once the broker acknowledged it."""

    async def flush(self, timeout: float | None = None) -> None:
        """Wait until every record produced so far is acknowledged (or failed)."""

    async def subscribe(
        self,
        topics: Sequence[str],
        *,
        group_id: str,
        listener: RebalanceListener | None = None,
    ) -> Subscription:
        """Join consumer group ``group_id`` as a new member reading ``topics``.

        A group with no committed offset for a partition starts at its earliest record.
        """


@runtime_checkable
class TransactionalProducer(BatchProducer, Protocol):
    """Produces records and commits consumed offsets together, all or nothing.

    One transaction at a time: :meth:`begin`, then :meth:`produce` / ``produce_batch``,
    then :meth:`commit` with the offsets consumed, or :meth:`abort`. Readers that read
    committed records only see the records of a committed transaction, and the group's
    offsets move with them; an aborted transaction (or one whose producer died) leaves
    neither. A newer producer with the same transactional id *fences* this one: its next
    call raises :class:`~flowintegrations.errors.TransportBrokenError`.
    """

    async def begin(self) -> None:
        """Start a transaction. Raises ``TransportBrokenError`` when fenced or failed."""

    async def produce(self, record: Record) -> asyncio.Future[Record]:
        """Queue ``record`` in the open transaction (see :meth:`Transport.produce`)."""

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Wait for the records produced, add ``offsets`` (next to read), commit.

        Raises :class:`~flowintegrations.errors.TransportError` when the transaction could
        not be committed; it is then aborted (nothing of it is visible) and the records
        must be consumed again. ``TransportBrokenError`` means fenced: stop.
        """

    async def abort(self) -> None:
        """Abort the open transaction: nothing produced in it becomes visible."""

    async def close(self) -> None:
        """Abort a transaction left open and release the producer. Idempotent."""


@runtime_checkable
class SupportsTransactions(Protocol):
    """A transport that can consume and produce exactly once, in transactions."""

    async def transactional_producer(
        self, subscription: Subscription, transactional_id: str
    ) -> TransactionalProducer:
        """A producer whose transactions commit the offsets of ``subscription``'s group.

        ``transactional_id`` identifies the producer across restarts: making one fences
        (and aborts the open transaction of) any earlier producer with the same id.
        Raises :class:`~flowintegrations.errors.TransportError` when the cluster refuses.
        """
