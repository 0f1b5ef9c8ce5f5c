"""Fault injection: a transport whose deliveries fail, hang or lag, and whose commits fail.

The in-memory transport acknowledges every record the moment it is written, so a test
cannot tell "committed after the reply was delivered" from "committed at once".
:class:`FaultyTransport` wraps any :class:`~flowintegrations.transport.Transport` (usually
an :class:`~flowintegrations.transport.InMemoryTransport`) and passes everything through,
except the faults it is told to inject::

    transport = FaultyTransport(InMemoryTransport())
    app = App(integration, transport=transport)
    transport.hang_deliveries("ai.flowx.test.engine.receive.greet.v1")
    ...  # replies to that topic now wait; nothing after them may be committed
    transport.release("ai.flowx.test.engine.receive.greet.v1")

Per topic, deliveries can

* **fail** (:meth:`~FaultyTransport.fail_deliveries`): the record is not written and the
  future :meth:`~FaultyTransport.produce` returned fails with
  :class:`~flowintegrations.errors.DeliveryError`, as when the broker refuses a record;
* **hang** (:meth:`~FaultyTransport.hang_deliveries`): the record is held, its future
  stays pending until :meth:`~FaultyTransport.release`, as an unacknowledged send;
* **lag** (:meth:`~FaultyTransport.delay_deliveries`): the record is written ``seconds``
  after it was produced.

Records of one topic are written in the order produced: a record produced behind a held
or delayed one waits for it, as a Kafka producer keeps the order of a partition. And
commits can fail (:meth:`~FaultyTransport.fail_commits`): ``commit`` raises
:class:`~flowintegrations.errors.TransportError` without committing.
:attr:`~FaultyTransport.failed_deliveries` and :attr:`~FaultyTransport.commits` tell
what happened. The faults apply from the moment they are set; the wrapper itself honours
the transport contract (:func:`~flowintegrations.testing.check_transport`).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import deque
from collections.abc import Collection, Iterable, Mapping, Sequence

import attrs

from flowintegrations.errors import DeliveryError, TransportClosedError, TransportError
from flowintegrations.transport import (
    RebalanceListener,
    Record,
    Subscription,
    TopicPartition,
    Transport,
)
from flowintegrations.transport.waiting import cancel_and_wait

__all__ = ["CommitAttempt", "FaultySubscription", "FaultyTransport"]


@attrs.frozen(kw_only=True)
class CommitAttempt:
    """One call of :meth:`FaultySubscription.commit`: the offsets, and whether it failed.

    ``failed`` is true for a failure injected by :meth:`FaultyTransport.fail_commits` and
    for one raised by the wrapped subscription (then ``error`` says why).
    """

    group_id: str
    offsets: Mapping[TopicPartition, int]
    failed: bool = False
    error: str | None = None


@attrs.define(eq=False)
class _Held:
    """A record produced to a held or delayed topic, waiting to be written."""

    record: Record
    future: asyncio.Future[Record]
    due: float | None  # loop time to write it at; None = until released


@attrs.define(eq=False)
class _TopicFaults:
    fail: int | None = 0  # deliveries still to fail; None = every one
    hang: bool = False
    delay: float = 0.0
    queue: deque[_Held] = attrs.Factory(deque)
    wakeup: asyncio.Event | None = None
    task: asyncio.Task[None] | None = None


class FaultyTransport:
    """A :class:`~flowintegrations.transport.Transport` that injects delivery and commit faults.

    Everything is passed to ``inner``, which keeps the records and the committed offsets
    (inspect them there, e.g. ``inner.committed(group_id)``). :meth:`start` starts
    ``inner`` and :meth:`stop` stops it: the wrapper owns what it wraps. Not thread-safe:
    set faults from the event loop the transport runs on (or before it starts).
    """

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self._topics: dict[str, _TopicFaults] = {}
        self._commit_failures = 0
        self._failed: list[Record] = []
        self._commits: list[CommitAttempt] = []
        self._stopped = False

    def __repr__(self) -> str:
        faulty = sorted(name for name, f in self._topics.items() if f.fail or f.hang or f.delay)
        return f"FaultyTransport({self.inner!r}, faulty_topics={faulty!r})"

    # Faults ----------------------------------------------------------------------------------

    def fail_deliveries(self, topic: str, *, times: int | None = 1) -> None:
        """Fail the next ``times`` deliveries to ``topic`` (``None``: every one, until cleared).

        A failed record is not written; its future fails with ``DeliveryError``. Replaces
        an earlier count for ``topic``; ``times=0`` ends the fault.
        """
        if times is not None and times < 0:
            msg = f"times must be None or at least 0, not {times}"
            raise ValueError(msg)
        self._faults(topic).fail = times

    def hang_deliveries(self, topic: str) -> None:
        """Hold every record produced to ``topic`` from now on, until :meth:`release`.

        Their futures stay pending; nothing is written (so nothing is visible to readers).
        """
        self._faults(topic).hang = True

    def delay_deliveries(self, topic: str, seconds: float) -> None:
        """Write each record produced to ``topic`` from now on ``seconds`` after its produce.

        ``seconds=0`` ends the fault (records already waiting keep their time).
        """
        if seconds < 0:
            msg = f"seconds must be at least 0, not {seconds}"
            raise ValueError(msg)
        self._faults(topic).delay = seconds

    def release(self, topic: str | None = None) -> None:
        """End the hang of ``topic`` (of every topic when ``None``) and write what it held.

        Held records are written in the order they were produced, behind any delayed
        record before them.
        """
        names = list(self._topics) if topic is None else [topic]
        for name in names:
            faults = self._topics.get(name)
            if faults is None:
                continue
            faults.hang = False
            now = _now()
            for held in faults.queue:
                if held.due is None:
                    held.due = now
            if faults.wakeup is not None:
                faults.wakeup.set()

    def fail_commits(self, times: int = 1) -> None:
        """Fail the next ``times`` commits (of any subscription of this transport).

        A failed commit raises ``TransportError`` and commits nothing. Replaces an earlier
        count; ``times=0`` ends the fault.
        """
        if times < 0:
            msg = f"times must be at least 0, not {times}"
            raise ValueError(msg)
        self._commit_failures = times

    def clear(self) -> None:
        """End every fault: deliveries no longer fail, lag or hang (held ones are written)."""
        for faults in self._topics.values():
            faults.fail = 0
            faults.delay = 0.0
        self.release()
        self._commit_failures = 0

    # Inspection ------------------------------------------------------------------------------

    @property
    def failed_deliveries(self) -> tuple[Record, ...]:
        """Every record whose delivery was made to fail, in the order produced."""
        return tuple(self._failed)

    @property
    def commits(self) -> tuple[CommitAttempt, ...]:
        """Every commit tried through this transport's subscriptions, oldest first."""
        return tuple(self._commits)

    def held(self, topic: str) -> int:
        """How many records produced to ``topic`` wait to be written (held or delayed)."""
        faults = self._topics.get(topic)
        return 0 if faults is None else len(faults.queue)

    # Transport -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the wrapped transport (see :meth:`Transport.start`)."""
        await self.inner.start()

    async def stop(self) -> None:
        """Fail every record still held, then stop the wrapped transport. Idempotent.

        A held record's future fails with ``DeliveryError``, as a send still unacknowledged
        when a producer closes.
        """
        self._stopped = True
        for name, faults in self._topics.items():
            if faults.task is not None:
                await cancel_and_wait(faults.task)
                faults.task = None
            while faults.queue:
                held = faults.queue.popleft()
                if not held.future.done():
                    msg = f"the transport stopped before a record to {name!r} was delivered"
                    held.future.set_exception(DeliveryError(msg))
        await self.inner.stop()

    async def ensure_topics(self, topics: Collection[str]) -> None:
        """See :meth:`Transport.ensure_topics`."""
        await self.inner.ensure_topics(topics)

    async def create_topics(self, topics: Collection[str], *, partitions: int = 1) -> None:
        """See :meth:`Transport.create_topics`."""
        await self.inner.create_topics(topics, partitions=partitions)

    async def produce(self, record: Record) -> asyncio.Future[Record]:
        """Queue ``record``, applying the faults of its topic (see :meth:`Transport.produce`)."""
        if self._stopped:
            msg = "the transport was stopped"
            raise TransportClosedError(msg)
        faults = self._topics.get(record.topic)
        if faults is None:
            return await self.inner.produce(record)
        if faults.fail is None or faults.fail > 0:
            if faults.fail is not None:
                faults.fail -= 1
            self._failed.append(record)
            future: asyncio.Future[Record] = asyncio.get_running_loop().create_future()
            msg = f"delivery to topic {record.topic!r} failed (injected fault)"
            future.set_exception(DeliveryError(msg))
            return future
        if not (faults.hang or faults.delay or faults.queue):
            return await self.inner.produce(record)
        future = asyncio.get_running_loop().create_future()
        due = None if faults.hang else _now() + faults.delay
        faults.queue.append(_Held(record, future, due))
        if faults.wakeup is None:
            faults.wakeup = asyncio.Event()
        faults.wakeup.set()
        if faults.task is None or faults.task.done():
            faults.task = asyncio.create_task(self._deliver_held(faults))
        return future

    async def produce_batch(self, records: Sequence[Record]) -> asyncio.Future[None]:
        """Queue ``records`` in order, each with the faults of its topic.

        One future of them all (see :meth:`Transport.produce_batch`): it fails with the
        first record's failure, and waits for held records.
        """
        futures = [await self.produce(record) for record in records]
        batch: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not futures:
            batch.set_result(None)
            return batch
        remaining = len(futures)

        def settle(done: asyncio.Future[Record]) -> None:
            nonlocal remaining
            remaining -= 1
            if batch.done():
                return
            if done.cancelled():
                batch.set_exception(DeliveryError("a send of the batch was cancelled"))
            elif done.exception() is not None:
                batch.set_exception(done.exception())  # type: ignore[arg-type]
            elif not remaining:
                batch.set_result(None)

        for future in futures:
            future.add_done_callback(settle)
        return batch

    async def send(self, record: Record) -> Record:
        """Deliver ``record`` and return it as written (see :meth:`Transport.send`)."""
        return await (await self.produce(record))

    async def flush(self, timeout: float | None = None) -> None:
        """Wait for held and delayed records to be written, then flush the wrapped transport.

        A hung topic is waited for too: release it first, or pass a ``timeout``.
        """
        waiting = [h.future for f in self._topics.values() for h in f.queue]
        if waiting:
            await asyncio.wait(waiting, timeout=timeout)
        await self.inner.flush(timeout)

    async def subscribe(
        self,
        topics: Sequence[str],
        *,
        group_id: str,
        listener: RebalanceListener | None = None,
    ) -> FaultySubscription:
        """Join ``group_id`` through the wrapped transport; commits may fail on demand."""
        inner = await self.inner.subscribe(topics, group_id=group_id, listener=listener)
        return FaultySubscription(self, inner)

    # Internals -------------------------------------------------------------------------------

    def _faults(self, topic: str) -> _TopicFaults:
        if not topic:
            msg = "a topic name cannot be empty"
            raise ValueError(msg)
        faults = self._topics.get(topic)
        if faults is None:
            faults = self._topics[topic] = _TopicFaults()
        return faults

    async def _deliver_held(self, faults: _TopicFaults) -> None:
        """Write the held records of one topic in order, each when it is due."""
        assert faults.wakeup is not None
        queue = faults.queue
        while queue:
            held = queue[0]
            if held.due is None:
                faults.wakeup.clear()
                await faults.wakeup.wait()
                continue
            wait = held.due - _now()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            queue.popleft()
            try:
                written = await self.inner.produce(held.record)
            except TransportError as exc:
                _settle(held.future, exc)
                continue
            written.add_done_callback(functools.partial(_copy, target=held.future))

    def _commit_fails(self) -> bool:
        if self._commit_failures > 0:
            self._commit_failures -= 1
            return True
        return False


