"""The delivery loop: feeds the handling pipeline from a Subscription, at least once.

One request's way through it::

    Subscription.getmany -> Record -> partition queue -> route by topic ->
    Pipeline.handle_run (checks, handler, retries: a Slice of outcomes at a time) ->
    Outbound: Record to the in topic (request headers copied, key = processInstanceUuid)
    or to the dead-letter topic -> broker ack -> offset done -> commit (batched)

The loop is an adapter: it fetches, keeps one worker per partition and commits; the
pipeline owns the handling (:mod:`~flowintegrations.runtime.pipeline`), and
:mod:`~flowintegrations.runtime.outbound` turns outcomes into records.

Replies are kept in flight without serialising the loop: for each partition the committed
offset only moves past records that are fully handled (what they sent acknowledged). The
records of one partition are handled in order by one worker task; partitions are handled
concurrently. The records fetched and not done are bounded by a :class:`Backpressure`
policy: past it, partitions pause.

No record can stop its partition: whatever goes wrong while handling it, the pipeline's
own bugs included, ends in a reply or a dead letter (stage ``internal``), and the worker
goes on with the next record.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from flowintegrations.errors import FlowIntegrationsError, TransportError
from flowintegrations.runtime.outbound import Outbound, Producer, Redeliver, TopicRoute, where
from flowintegrations.runtime.outcome import DeadLettered, Failure, Stage
from flowintegrations.runtime.partitions import Backpressure, PartitionState
from flowintegrations.runtime.pipeline import Pipeline, log_extra
from flowintegrations.runtime.transactional import TRANSACTION_SPAN
from flowintegrations.transport import Record, Subscription, TopicPartition, Transport
from flowintegrations.transport.waiting import cancel_and_wait, forget

if TYPE_CHECKING:
    from flowintegrations.runtime.telemetry import Instrumentation, LoopTelemetry
    from flowintegrations.runtime.transactional import Transactions

__all__ = ["DeliveryLoop", "TopicRoute"]

log = logging.getLogger("flowintegrations.app")

PAUSED_POLL = 0.005
"""Seconds a paused fetch loop waits before it looks again whether it may resume."""

IDLE_POLL = 0.2
"""Seconds a fetch waits for records when nothing is paused."""


class DeliveryLoop:
    """Reads a subscription, hands records to the pipeline, sends outcomes, commits.

    It is the subscription's :class:`~flowintegrations.transport.RebalanceListener`.
    ``on_fatal`` is called once with the error when the loop cannot go on (the fetch
    failed, or a send failed for good). ``telemetry`` (off when ``None``) is told of every
    request, send and commit; ``group_id`` names the consumer group in what it reports.
    With ``transactions`` (exactly once), each batch
    of a partition is handled in a transaction that also commits its offsets
    (:mod:`flowintegrations.runtime.transactional`); without, nothing of it costs a thing.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        transport: Transport,
        routes: Mapping[str, TopicRoute],
        *,
        dead_letter_suffix: str,
        max_in_flight: int,
        max_batch: int,
        commit_interval: float,
        shutdown_timeout: float,
        on_fatal: Callable[[BaseException], None],
        telemetry: Instrumentation | None = None,
        group_id: str = "",
        transactions: Transactions | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.transport = transport
        self.outbound = Outbound(dead_letter_suffix)
        self.transactions = transactions
        self.routes = dict(routes)
        self.dead_letter_suffix = dead_letter_suffix
        self.max_batch = max_batch
        self.commit_interval = commit_interval
        self.shutdown_timeout = shutdown_timeout
        self.backpressure = Backpressure(max_in_flight, max_batch)
        self._report_fatal = on_fatal
        self._failed = False
        self._partitions: dict[TopicPartition, PartitionState] = {}
        self._subscription: Subscription | None = None
        self._fetcher: asyncio.Task[None] | None = None
        self._committer: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._in_flight = 0
        self._paused: set[TopicPartition] = set()
        self._stopping = False
        self._revoking = asyncio.Lock()
        self._telemetry: LoopTelemetry | None = (
            None if telemetry is None else telemetry.delivery(self, group_id)
        )

    # Lifecycle ------------------------------------------------------------------------------

    def is_stopping(self) -> bool:
        """Whether :meth:`drain` began (a failing request is then left for redelivery)."""
        return self._stopping

    @property
    def in_flight(self) -> int:
        """Records fetched and not yet done (sends acknowledged)."""
        return self._in_flight

    @property
    def paused_partitions(self) -> frozenset[TopicPartition]:
        """The partitions paused by backpressure."""
        return frozenset(self._paused)

    @property
    def subscription(self) -> Subscription | None:
        """The subscription being read (None before :meth:`run`)."""
        return self._subscription

    def run(self, subscription: Subscription) -> None:
        """Start fetching from ``subscription`` (whose listener this loop is) and committing."""
        self._subscription = subscription
        self._fetcher = asyncio.create_task(self._fetch_loop(), name="flowintegrations-fetch")
        self._watcher = asyncio.create_task(self._watch_sends(), name="flowintegrations-watch")
        if self.transactions is None:  # in transactions, offsets are committed with them
            self._committer = asyncio.create_task(
                self._commit_loop(), name="flowintegrations-commit"
            )

    async def drain(self) -> None:
        """Stop fetching, finish what was fetched (within ``shutdown_timeout``), commit, close.

        Records not finished in time are not committed: they will be delivered again.
        """
        self._stopping = True
        async with self._revoking:  # a revocation under way finishes before fetching stops
            if self._fetcher is not None:
                await cancel_and_wait(self._fetcher)
        parts = list(self._partitions.values())
        for part in parts:
            part.wakeup.set()  # an idle worker sees that the loop is stopping, and returns
        await self._finish_in_progress(parts)
        for task in (self._committer, self._watcher):
            if task is not None:
                await cancel_and_wait(task)
        subscription = self._subscription
        if subscription is not None:
            if not self._failed:
                with contextlib.suppress(FlowIntegrationsError):
                    await self._commit(self._partitions.values())
            if self.transactions is not None:
                await self.transactions.revoked()
            await subscription.close()
        self._partitions.clear()
        self._in_flight = 0
        if self._telemetry is not None:
            self._telemetry.close()

    def is_done(self, tp: TopicPartition, offset: int) -> bool:
        """Whether the record at ``offset`` of ``tp`` is fully handled (sends acknowledged)."""
        part = self._partitions.get(tp)
        if part is None:
            return False
        self._advance(part)
        return part.done_upto is not None and part.done_upto > offset

    def _on_fatal(self, error: BaseException) -> None:
        """The loop cannot go on: say so to the owner; :meth:`drain` then stops fast."""
        self._failed = True
        self._report_fatal(error)

    # Rebalance listener ---------------------------------------------------------------------

    async def on_partitions_assigned(self, partitions: frozenset[TopicPartition]) -> None:
        """Start handling ``partitions`` (called by the subscription)."""
        for tp in partitions:
            if tp not in self._partitions:
                self._partitions[tp] = PartitionState(tp)
        if self.transactions is not None and self._subscription is not None:
            await self.transactions.assigned(self._subscription)

    async def on_partitions_revoked(self, partitions: frozenset[TopicPartition]) -> None:
        """Finish the records of ``partitions`` in progress, commit them, forget the rest.

        A record being handled is finished and its sends awaited (within
        ``shutdown_timeout``) before the commit, so that the new owner does not handle it
        again; records not started yet are left to the new owner.
        """
        async with self._revoking:
            revoked = [self._partitions[tp] for tp in partitions if tp in self._partitions]
            for part in revoked:
                part.revoked = True
                part.wakeup.set()
            # A revocation ends the transport's pause of a partition: forget ours too.
            self._paused -= partitions
            await self._finish_in_progress(revoked)
            if not self._failed:
                with contextlib.suppress(FlowIntegrationsError):
                    await self._commit(revoked)
            if self.transactions is not None:
                await self.transactions.revoked()
            for part in revoked:
                self._in_flight -= part.undone()
                del self._partitions[part.tp]
                log.info(
                    "partition %s[%d] revoked",
                    part.tp.topic,
                    part.tp.partition,
                    extra={
                        "event": "revoke",
                        "topic": part.tp.topic,
                        "partition": part.tp.partition,
                    },
                )

    async def _finish_in_progress(self, parts: list[PartitionState]) -> None:
        """Let the workers of ``parts`` finish their work and its sends.

        Workers of revoked partitions stop after their current record, and on a stop after
        what they fetched; they and the unacknowledged sends are waited for within
        ``shutdown_timeout``, late workers cancelled.
        """
        if self._failed:  # stop fast: nothing more can be sent; unfinished work is redelivered
            for part in parts:
                if part.task is not None:
                    part.task.cancel()
                for completion in part.completions():  # their failures are known already
                    forget(completion)
            return
        deadline = time.monotonic() + self.shutdown_timeout
        workers = [p.task for p in parts if p.task is not None and not p.task.done()]
        if workers:
            _, unfinished = await asyncio.wait(workers, timeout=self.shutdown_timeout)
            for task in unfinished:
                task.cancel()
        completions = [c for p in parts for c in p.completions()]
        if completions:
            await asyncio.wait(completions, timeout=max(0.0, deadline - time.monotonic()))

    # Fetching -------------------------------------------------------------------------------

    async def _fetch_loop(self) -> None:
        subscription = self._subscription
        assert subscription is not None
        try:
            while True:
                if self._apply_backpressure(subscription):
                    await asyncio.sleep(PAUSED_POLL)  # over the budget: no fetch for now
                    continue
                # Paused, the wait is short: it is how soon the loop sees the room to resume.
                timeout = PAUSED_POLL if self._paused else IDLE_POLL
                records = await subscription.getmany(max_records=self.max_batch, timeout=timeout)
                if records:
                    self._enqueue(records)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("the fetch loop failed; stopping", extra={"event": "fatal"})
            self._on_fatal(exc)

    def _enqueue(self, records: list[Record]) -> None:
        self._in_flight += len(records)
        # A batch holds runs of records of one partition: look each partition up once per
        # run, and wake its worker once per batch.
        touched: set[PartitionState] = set()
        topic: str | None = None
        partition: int | None = None
        part: PartitionState | None = None
        for record in records:
            if part is None or record.partition != partition or record.topic != topic:
                topic, partition = record.topic, record.partition
                tp = TopicPartition(topic, partition or 0)
                part = self._partitions.get(tp)
                if part is None:  # assigned without a callback (transport quirk)
                    part = self._partitions[tp] = PartitionState(tp)
                touched.add(part)
            part.queue.append(record)
            part.held += 1
        for part in touched:
            if part.task is None or part.task.done():
                part.task = asyncio.create_task(self._worker(part))
            else:
                part.wakeup.set()

    def _apply_backpressure(self, subscription: Subscription) -> bool:
        """Pause what holds too much, resume what has room again (see :class:`Backpressure`).

        True when the loop should not fetch for now, without pausing anything (see
        :meth:`Backpressure.holds_off`).
        """
        partitions = self._partitions
        policy = self.backpressure
        if self._paused or policy.holding or self._in_flight >= policy.max_in_flight:
            # Done records only leave the count when their partition advances: do it now,
            # not at the next commit, or the loop idles until then.
            for part in list(partitions.values()):
                self._advance(part)
        assignment = subscription.assignment()
        wanted = policy.paused(
            {tp: part.held for tp, part in partitions.items()},
            self._in_flight,
            assignment,
            self._paused,
        )
        now_paused = self._paused & assignment
        if policy.holds_off(wanted, assignment, now_paused, time.monotonic()):
            return True
        if wanted - now_paused:
            subscription.pause(wanted - now_paused)
        if now_paused - wanted:
            subscription.resume(now_paused - wanted)
        self._paused = wanted
        return False

    # Handling -------------------------------------------------------------------------------

    async def _worker(self, part: PartitionState) -> None:
        queue = part.queue
        while not part.revoked:
            if not queue:
                if self._stopping:
                    return
                part.wakeup.clear()
                await part.wakeup.wait()
                continue
            topic_route = self.routes.get(queue[0].topic)
            if topic_route is None:  # not ours (cannot happen with a well-behaved transport)
                part.skip()
                continue
            # The records stay queued until handled, so a revocation counts them right.
            batch = list(itertools.islice(queue, self.max_batch))
            try:
                await self._handle(part, topic_route, batch)
            except asyncio.CancelledError:
                raise
            except Redeliver:
                return  # the record stays queued: never handled, so never committed
            except TransportError as exc:
                log.exception("a send failed; stopping", extra={"event": "fatal"})
                self._on_fatal(exc)
                return
            except Exception as exc:  # noqa: BLE001 - our own bug must not stop the partition
                if not await self._internal_failure(part, topic_route, exc):
                    return

    async def _internal_failure(
        self, part: PartitionState, topic_route: TopicRoute, error: Exception
    ) -> bool:
        """Dead-letter the record in progress at stage ``internal``; False if even that fails."""
        if not part.queue or part.revoked:
            return True
        record = part.queue[0]
        log.exception(
            "internal error handling %s",
            where(record),
            extra=log_extra(topic_route.route, record, {}, "internal"),
        )
        failure = Failure(stage=Stage.INTERNAL, error=error, attempts=0)
        try:
            outcome = DeadLettered(failure=failure)
            completion = await self.outbound.send(
                topic_route, record, outcome, None, producer=self.transport
            )
        except Exception as exc:
            log.exception("cannot dead-letter %s; stopping", where(record))
            self._on_fatal(exc)
            return False
        part.handled(completion)
        return True

    def mark_committed(self, part: PartitionState) -> None:
        """What ``part`` has done was committed (in a transaction, with its sends)."""
        self._advance(part)
        part.committed = part.done_upto

    async def _handle(
        self, part: PartitionState, topic_route: TopicRoute, batch: list[Record]
    ) -> None:
        """Handle ``batch`` (the head of ``part``'s queue); exactly once: in a transaction.

        A transaction goes on taking the next batches of the partition, while queued, for
        ``TRANSACTION_SPAN`` seconds: fewer, larger transactions cost less.
        """
        transactions = self.transactions
        if transactions is None:
            await self._handle_batch(part, topic_route, batch, self.transport)
            return
        async with transactions.batch(part) as producer:
            await self._handle_batch(part, topic_route, batch, producer)
            clock = asyncio.get_running_loop()
            span = clock.time() + TRANSACTION_SPAN
            while part.queue and not part.revoked and not self._stopping:
                if clock.time() > span or part.queue[0].topic != batch[0].topic:
                    break
                more = list(itertools.islice(part.queue, self.max_batch))
                await self._handle_batch(part, topic_route, more, producer)
        self.mark_committed(part)

    async def _handle_batch(
        self,
        part: PartitionState,
        topic_route: TopicRoute,
        batch: list[Record],
        producer: Producer,
    ) -> None:
        """Hand ``batch`` to the pipeline as one run; send each slice's outcomes as it comes.

        A revocation ends the run after the slice in hand, whose requests were handled:
        their sends go out, so that the partition's new owner does not handle them again.
        """
        outbound = self.outbound
        slices = self.pipeline.handle_run(topic_route.route, batch, telemetry=self._telemetry)
        async with contextlib.aclosing(slices):
            async for piece in slices:
                if piece.outcome is None:
                    completion = await outbound.replies(topic_route, piece, producer)
                    part.handled(completion, len(piece.sources))
                else:
                    part.handled(await outbound.outcome(topic_route, piece, producer))
                if part.revoked:
                    return

    # Commits --------------------------------------------------------------------------------

    async def _commit_loop(self) -> None:
        # While the broker is away every commit fails: say so once, then when it works again.
        failures = 0
        while True:
            await asyncio.sleep(self.commit_interval)
            try:
                await self._commit(list(self._partitions.values()))
            except FlowIntegrationsError as exc:
                failures += 1
                if failures == 1:
                    log.warning("commit failed; will retry: %s", exc, extra={"event": "commit"})
                continue
            if failures:
                log.info(
                    "commit works again after %d failed attempts",
                    failures,
                    extra={"event": "commit"},
                )
                failures = 0

    async def _watch_sends(self) -> None:
        """Notice a failed send within ``commit_interval``, not at the next commit.

        A commit may wait long for a coordinator that is away; a send that failed for good
        (timed out) must stop the loop without waiting for it.
        """
        while not self._failed:
            await asyncio.sleep(self.commit_interval)
            for part in list(self._partitions.values()):
                self._advance(part)

    def _advance(self, part: PartitionState) -> None:
        released, error = part.advance()
        self._in_flight -= released
        if error is not None:
            self._on_fatal(error)

    async def _commit(self, partitions: Iterable[PartitionState]) -> None:
        partitions = list(partitions)
        offsets = {}
        for part in partitions:
            self._advance(part)
            if part.done_upto is not None and part.done_upto != part.committed:
                offsets[part.tp] = part.done_upto
        if offsets and self._subscription is not None:
            started = time.perf_counter()
            await self._subscription.commit(offsets)
            if self._telemetry is not None:
                self._telemetry.committed(time.perf_counter() - started)
            for part in partitions:
                if part.tp in offsets:
                    part.committed = offsets[part.tp]
