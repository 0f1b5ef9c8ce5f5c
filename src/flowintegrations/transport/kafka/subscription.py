"""One member of a Kafka consumer group: :class:`KafkaSubscription`.

A subscription owns a librdkafka consumer (auto-commit off, offsets committed explicitly,
``auto.offset.reset=earliest`` unless configured otherwise) and a thread of its own on
which every blocking librdkafka call runs (joining, fetching, committing, leaving), so the
event loop never blocks. Fetched messages become :class:`~flowintegrations.transport.Record`
values on the loop, after the fetch (kafka/fetched.py): built on the consumer thread, they
would compete for the GIL with the loop and the handler threads while those work (measured
on the App's bench: the consumer thread's CPU a record went from ~1.8 µs to ~4 µs).
Rebalance callbacks run on the consumer thread inside ``consume()``; they are handed to the
async :class:`~flowintegrations.transport.RebalanceListener` on the loop and waited for.
While the listener runs, :meth:`~KafkaSubscription.commit` is executed by the waiting
consumer thread itself, so a listener may commit the partitions being revoked without
deadlock. A commit, and leaving the group, are waited for at most the transport's
``commit_timeout``: librdkafka may never return from them (kafka/clientthread.py).
"""

from __future__ import annotations

import asyncio
import queue
import time
from collections.abc import Coroutine, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from flowintegrations.errors import TransportClosedError, TransportError
from flowintegrations.transport.base import RebalanceListener, Record, TopicPartition
from flowintegrations.transport.kafka import fetched
from flowintegrations.transport.kafka.clientthread import ClientThread
from flowintegrations.transport.kafka.config import log
from flowintegrations.transport.kafka.errors import (
    KafkaClientError,
    is_backend_error,
    is_fatal,
    translate_error,
    translating,
)
from flowintegrations.transport.kafka.poison import PoisonLedger
from flowintegrations.transport.waiting import done_within, forget

if TYPE_CHECKING:
    from flowintegrations.transport.kafka.host import TransportHost

__all__ = ["KafkaSubscription"]

T = TypeVar("T")

_LISTENER_DONE = object()