class FaultySubscription:
    """A :class:`~flowintegrations.transport.Subscription` whose commits fail on demand.

    Made by :meth:`FaultyTransport.subscribe`; everything but :meth:`commit` goes straight
    to the wrapped subscription.
    """

    def __init__(self, transport: FaultyTransport, inner: Subscription) -> None:
        self._transport = transport
        self.inner = inner

    def __repr__(self) -> str:
        return f"FaultySubscription({self.inner!r})"

    @property
    def group_id(self) -> str:
        """The consumer group this member belongs to."""
        return self.inner.group_id

    def assignment(self) -> frozenset[TopicPartition]:
        """See :meth:`Subscription.assignment`."""
        return self.inner.assignment()

    async def getmany(self, *, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        """See :meth:`Subscription.getmany`."""
        return await self.inner.getmany(max_records=max_records, timeout=timeout)

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit ``offsets``, unless a failure is due: then raise ``TransportError``.

        Every call is recorded in :attr:`FaultyTransport.commits`.
        """
        offsets = dict(offsets)
        log = self._transport._commits
        if self._transport._commit_fails():
            log.append(CommitAttempt(group_id=self.group_id, offsets=offsets, failed=True))
            msg = f"commit of group {self.group_id!r} failed (injected fault)"
            raise TransportError(msg)
        try:
            await self.inner.commit(offsets)
        except TransportError as exc:
            attempt = CommitAttempt(
                group_id=self.group_id, offsets=offsets, failed=True, error=str(exc)
            )
            log.append(attempt)
            raise
        log.append(CommitAttempt(group_id=self.group_id, offsets=offsets))

    def pause(self, partitions: Iterable[TopicPartition]) -> None:
        """See :meth:`Subscription.pause`."""
        self.inner.pause(partitions)

    def resume(self, partitions: Iterable[TopicPartition]) -> None:
        """See :meth:`Subscription.resume`."""
        self.inner.resume(partitions)

    async def close(self) -> None:
        """See :meth:`Subscription.close`."""
        await self.inner.close()


def _now() -> float:
    # The clock asyncio's loops keep time by, readable from outside the loop too.
    return time.monotonic()


def _settle(future: asyncio.Future[Record], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


def _copy(source: asyncio.Future[Record], *, target: asyncio.Future[Record]) -> None:
    if target.done():
        return
    if source.cancelled():
        target.set_exception(DeliveryError("the delivery was cancelled"))
    elif (error := source.exception()) is not None:
        target.set_exception(error)
    else:
        target.set_result(source.result())
