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
* A :class:`Subscription` is one member of a consumer group. It yields records in batches,
  in order within each partition, never commits by itself, and tells a
  :class:`RebalanceListener` before partitions are taken away, so in-flight work of a
  revoked partition is not committed by the wrong owner.
* Offsets committed are Kafka's: the offset of the *next* record to read, i.e. the last
  processed offset + 1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import NamedTuple, Protocol, runtime_checkable

import attrs

__all__ = [
    "Headers",
    "RebalanceListener",
    "Record",
    "Subscription",
    "TopicPartition",
    "Transport",
]

Headers = tuple[tuple[str, bytes], ...]
"""Record headers: ``(name, value)`` pairs, order and duplicates kept, values raw bytes."""


class TopicPartition(NamedTuple):
    """One partition of one topic."""

    topic: str
    partition: int


@attrs.frozen(slots=True, repr=False)
class Record:
    """One Kafka record, as sent or as consumed.

    ``key`` is ``None`` or bytes, ``value`` bytes; ``headers`` keeps order and duplicates and
    holds raw bytes (nothing is decoded here). ``partition``, ``offset`` and ``timestamp``
    (milliseconds since the epoch) are set on consumed records and on the record a send
    resolves to; on a record to send, ``partition=None`` lets the transport choose (by key
    hash, as Kafka does).
    """

    topic: str
    key: bytes | None = None
    value: bytes = b""
    headers: Headers = ()
    partition: int | None = None
    offset: int | None = None
    timestamp: int | None = None

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
class Transport(Protocol):
    """Moves records to and from a broker. See the module docstring for the rules."""

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