class KafkaSubscription:
    """One consumer in a Kafka consumer group; see :class:`KafkaTransport`.

    Implements :class:`~flowintegrations.transport.Subscription`. Every blocking call runs
    on the subscription's own thread. Closing does not call the listener (the owner, who
    closes, knows the partitions go) and does not commit.
    """

    def __init__(
        self,
        transport: TransportHost,
        conf: dict[str, Any],
        topics: list[str],
        listener: RebalanceListener | None,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._transport = transport
        self._conf = conf
        self._group_id: str = conf["group.id"]
        self.topics = tuple(topics)
        self._listener = listener
        self._loop = loop
        self._redact = transport.redactor
        self._consumer: Any = None
        self._thread = ClientThread("flowintegrations-kafka-consumer")
        self._assignment: set[TopicPartition] = set()
        # How often each partition was revoked: a commit asked for before a revocation must
        # not be carried out after it (the new owner may have moved on).
        self._revocations: dict[TopicPartition, int] = {}
        self._closed = False
        self._closing = False
        self._revoked_in_fetch = False
        # Per partition, the position after the last batch, and the partitions to ask
        # about (None: rebuild from the assignment). A rebalance forgets them; rebalance
        # callbacks run inside consume(), never while a batch is built.
        self._positions: dict[tuple[str, int], int] = {}
        self._asked: list[Any] | None = None
        self._in_listener = False
        self._requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._ctp: Any = None
        self._poison = PoisonLedger(transport.state_dir, self._group_id)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"KafkaSubscription(group_id={self._group_id!r}, topics={list(self.topics)!r}, "
            f"assigned={len(self._assignment)}, {state})"
        )

    @property
    def group_id(self) -> str:
        """The consumer group this member belongs to."""
        return self._group_id

    def assignment(self) -> frozenset[TopicPartition]:
        """The partitions currently assigned to this member."""
        return frozenset(self._assignment)

    async def start(self) -> None:
        """Create the consumer and subscribe (the transport calls this once, on subscribe)."""
        from confluent_kafka import Consumer  # noqa: PLC0415
        from confluent_kafka import TopicPartition as KafkaTopicPartition  # noqa: PLC0415

        self._ctp = KafkaTopicPartition

        def create() -> Any:
            consumer = Consumer(self._conf)
            consumer.subscribe(
                list(self.topics),
                on_assign=self._on_assign,
                on_revoke=self._on_revoke,
                on_lost=self._on_lost,
            )
            return consumer

        try:
            with translating(f"joining group {self._group_id!r}", redact=self._redact):
                self._consumer = await self._loop.run_in_executor(self._thread, create)
        except BaseException:
            self._thread.shutdown(wait=False)
            raise

    def transaction_offsets(self, offsets: Mapping[TopicPartition, int]) -> tuple[list[Any], Any]:
        """``offsets`` as a transaction sends them: (librdkafka partitions, group metadata)."""
        ctp = self._ctp
        parts = [ctp(tp.topic, tp.partition, offset) for tp, offset in offsets.items()]
        return parts, self._consumer.consumer_group_metadata()

    def _check_open(self) -> None:
        if self._closed:
            msg = f"the subscription of group {self._group_id!r} is closed"
            raise TransportClosedError(msg)
        broken = self._transport.broken
        if broken is not None:
            raise broken

    # On the consumer thread --------------------------------------------------------------

    def _to_tps(self, partitions: list[Any]) -> frozenset[TopicPartition]:
        return frozenset(TopicPartition(p.topic, p.partition) for p in partitions)

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        tps = self._to_tps(partitions)
        self._asked = None
        self._assignment |= tps
        if self._listener is not None and tps and not self._closing:
            self._run_listener(self._listener.on_partitions_assigned(tps))

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        tps = self._to_tps(partitions)
        self._revoked_in_fetch = True
        self._asked = None
        try:
            if self._listener is not None and tps and not self._closing:
                self._run_listener(self._listener.on_partitions_revoked(tps))
        finally:
            self._assignment -= tps
            for tp in tps:
                self._revocations[tp] = self._revocations.get(tp, 0) + 1
            self._unpause(consumer, partitions)

    def _unpause(self, consumer: Any, partitions: list[Any]) -> None:
        """Clear the pause of revoked ``partitions``: a pause ends with its assignment.

        librdkafka keeps a partition paused by the application across an unassign, so a
        partition paused when revoked and later assigned to this member again would never
        be fetched: its new holder (the app) knows nothing of that pause.
        """
        if not partitions or self._closing:
            return
        try:
            with translating("resuming revoked partitions", redact=self._redact):
                consumer.resume(partitions)
        except TransportError as exc:  # a failed resume must not break the rebalance
            log.warning("%s", exc)

    def _on_lost(self, consumer: Any, partitions: list[Any]) -> None:
        self._on_revoke(consumer, partitions)

    def _run_listener(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run a listener coroutine on the loop; serve its commits here until it is done."""
        requests = self._requests
        self._in_listener = True
        try:
            future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)

            def listener_done() -> None:
                # Runs on the loop, where commit() reads the flag and queues in one step: a
                # commit asked for after this takes the executor path, and every one queued
                # before it is ahead of the marker, so none is left in the queue unserved.
                self._in_listener = False
                requests.put(_LISTENER_DONE)

            def on_done(_: object) -> None:
                # Usually called on the loop already; when the coroutine ended before the
                # callback was added, on this thread: then the loop is asked to do it.
                try:
                    on_loop = asyncio.get_running_loop() is self._loop
                except RuntimeError:
                    on_loop = False
                if on_loop:
                    listener_done()
                    return
                try:
                    self._loop.call_soon_threadsafe(listener_done)
                except RuntimeError:  # the loop is closed: nobody can commit any more
                    listener_done()

            future.add_done_callback(on_done)
            while True:
                try:
                    item = requests.get(timeout=0.5)
                except queue.Empty:
                    if future.done() and not self._loop.is_running():
                        break  # the loop is gone before it could say so: nothing can come
                    continue
                if item is _LISTENER_DONE:
                    break
                offsets, reply = item
                try:
                    self._commit_now(offsets)
                except TransportError as exc:
                    self._loop.call_soon_threadsafe(_settle_reply, reply, exc)
                else:
                    self._loop.call_soon_threadsafe(_settle_reply, reply, None)
        finally:
            self._in_listener = False
        future.result()

    def _fetch(self, max_records: int, timeout: float) -> tuple[list[Any], bool]:
        """Up to ``max_records`` librdkafka messages, waiting up to ``timeout`` s for one.

        Also whether partitions were revoked meanwhile (their records are not ours).
        """
        consumer = self._consumer
        self._revoked_in_fetch = False
        messages = consumer.consume(max_records, 0)
        if not messages and timeout > 0:
            deadline = time.monotonic() + timeout
            while not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                # One record ends the wait; then take whatever else is already fetched.
                messages = consumer.consume(1, min(remaining, 0.1))
                if messages:
                    if max_records > 1:
                        messages += consumer.consume(max_records - 1, 0)
                    break
        return messages, self._revoked_in_fetch

    def _build(self, messages: list[Any], revoked_in_fetch: bool) -> list[Record]:
        """On the loop: the records of the fetched ``messages`` that are still ours."""
        if not messages:
            return []
        # Reading a record whose header name is not UTF-8 can crash the process: name the
        # records being read first, so that the next process knows (kafka/poison.py).
        poison = self._poison
        spans = self._spans(messages)
        poison.mark(spans)
        if poison or poison.suspects:
            records = fetched.records_carefully(messages, spans, poison, self._message_error)
        else:
            records = fetched.records(messages, poison, self._message_error)
        if revoked_in_fetch:
            # Records of partitions revoked during this fetch belong to their new owner.
            held = self._assignment
            records = [r for r in records if TopicPartition(r.topic, r.partition or 0) in held]
        return records

    def _spans(self, messages: list[Any]) -> dict[tuple[str, int], tuple[int, int]]:
        """Per partition, the first and last offset the fetched ``messages`` may hold.

        From the consumer's positions: the last batch left a partition at its position
        then, this one at its position now (one call, not four a message). The first batch
        after a rebalance, or any surprise (a position that went back), scans the messages.
        """
        asked = self._asked
        if asked is None:
            ctp = self._ctp
            asked = self._asked = [ctp(tp.topic, tp.partition) for tp in self._assignment]
            self._positions = {}
        try:
            now = {(p.topic, p.partition): p.offset for p in self._consumer.position(asked)}
        except Exception:  # noqa: BLE001 (the scan below needs nothing from librdkafka)
            self._asked = None
            return fetched.scan_spans(messages)
        before = self._positions
        self._positions = now
        spans: dict[tuple[str, int], tuple[int, int]] = {}
        for key, end in now.items():
            if end < 0:
                continue  # nothing read from this partition yet
            start = before.get(key)
            if start is None or start < 0 or end < start:
                return fetched.scan_spans(messages)
            if end > start:
                spans[key] = (start, end - 1)
        # Records fetched and no position moved cannot be: never read them unnamed.
        return spans or fetched.scan_spans(messages)

    def _message_error(self, message: Any) -> None:
        error = message.error()
        exc = translate_error(
            KafkaClientError(error), action=f"consuming {message.topic()!r}", redact=self._redact
        )
        if is_fatal(error):
            raise exc
        log.warning("%s", exc)

    def _commit_now(self, offsets: Mapping[TopicPartition, int]) -> None:
        ctp = self._ctp
        parts = [ctp(tp.topic, tp.partition, offset) for tp, offset in offsets.items()]
        with translating(f"committing for group {self._group_id!r}", redact=self._redact):
            result = self._consumer.commit(offsets=parts, asynchronous=False)
        failed = [p for p in result or () if p.error is not None]
        if failed:
            details = ", ".join(
                f"{p.topic}[{p.partition}]: {self._redact(str(p.error.str()))}" for p in failed
            )
            msg = f"committing for group {self._group_id!r} failed: {details}"
            raise TransportError(msg)

    # On the loop -------------------------------------------------------------------------

    async def getmany(self, *, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        """Return up to ``max_records`` records, waiting up to ``timeout`` s for the first.

        Rebalance callbacks (and the listener) run inside this call.
        """
        self._check_open()
        if max_records < 1:
            msg = f"max_records must be at least 1, not {max_records}"
            raise ValueError(msg)
        # A listener's own exception, raised from inside consume(), passes unchanged.
        with translating(
            f"consuming for group {self._group_id!r}", redact=self._redact, only=is_backend_error
        ):
            messages, revoked = await self._loop.run_in_executor(
                self._thread, self._fetch, max_records, timeout
            )
            records = self._build(messages, revoked)
        self._check_open()
        return records

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit ``offsets`` (next offset to read, per partition); wait for the coordinator.

        Commits run on the consumer thread, in order with fetches and rebalances. The
        offsets of a partition that is revoked before the commit runs are dropped, even if
        the partition came back since: they are its new owner's to commit.
        """
        self._check_open()
        if not offsets:
            return
        offsets = dict(offsets)
        if self._in_listener:
            # The consumer thread is waiting for the listener: it does the commit itself.
            reply: asyncio.Future[None] = self._loop.create_future()
            self._requests.put((offsets, reply))
            await self._bounded(reply, f"committing for group {self._group_id!r}")
            return
        asked = {tp: self._revocations.get(tp, 0) for tp in offsets}
        await self._bounded(
            self._loop.run_in_executor(self._thread, self._commit_if_held, offsets, asked),
            f"committing for group {self._group_id!r}",
        )

    async def _bounded(self, future: asyncio.Future[T], action: str) -> T:
        """``future``'s result, waited for up to the transport's ``commit_timeout``.

        A librdkafka call that does not return by then (clientthread.py says why it can
        happen) raises ``TransportError``, whose message starts with ``action`` (what the
        call does, naming the group); the call itself goes on on the consumer thread,
        and whatever comes after it there waits for it. The caller's cancellation always
        goes through (waiting.py).
        """
        timeout = self._transport.commit_timeout
        try:
            done = await done_within(future, timeout)
        except asyncio.CancelledError:
            forget(future)
            raise
        if done:
            return future.result()
        forget(future)
        msg = f"{action}: librdkafka did not return within {timeout} s (commit_timeout)"
        raise TransportError(msg)

    def _commit_if_held(
        self, offsets: Mapping[TopicPartition, int], asked: Mapping[TopicPartition, int]
    ) -> None:
        """On the consumer thread: commit the offsets of partitions held since ``asked``."""
        held = {
            tp: offset
            for tp, offset in offsets.items()
            if tp in self._assignment and self._revocations.get(tp, 0) == asked[tp]
        }
        if held:
            self._commit_now(held)

    def pause(self, partitions: Iterable[TopicPartition]) -> None:
        """Stop fetching ``partitions`` until :meth:`resume` or until they are revoked."""
        self._check_open()
        self._pause_resume("pause", partitions)

    def resume(self, partitions: Iterable[TopicPartition]) -> None:
        """Fetch ``partitions`` again, from where reading left off."""
        self._check_open()
        self._pause_resume("resume", partitions)

    def _pause_resume(self, action: str, partitions: Iterable[TopicPartition]) -> None:
        parts = [self._ctp(tp.topic, tp.partition) for tp in partitions]
        if not parts:
            return
        with translating(f"{action} partitions", redact=self._redact):
            getattr(self._consumer, action)(parts)

    async def close(self) -> None:
        """Leave the group promptly, without committing or calling the listener. Idempotent."""
        if self._closed:
            return
        self._closed = self._closing = True
        self._transport.forget(self)
        consumer = self._consumer
        try:
            with translating(f"leaving group {self._group_id!r}", redact=self._redact):
                if consumer is not None:
                    closing = self._loop.run_in_executor(self._thread, consumer.close)
                    try:
                        await self._bounded(closing, f"leaving group {self._group_id!r}")
                    except TransportError as exc:  # _bounded gave up: stuck in librdkafka
                        log.warning("%s; the consumer is left behind", exc)
        finally:
            self._thread.shutdown(wait=False)
            self._poison.close()


def _settle_reply(reply: asyncio.Future[None], error: BaseException | None) -> None:
    if reply.done():
        return
    if error is None:
        reply.set_result(None)
    else:
        reply.set_exception(error)
