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

__all__ = ["Backpressure", "PartitionState", "Pending"]


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
    """

    __slots__ = ("_paused_all", "max_batch", "max_in_flight")

    def __init__(self, max_in_flight: int, max_batch: int) -> None:
        self.max_in_flight = max_in_flight
        self.max_batch = max_batch
        self._paused_all = False

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
