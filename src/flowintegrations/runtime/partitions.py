"""Per-partition bookkeeping of the delivery loop, and the backpressure policy.

:class:`PartitionState` holds the records of one assigned partition: waiting, handled
but not yet delivered, and done. Its :meth:`~PartitionState.advance` moves the offset that
may be committed past every record whose sends were acknowledged, in offset order, so a
slow delivery holds back the commit of everything after it. :class:`Backpressure` decides
which partitions to pause from how many records each holds; it is a pure policy, tested on
its own.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Collection, Mapping
from typing import Any

from flowintegrations.errors import DeliveryError
from flowintegrations.transport import Record, TopicPartition

__all__ = ["PAUSE_AFTER", "Backpressure", "PartitionState", "Pending"]

PAUSE_AFTER = 1.0
"""Seconds the fetch loop stays over its budget in all, not fetching, before it pauses.

Not fetching is enough while the budget drains quickly. A pause is for longer: it lets the
loop go on serving the group (rebalances happen inside a fetch) without taking records. It
has a price: librdkafka drops what it prefetched for a paused partition and fetches it again
once resumed (measured on Tansu: about 0.5 s without a record after each resume, every
second on the App's throughput bench with ``max_batch=2000``).
"""


class Pending:
    """Records handled together, done once ``completion`` (their sends) is done.

    ``completion`` is ``None`` when they sent nothing. ``last`` is the offset of the last.
    """

    __slots__ = ("completion", "count", "last")

    def __init__(self, last: int, count: int, completion: asyncio.Future[Any] | None) -> None:
        self.last = last
        self.count = count
        self.completion = completion


class PartitionState:
    """The records of one assigned partition: waiting, in progress, done-but-uncommitted."""

    __slots__ = (
        "committed",
        "done_upto",
        "held",
        "pending",
        "queue",
        "revoked",
        "task",
        "tp",
        "wakeup",
    )

    def __init__(self, tp: TopicPartition) -> None:
        self.tp = tp
        self.queue: deque[Record] = deque()
        """Records fetched and not handled yet, in offset order; the head is in progress."""
        self.pending: deque[Pending] = deque()
        """Handled records whose sends may still be under way, in offset order."""
        self.done_upto: int | None = None
        """The offset after every done record: what may be committed."""
        self.held = 0
        """Records fetched and not done (queued or pending)."""
        self.committed: int | None = None
        self.revoked = False
        self.wakeup = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return (
            f"PartitionState({self.tp.topic}[{self.tp.partition}], queued={len(self.queue)}, "
            f"pending={len(self.pending)}, done_upto={self.done_upto}, "
            f"committed={self.committed})"
        )

    def handled(self, completion: asyncio.Future[Any] | None, count: int = 1) -> None:
        """The ``count`` records at the head of the queue are handled.

        They are done once ``completion`` (the delivery of what they sent) is done.
        """
        queue = self.queue
        for _ in range(count - 1):
            queue.popleft()
        record = queue.popleft()
        self.pending.append(Pending(record.offset or 0, count, completion))

    def skip(self) -> None:
        """The record at the head of the queue is not ours: done, nothing sent."""
        record = self.queue.popleft()
        self.pending.append(Pending(record.offset or 0, 1, None))

    def advance(self) -> tuple[int, BaseException | None]:
        """Move :attr:`done_upto` past the done records at the head of :attr:`pending`.

        Returns how many records became done, and the error of a failed send, if the head
        failed: the partition then stops there (nothing after it may be committed).
        """
        pending = self.pending
        released = 0
        while pending:
            head = pending[0]
            completion = head.completion
            if completion is not None:
                if not completion.done():
                    break
                if completion.cancelled():
                    return released, DeliveryError("a send was cancelled")
                error = completion.exception()
                if error is not None:
                    return released, error
            pending.popleft()
            self.done_upto = head.last + 1
            self.held -= head.count
            released += head.count
        return released, None

    def completions(self) -> list[asyncio.Future[Any]]:
        """The sends still awaited by handled records."""
        return [p.completion for p in self.pending if p.completion is not None]

    def undone(self) -> int:
        """Records fetched and not done: queued, or handled with sends under way."""
        return len(self.queue) + sum(p.count for p in self.pending)


class Backpressure:
    """Which partitions to pause, from how many records each holds.

    In all, at most ``max_in_flight`` records are held (fetched, not done): past it every
    partition pauses, until half of it is done. Each partition also has its share of it
    (at least ``max_batch``): a partition past its share pauses alone, until half of its
    share is done, so a partition the broker hands out in large chunks cannot take the
    whole budget and leave the other partitions' workers idle.

    Before every partition is paused, fetching first only stops, for up to ``pause_after``
    seconds (:meth:`holds_off`).
    """

    __slots__ = ("_over_since", "_paused_all", "max_batch", "max_in_flight", "pause_after")

    def __init__(
        self, max_in_flight: int, max_batch: int, *, pause_after: float = PAUSE_AFTER
    ) -> None:
        self.max_in_flight = max_in_flight
        self.max_batch = max_batch
        self.pause_after = pause_after
        self._paused_all = False
        self._over_since: float | None = None

    @property
    def holding(self) -> bool:
        """Whether the last :meth:`holds_off` said to hold off."""
        return self._over_since is not None

    def holds_off(
        self,
        wanted: Collection[TopicPartition],
        assignment: Collection[TopicPartition],
        paused: Collection[TopicPartition],
        now: float,
    ) -> bool:
        """Whether to stop fetching instead of pausing ``wanted`` (what :meth:`paused` gave).

        True while every assigned partition is wanted paused, none is paused yet, and that
        began less than ``pause_after`` seconds before ``now`` (a monotonic clock).
        """
        if assignment and not paused and all(tp in wanted for tp in assignment):
            if self._over_since is None:
                self._over_since = now
            if now - self._over_since < self.pause_after:
                return True
        self._over_since = None
        return False

    def paused(
        self,
        held: Mapping[TopicPartition, int],
        in_flight: int,
        assignment: Collection[TopicPartition],
        paused: Collection[TopicPartition],
    ) -> set[TopicPartition]:
        """The partitions to keep paused, given what each holds and what is paused now."""
        if not self._paused_all and in_flight >= self.max_in_flight:
            self._paused_all = True
        elif self._paused_all and in_flight <= self.max_in_flight // 2:
            self._paused_all = False
        if self._paused_all:
            return set(assignment)
        share = max(self.max_batch, self.max_in_flight // max(1, len(held)))
        return {
            tp
            for tp, count in held.items()
            if (count >= share or (count > share // 2 and tp in paused)) and tp in assignment
        }
