"""The produce side of :class:`~flowintegrations.transport.KafkaTransport`.

:class:`KafkaProducer` owns the transport's one librdkafka producer (idempotent,
``acks=all``). :meth:`~KafkaProducer.produce` and :meth:`~KafkaProducer.produce_batch` hand
records to librdkafka and return a future at once; they wait only while librdkafka's queue
is full. No thread is involved: librdkafka's delivery reports are served on the event
loop's own thread, by a non-blocking ``poll(0)`` that a pump task calls every millisecond
while records are in flight (and every 100 ms when idle, for error callbacks and logs), and
that producing calls every 256 records. The reports' callbacks settle the futures right
there.

A producer that librdkafka declares failed for good (a fatal error: after a broker lost
its state, the idempotent producer's id is unknown to it), or that stops making progress
while the cluster answers, is replaced by the transport: :meth:`KafkaProducer.replace`
puts a new client in its place and produces again, on the new one, every record the old
one had not delivered. Their futures never see the failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any

from flowintegrations.errors import DeliveryError
from flowintegrations.transport.base import Record
from flowintegrations.transport.kafka.config import log
from flowintegrations.transport.kafka.errors import (
    KafkaClientError,
    translate_error,
    translating,
)
from flowintegrations.transport.threads import HOLD_OFF, handlers_busy
from flowintegrations.transport.waiting import cancel_and_wait

__all__ = ["KafkaProducer"]

_SERVE_EVERY = 256
"""Serve delivery reports after this many records produced in a row."""

_REPLACED_CODES = frozenset({"_FATAL", "_PURGE_QUEUE", "_PURGE_INFLIGHT"})
"""Delivery errors that mean "the client failed, not the record": produced again."""


def _produce(produce: Any, record: Record, on_delivery: Callable[[Any, Any], None]) -> None:
    """Hand ``record`` to librdkafka's ``produce``; raises ``BufferError`` when it is full.

    Every argument goes by position, in the order of librdkafka's parser (topic, value, key,
    partition, on_delivery, callback, timestamp, headers): keyword arguments cost the parser
    a dict, measured ~0.35 us a record with headers. A timestamp of 0 is "now".
    """
    topic, key, value, headers, partition, _, timestamp = record
    produce(
        topic,
        value,
        key,
        -1 if partition is None else partition,
        on_delivery,
        None,
        timestamp or 0,
        list(headers) if headers else None,
    )


def _code_name(error: Any) -> str:
    try:
        return str(error.name())
    except Exception:  # noqa: BLE001 (not a KafkaError: not a client failure)
        return ""


def _set_if_pending(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class KafkaProducer:
    """The records in flight on one librdkafka producer, and their delivery reports.

    ``client`` is a started ``confluent_kafka.Producer``; futures are made on ``loop``.
    ``redact`` removes secrets from error text; ``check_running`` raises when the transport
    can no longer be used (it is called while waiting for room in a full queue). A producer
    that is not ``replaceable`` (a transactional one) lets every failure through.
    ``on_failure`` gets the ``KafkaError`` of a failure that librdkafka raises from
    ``poll()`` instead of reporting it (a fatal transaction error: fenced).
    """

    def __init__(
        self,
        client: Any,
        loop: asyncio.AbstractEventLoop,
        *,
        redact: Callable[[str], str],
        check_running: Callable[[], None],
        replaceable: bool = True,
        on_failure: Callable[[Any], None] | None = None,
    ) -> None:
        self._client = client
        self._replaceable = replaceable
        self._on_failure = on_failure
        self._loop = loop
        self._redact = redact
        self._check_running = check_running
        self._pump: asyncio.Task[None] | None = None
        self._pump_wakeup: asyncio.Future[None] | None = None
        self._since_serve = 0
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._progress = time.monotonic()
        self._replacing = False
        self._closing = False
        self._resend_now = False
        self._resend: list[tuple[Record, Callable[[Any, Any], None]]] = []
        self.replaced = 0
        """How many times the client was replaced."""
        self.timed_out = False
        """Whether a record timed out (``message.timeout.ms``): the cluster is out of reach."""

    @property
    def in_flight(self) -> int:
        """How many records are produced but not yet acknowledged (or failed)."""
        return self._in_flight

    def start(self) -> None:
        """Start serving delivery reports."""
        self._pump = self._loop.create_task(
            self._pump_deliveries(), name="flowintegrations-kafka-acks"
        )

    async def close(self, flush_timeout: float) -> None:
        """Wait up to ``flush_timeout`` s for acknowledgements; fail what is still pending.

        Records still unacknowledged then are purged: their futures fail with
        ``DeliveryError``.
        """
        try:
            await self.wait_idle(flush_timeout)
        except DeliveryError as exc:
            log.warning("stopping with unacknowledged records: %s", exc)
        self._closing = True
        held, self._resend = self._resend, []
        for _, on_delivery in held:  # a failed client nobody replaced: they failed
            on_delivery(KafkaClientError("the producer failed and was not replaced"), None)
        pump, self._pump = self._pump, None
        if pump is not None:
            await cancel_and_wait(pump)
        if self._in_flight:
            await asyncio.get_running_loop().run_in_executor(None, self._purge)
            self.serve()

    def _purge(self) -> None:
        # A client that failed for good (fatal, fenced) refuses even this: nothing to do.
        with contextlib.suppress(Exception):
            self._client.purge()
        with contextlib.suppress(Exception):
            self._client.flush(1.0)

    # Delivery reports -------------------------------------------------------------------

    def serve(self) -> None:
        """Serve librdkafka's delivery reports (never blocks): their callbacks settle futures."""
        self._since_serve = 0
        before = self._in_flight
        try:
            self._client.poll(0)
        except Exception as exc:  # noqa: BLE001 - a fatal error raised, not reported
            error = exc.args[0] if exc.args else exc
            if self._on_failure is None:
                log.error("%s", self._redact(str(error)))
            else:
                self._on_failure(error)
        if self._in_flight != before:  # acknowledgements came (not only logs or errors)
            self._progress = time.monotonic()
        if self._resend_now and self._resend:
            self._produce_again()
        if self._in_flight <= 0:
            self._in_flight = 0
            self._idle.set()

    async def _pump_deliveries(self) -> None:
        """Serve delivery reports every millisecond while records are in flight.

        The reports are served on the loop's own thread with a non-blocking ``poll(0)``:
        a thread calling ``poll()`` would take and release the GIL once per report and
        fight the loop for it (measured: about 4x slower). For the same reason they wait
        while sync handlers run on a worker thread (:mod:`~flowintegrations.transport.threads`).
        """
        loop = self._loop
        served = loop.time()
        while True:
            # Not while sync handlers run on a worker thread, for a moment (threads.py).
            if not handlers_busy() or loop.time() - served >= HOLD_OFF:
                self.serve()
                served = loop.time()
            if self._in_flight:
                await asyncio.sleep(0.001)
                continue
            # Idle: still serve error callbacks and logs now and then; wake on a produce.
            wakeup = self._pump_wakeup = loop.create_future()
            timer = loop.call_later(0.1, _set_if_pending, wakeup)
            try:
                await wakeup
            finally:
                timer.cancel()
                self._pump_wakeup = None

    def _add_in_flight(self, count: int) -> None:
        if not self._in_flight:
            self._progress = time.monotonic()  # a stall is counted from the first record
            self._idle.clear()
            wakeup = self._pump_wakeup
            if wakeup is not None and not wakeup.done():
                wakeup.set_result(None)
        self._in_flight += count

    async def _make_room(self) -> None:
        """Make room in librdkafka's full queue: serve reports, give the network a moment."""
        self.serve()
        await asyncio.sleep(0.0005)
        self._check_running()

    def delivery_error(self, topic: str, error: Any) -> DeliveryError:
        """The ``DeliveryError`` for a failed delivery report of a record to ``topic``."""
        exc = translate_error(
            KafkaClientError(error),
            action=f"delivering a record to {topic!r}",
            redact=self._redact,
        )
        if not isinstance(exc, DeliveryError):
            exc = DeliveryError(str(exc))
        exc.__cause__ = KafkaClientError(error)
        if _code_name(error) == "_MSG_TIMED_OUT":
            self.timed_out = True
        return exc

    # Replacing a failed client --------------------------------------------------------------

    def stalled_for(self) -> float:
        """Seconds without any delivery report while records are in flight (0 when idle)."""
        if not self._in_flight:
            return 0.0
        return time.monotonic() - self._progress

    def _held_back(
        self, error: Any, record: Record | None, on_delivery: Callable[[Any, Any], None]
    ) -> bool:
        """Keep a record the old client failed (not the record's fault) to produce it again."""
        if (
            record is None
            or self._closing
            or not self._replaceable
            or (not self._replacing and _code_name(error) not in _REPLACED_CODES)
        ):
            return False
        self._resend.append((record, on_delivery))
        return True

    async def replace(self, client: Any) -> None:
        """Put ``client`` in the place of the current one; produce the undelivered again.

        The old client's queue is purged: its reports of records not delivered are kept and
        the records produced again on ``client`` with their original callbacks, so their
        futures settle as if nothing had happened. A record that was in fact written
        before the old client failed may be written twice (at least once).
        """
        old, self._client = self._client, client
        self._replacing = True
        try:
            with contextlib.suppress(Exception):
                old.purge(True, True, False)  # in queue, in flight, do not block
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                with contextlib.suppress(Exception):
                    old.poll(0)
                if not len(old):
                    break
                await asyncio.sleep(0.01)
        finally:
            self._replacing = False
        self.replaced += 1
        self._progress = time.monotonic()
        self._resend_now = True
        self._produce_again()

    def _produce_again(self) -> None:
        """Produce the held-back records on the current client, in the order they failed."""
        pending, self._resend = self._resend, []
        produce = self._client.produce
        for index, (record, on_delivery) in enumerate(pending):
            try:
                _produce(produce, record, on_delivery)
            except BufferError:  # the rest at the next serve
                self._resend[:0] = pending[index:]
                return
            except Exception as exc:  # noqa: BLE001 - settle it as the delivery's failure
                on_delivery(KafkaClientError(exc), None)

    # Producing ----------------------------------------------------------------------------

    async def produce(self, record: Record) -> asyncio.Future[Record]:
        """Queue ``record``; return a future of the record as written.

        Waits while librdkafka's queue is full. The future fails with ``DeliveryError``.
        """
        future: asyncio.Future[Record] = self._loop.create_future()

        topic = record[0]
        # The bound method, not the object: librdkafka calls it for the report, and a bound
        # method is called at half the cost of an object's __call__ (0.07 against 0.14 us).
        on_delivery = _RecordReport(self, record, future).__call__
        with translating(lambda: f"producing to {topic!r}", redact=self._redact):
            while True:
                try:
                    _produce(self._client.produce, record, on_delivery)
                except BufferError:
                    await self._make_room()
                    continue
                break
        self._add_in_flight(1)
        self._since_serve += 1
        if self._since_serve >= _SERVE_EVERY:
            self.serve()
        return future

    async def produce_batch(self, records: Sequence[Record]) -> asyncio.Future[None]:
        """Queue ``records`` in order; return one future of the acknowledgement of them all.

        The future resolves to ``None`` once every record is acknowledged, or fails with
        the first :class:`~flowintegrations.errors.DeliveryError`. Waits while librdkafka's
        queue is full. If a record cannot be queued, its error is raised; the records
        queued before it are still delivered.
        """
        future: asyncio.Future[None] = self._loop.create_future()
        total = len(records)
        if not total:
            future.set_result(None)
            return future
        report = _BatchReport(self, records, future)
        on_delivery = report.__call__  # as in produce()
        self._add_in_flight(total)
        produce = self._client.produce
        done = 0
        record = records[0]
        try:
            with translating(lambda: f"producing to {record.topic!r}", redact=self._redact):
                for record in records:
                    while True:
                        try:
                            _produce(produce, record, on_delivery)
                        except BufferError:
                            await self._make_room()
                            continue
                        break
                    done += 1
                    if not done % _SERVE_EVERY:
                        self.serve()
        except BaseException:
            # No reports come for the records not queued: count them as reported. The
            # caller gets the exception and never sees the future: cancel it, so that the
            # reports of the records queued before leave it alone.
            unqueued = total - done
            report.queued = done
            report.remaining -= unqueued
            self._in_flight -= unqueued if report.remaining else total
            future.cancel()
            raise
        return future

    async def wait_idle(self, timeout: float | None) -> None:
        """Wait until every record produced so far is acknowledged or failed.

        Raises ``DeliveryError`` if some are still pending after ``timeout`` seconds.
        """
        if self._idle.is_set():
            return
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except asyncio.TimeoutError:
            msg = f"{self._in_flight} records still unacknowledged after {timeout} s"
            raise DeliveryError(msg) from None


