"""The in-memory cluster's shared state: topics, their records, consumer groups.

:class:`InMemoryBroker` is what several
:class:`~flowintegrations.transport.memory.InMemoryTransport` instances share, as clients
of one Kafka cluster do (:mod:`flowintegrations.transport.memory` describes the behaviour
as a whole). It keeps each topic's partitions (:class:`TopicLog`) and each
consumer group's members, committed offsets and partition owners (:class:`ConsumerGroup`),
and computes the range assignment on every join and leave. The members themselves (the
subscriptions) live in :mod:`flowintegrations.transport.memory`; the broker knows them by the
:class:`GroupMember` protocol.
"""

from __future__ import annotations

import itertools
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

from flowintegrations.errors import DeliveryError, TopicNotFoundError
from flowintegrations.transport.base import Record, TopicPartition
from flowintegrations.vocabulary import MAX_MESSAGE_BYTES

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "ConsumerGroup",
    "GroupMember",
    "InMemoryBroker",
    "TopicLog",
    "record_size",
]


class GroupMember(Protocol):
    """What the broker needs of a member of a consumer group (a subscription)."""

    topics: tuple[str, ...]
    target: frozenset[TopicPartition]
    """The partitions the last rebalance gives this member (it takes them when it syncs)."""

    @property
    def group(self) -> ConsumerGroup:
        """The member's group."""

    def wake(self) -> None:
        """Records arrived, or the assignment changed: stop waiting (from any thread)."""


M = TypeVar("M", bound=GroupMember)

DEFAULT_MAX_MESSAGE_BYTES = MAX_MESSAGE_BYTES
"""The largest record a topic takes by default: Kafka's ``message.max.bytes`` (1 MiB)."""


def record_size(record: Record) -> int:
    """The bytes ``record`` takes on the wire, as counted against ``max_message_bytes``.

    Its key, value, header names (UTF-8; a lone surrogate counts as the 3 bytes
    ``surrogatepass`` writes) and header values. Kafka adds a few bytes of framing per
    record; they are left out, so a record fits exactly when its parts do.
    """
    size = len(record.value) + (0 if record.key is None else len(record.key))
    for name, value in record.headers:
        size += len(name.encode("utf-8", "surrogatepass")) + len(value)
    return size


class TopicLog:
    """One topic's partitions: each an append-only list of records from its first offset kept."""

    __slots__ = ("log", "name", "next_partition", "partitions", "starts")

    def __init__(self, name: str, partitions: int) -> None:
        self.name = name
        # Each partition's records from its first offset not deleted (``starts``) on.
        self.partitions: list[list[Record]] = [[] for _ in range(partitions)]
        self.starts = [0] * partitions
        self.log: list[Record] = []  # every record, in the order written
        self.next_partition = 0


class ConsumerGroup:
    """A consumer group: members in join order, committed offsets, partition ownership."""

    __slots__ = ("committed", "group_id", "members", "owner", "wanted_by")

    def __init__(self, group_id: str) -> None:
        self.group_id = group_id
        self.members: list[GroupMember] = []
        self.committed: dict[TopicPartition, int] = {}
        # Who holds each partition now, and who should hold it after the rebalance. They
        # differ while the old owner has not yet run its revoke callback.
        self.owner: dict[TopicPartition, GroupMember] = {}
        self.wanted_by: dict[TopicPartition, GroupMember] = {}


class InMemoryBroker:
    """The shared state of an in-memory cluster: topics, their records, consumer groups.

    Several :class:`InMemoryTransport` instances created with the same ``broker`` see the
    same topics and groups, as several clients of one Kafka cluster would (an adapter and
    the engine-side client, or a transport restarted in a test). ``partitions`` is the
    partition count of topics created without one; with ``auto_create_topics=False``
    missing topics are errors, as on a locked-down cluster. ``clock`` returns seconds since
    the epoch and stamps records sent without a timestamp. A record larger than
    ``max_message_bytes`` (:func:`record_size`) is refused, as Kafka's ``message.max.bytes``
    refuses it.
    """

    def __init__(
        self,
        *,
        partitions: int = 1,
        auto_create_topics: bool = True,
        clock: Callable[[], float] = time.time,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        if partitions < 1:
            msg = f"partitions must be at least 1, not {partitions}"
            raise ValueError(msg)
        if max_message_bytes < 1:
            msg = f"max_message_bytes must be at least 1, not {max_message_bytes}"
            raise ValueError(msg)
        self.max_message_bytes = max_message_bytes
        self.default_partitions = partitions
        self.auto_create_topics = auto_create_topics
        self.clock = clock
        self._topics: dict[str, TopicLog] = {}
        self._groups: dict[str, ConsumerGroup] = {}
        # The members that own each partition (one per group): they are woken on new data.
        self._readers: dict[TopicPartition, list[GroupMember]] = {}
        self._member_ids = itertools.count(1)

    def __repr__(self) -> str:
        return (
            f"InMemoryBroker(topics={len(self._topics)}, records={self.count()}, "
            f"groups={len(self._groups)})"
        )

    # Topics ----------------------------------------------------------------------------------

    def create_topic(self, name: str, *, partitions: int | None = None) -> None:
        """Create topic ``name`` (default partition count unless given); keep an existing one."""
        if name not in self._topics:
            self._create_topic(name, partitions or self.default_partitions)

    def missing(self, topics: Iterable[str]) -> list[str]:
        """The names in ``topics`` that are not topics (yet)."""
        return [name for name in topics if name not in self._topics]

    def _create_topic(self, name: str, partitions: int) -> TopicLog:
        if not name:
            msg = "a topic name cannot be empty"
            raise ValueError(msg)
        if partitions < 1:
            msg = f"partitions must be at least 1, not {partitions}"
            raise ValueError(msg)
        topic = self._topics[name] = TopicLog(name, partitions)
        for group in self._groups.values():
            if any(name in member.topics for member in group.members):
                self._rebalance(group)
        return topic

    def _topic_for(self, name: str) -> TopicLog:
        topic = self._topics.get(name)
        if topic is None:
            if not self.auto_create_topics:
                raise TopicNotFoundError((name,))
            topic = self._create_topic(name, self.default_partitions)
        return topic

    # Writing ---------------------------------------------------------------------------------

    def write(self, record: Record) -> Record:
        """Append ``record`` to its partition now; return it as written.

        Raises ``DeliveryError`` for a missing topic (without auto-create) or partition, and
        for a record larger than ``max_message_bytes``.
        """
        # Typed callers cannot get this wrong; untyped ones get the error Kafka would give.
        value: object = record.value
        key: object = record.key
        if not isinstance(value, bytes) or not (key is None or isinstance(key, bytes)):
            msg = "a record's value must be bytes and its key bytes or None"
            raise TypeError(msg)
        size = record_size(record)
        if size > self.max_message_bytes:
            msg = (
                f"cannot deliver to topic {record.topic!r}: the record is {size} bytes, more "
                f"than max_message_bytes ({self.max_message_bytes})"
            )
            raise DeliveryError(msg)
        try:
            topic = self._topic_for(record.topic)
        except TopicNotFoundError as exc:
            msg = f"cannot deliver to topic {record.topic!r}: it does not exist"
            raise DeliveryError(msg) from exc
        count = len(topic.partitions)
        partition = record.partition
        if partition is None:
            if record.key is not None:
                partition = zlib.crc32(record.key) % count
            else:
                partition = topic.next_partition
                topic.next_partition = (partition + 1) % count
        elif not 0 <= partition < count:
            msg = f"cannot deliver to {record.topic!r}[{partition}]: it has {count} partitions"
            raise DeliveryError(msg)
        log = topic.partitions[partition]
        timestamp = record.timestamp
        if timestamp is None:
            timestamp = int(self.clock() * 1000)
        written = Record(
            record.topic,
            record.key,
            record.value,
            record.headers,
            partition,
            topic.starts[partition] + len(log),
            timestamp,
        )
        log.append(written)
        topic.log.append(written)
        readers = self._readers.get(TopicPartition(record.topic, partition))
        if readers:
            for member in readers:
                member.wake()
        return written

    # Groups ----------------------------------------------------------------------------------

    def join(
        self,
        topics: Sequence[str],
        group_id: str,
        make_member: Callable[[ConsumerGroup, int], M],
    ) -> M:
        """Add a member (made by ``make_member(group, number)``) to ``group_id``, rebalance.

        Raises :class:`~flowintegrations.errors.TopicNotFoundError` for missing topics
        when they are not created automatically.
        """
        missing = self.missing(topics)
        if missing and not self.auto_create_topics:
            raise TopicNotFoundError(missing)
        for name in missing:
            self._create_topic(name, self.default_partitions)
        group = self._groups.get(group_id)
        if group is None:
            group = self._groups[group_id] = ConsumerGroup(group_id)
        member = make_member(group, next(self._member_ids))
        group.members.append(member)
        self._rebalance(group)
        return member

    def _rebalance(self, group: ConsumerGroup) -> None:
        """Recompute the wanted assignment (range, per topic) and tell members that changed."""
        wanted: dict[GroupMember, set[TopicPartition]] = {m: set() for m in group.members}
        wanted_by: dict[TopicPartition, GroupMember] = {}
        names = sorted({name for member in group.members for name in member.topics})
        for name in names:
            topic = self._topics.get(name)
            if topic is None:
                continue
            readers = [member for member in group.members if name in member.topics]
            count = len(topic.partitions)
            share, extra = divmod(count, len(readers))
            start = 0
            for index, member in enumerate(readers):
                size = share + (1 if index < extra else 0)
                for partition in range(start, start + size):
                    tp = TopicPartition(name, partition)
                    wanted[member].add(tp)
                    wanted_by[tp] = member
                start += size
        group.wanted_by = wanted_by
        for member, tps in wanted.items():
            target = frozenset(tps)
            if target != member.target:
                member.target = target
                member.wake()

    def release(self, group: ConsumerGroup, tps: Iterable[TopicPartition]) -> None:
        """Partitions left their owner: take them off its hands, wake whoever wants them."""
        for tp in tps:
            member = group.owner.pop(tp, None)
            readers = self._readers.get(tp)
            if readers is not None and member is not None and member in readers:
                readers.remove(member)
            heir = group.wanted_by.get(tp)
            if heir is not None:
                heir.wake()

    def take(self, group: ConsumerGroup, member: GroupMember, tp: TopicPartition) -> None:
        """``member`` now holds ``tp``: it is woken when records arrive there."""
        group.owner[tp] = member
        self._readers.setdefault(tp, []).append(member)

    def leave(self, member: GroupMember, owned: Iterable[TopicPartition]) -> None:
        """``member`` left its group, holding ``owned``: rebalance the rest."""
        group = member.group
        group.members.remove(member)
        self._rebalance(group)
        self.release(group, owned)

    def topic_log(self, name: str) -> TopicLog:
        """The records of topic ``name`` (which exists)."""
        return self._topics[name]

    def delete_records(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Drop, for each partition, every record before the offset given (Kafka's DeleteRecords).

        Offsets do not change: the next record written keeps its number, and a member whose
        position is before the first remaining record reads on from it (as Kafka's
        ``auto.offset.reset=earliest`` does). Committed offsets are kept. For long tests that
        must not hold every record in memory. Raises ``TopicNotFoundError`` for a missing
        topic and ``ValueError`` for a partition it does not have or an offset past its end.
        """
        touched: set[str] = set()
        for tp, offset in offsets.items():
            topic = self._topics.get(tp.topic)
            if topic is None:
                raise TopicNotFoundError((tp.topic,))
            if not 0 <= tp.partition < len(topic.partitions):
                msg = f"{tp.topic!r} has no partition {tp.partition}"
                raise ValueError(msg)
            log = topic.partitions[tp.partition]
            start = topic.starts[tp.partition]
            if not 0 <= offset <= start + len(log):
                msg = (
                    f"cannot delete {tp.topic}[{tp.partition}] up to {offset}: "
                    f"it ends at {start + len(log)}"
                )
                raise ValueError(msg)
            if offset > start:
                del log[: offset - start]
                topic.starts[tp.partition] = offset
                touched.add(tp.topic)
        for name in touched:
            topic = self._topics[name]
            starts = topic.starts
            topic.log = [r for r in topic.log if (r.offset or 0) >= starts[r.partition or 0]]

    # Inspection (for tests) ------------------------------------------------------------------

    def topics(self) -> list[str]:
        """The names of every topic, sorted."""
        return sorted(self._topics)

    def partitions(self, topic: str) -> int:
        """The partition count of ``topic``; raises ``TopicNotFoundError`` if it is missing."""
        found = self._topics.get(topic)
        if found is None:
            raise TopicNotFoundError((topic,))
        return len(found.partitions)

    def records(self, topic: str, *, partition: int | None = None) -> list[Record]:
        """The records of ``topic`` in the order they were written (empty if it is missing).

        Within a partition that is offset order. ``partition`` selects one partition.
        Deleted records (:meth:`delete_records`) are left out.
        """
        found = self._topics.get(topic)
        if found is None:
            return []
        if partition is None:
            return list(found.log)
        return list(found.partitions[partition])

    def count(self, topic: str | None = None) -> int:
        """How many records ``topic`` holds (every topic's when ``topic`` is ``None``)."""
        if topic is None:
            return sum(len(found.log) for found in self._topics.values())
        found = self._topics.get(topic)
        return 0 if found is None else len(found.log)

    def end_offsets(self, topic: str) -> dict[TopicPartition, int]:
        """For each partition of ``topic``, the offset the next record will get."""
        found = self._topics.get(topic)
        if found is None:
            raise TopicNotFoundError((topic,))
        return {
            TopicPartition(topic, p): found.starts[p] + len(log)
            for p, log in enumerate(found.partitions)
        }

    def committed(self, group_id: str) -> dict[TopicPartition, int]:
        """The offsets group ``group_id`` committed (empty for an unknown group)."""
        group = self._groups.get(group_id)
        return {} if group is None else dict(sorted(group.committed.items()))

    def groups(self) -> list[str]:
        """The ids of every consumer group that ever had a member, sorted."""
        return sorted(self._groups)