# Delivery-report callbacks. They are objects, not closures: a closure that passes itself on
# (to ``_held_back``) refers to itself, and such a cycle, holding a whole batch of records,
# is freed only by a full garbage collection (measured: 59,000 objects and ~16 ms a full
# collection while the App drained 100,000 requests).


class _RecordReport:
    """The delivery report of one record: settles its future with the record as written.

    Called inside ``poll(0)`` on the loop's thread, so it settles the future right there.
    """

    __slots__ = ("future", "producer", "record")

    def __init__(
        self, producer: KafkaProducer, record: Record, future: asyncio.Future[Record]
    ) -> None:
        self.producer = producer
        self.record = record
        self.future = future

    def __call__(self, error: Any, message: Any) -> None:
        producer = self.producer
        record = self.record
        if error is not None and producer._held_back(error, record, self):
            return
        producer._in_flight -= 1
        future = self.future
        if future.cancelled():
            return
        if error is None:
            where = (message.partition(), message.offset(), message.timestamp()[1])
            future.set_result(tuple.__new__(Record, record[:4] + where))
        else:
            future.set_exception(producer.delivery_error(record[0], error))


class _BatchReport:
    """The delivery reports of a batch: one future for them all, settled by the last one.

    The producer's in-flight count drops by the batch at its end. ``queued`` is how many
    records were handed to librdkafka (fewer if queuing failed), ``remaining`` how many
    reports are still to come.
    """

    __slots__ = ("future", "index", "producer", "queued", "records", "remaining")

    def __init__(
        self, producer: KafkaProducer, records: Sequence[Record], future: asyncio.Future[None]
    ) -> None:
        self.producer = producer
        self.records = records
        self.future = future
        self.queued = self.remaining = len(records)
        self.index: dict[tuple[str, bytes | None, bytes], list[Record]] | None = None

    def __call__(self, error: Any, message: Any) -> None:
        producer = self.producer
        if error is not None and producer._held_back(error, self._original(message), self):
            return
        self.remaining -= 1
        future = self.future
        if error is not None and not future.done():
            topic = self.records[0].topic if message is None else str(message.topic())
            future.set_exception(producer.delivery_error(topic, error))
        if not self.remaining:
            producer._in_flight -= self.queued
            if not future.done():
                future.set_result(None)

    def _original(self, message: Any) -> Record | None:
        """The record a failed report is about (reports carry no headers): by content."""
        if message is None:
            return None
        index = self.index
        if index is None:  # built on the first failure only
            index = self.index = {}
            for each in self.records:
                index.setdefault((each[0], each[1], each[2]), []).append(each)
        found = index.get((message.topic(), message.key(), message.value()))
        return found.pop(0) if found else None
