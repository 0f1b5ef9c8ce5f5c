"""Reading one partition for its owner: a durable pull consumer, fetched ahead.

A :class:`PartitionReader` exists while its member holds the partition's lease. It keeps
one pull request open on the group's durable consumer of the partition's stream, and
buffers what arrives until :meth:`~flowintegrations.transport.nats.JetStreamSubscription.getmany`
takes it. Offsets are stream sequences minus one (so a fresh partition starts at 0, as on
Kafka).

**Committing** is acknowledging: the consumer acknowledges *all* up to a sequence
(``AckPolicy.ALL``), so committing offset ``n`` acknowledges the record at offset
``n - 1`` and, with it, everything before it; the commit returns once the server confirmed.
The consumer's acknowledgement floor is the group's committed offset.

**Taking a partition over** starts from that floor: when the consumer delivered more than
was acknowledged (its last owner crashed, or left without committing), it is made again
starting right after the floor, so the records nobody committed come first, and in order,
instead of after ``ack_wait``. While a member owns a partition it never sees a record
twice: a redelivery by ``ack_wait`` of a record it already holds is dropped (the owner
still commits it, or gives the partition up, and the next owner starts from the floor).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
from collections.abc import Callable
from typing import Any

import nats.js.api
import nats.js.errors

from flowintegrations.errors import TransportError
from flowintegrations.transport.base import Record, TopicPartition
from flowintegrations.transport.nats.wire import UNREADABLE, UnreadableHeadersError, from_nats
from flowintegrations.transport.waiting import cancel_and_wait, set_within

__all__ = ["ConsumerSettings", "PartitionReader"]


class ConsumerSettings:
    """How a group's durable consumers are made and fetched from."""

    def __init__(self, *, ack_wait: float, max_ack_pending: int, fetch: int, expires: float):
        self.ack_wait = ack_wait
        self.max_ack_pending = max_ack_pending
        self.fetch = fetch
        self.expires = expires


class PartitionReader:
    """Fetches one partition of a group ahead of its owner, in order."""

    def __init__(
        self,
        *,
        nc: Any,
        js: Any,
        tp: TopicPartition,
        stream: str,
        consumer: str,
        settings: ConsumerSettings,
        wake: Callable[[], None],
    ) -> None:
        self.tp = tp
        self.stream = stream
        self.consumer = consumer
        self.buffer: collections.deque[Record] = collections.deque()
        self._nc = nc
        self._js = js
        self._settings = settings
        self._wake = wake
        self._unacked: collections.deque[tuple[int, str]] = collections.deque()
        self._last = -1
        self._paused = False
        self._may_fetch = asyncio.Event()
        self._answered = asyncio.Event()
        self._received = 0
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Make the consumer start at the committed offset; start fetching."""
        await self._reset_consumer()
        self._sub = await self._nc.subscribe(self._nc.new_inbox(), cb=self._on_message)
        self._may_fetch.set()
        self._task = asyncio.get_running_loop().create_task(
            self._pump(), name=f"flowintegrations-nats-{self.stream}"
        )

    async def _reset_consumer(self) -> None:
        config = nats.js.api.ConsumerConfig(
            durable_name=self.consumer,
            ack_policy=nats.js.api.AckPolicy.ALL,
            ack_wait=self._settings.ack_wait,
            max_ack_pending=self._settings.max_ack_pending,
            deliver_policy=nats.js.api.DeliverPolicy.ALL,
        )
        try:
            info = await self._js.consumer_info(self.stream, self.consumer)
        except nats.js.errors.NotFoundError:
            await self._js.add_consumer(self.stream, config)
            return
        floor = info.ack_floor.stream_seq if info.ack_floor else 0
        delivered = info.delivered.stream_seq if info.delivered else 0
        if delivered <= floor:
            return
        # Delivered but never acknowledged: start again right after the floor.
        await self._js.delete_consumer(self.stream, self.consumer)
        config.deliver_policy = nats.js.api.DeliverPolicy.BY_START_SEQUENCE
        config.opt_start_seq = floor + 1
        await self._js.add_consumer(self.stream, config)

    async def _pump(self) -> None:
        """Keep one pull request open while the buffer has room and nothing is paused."""
        settings = self._settings
        subject = f"$JS.API.CONSUMER.MSG.NEXT.{self.stream}.{self.consumer}"
        request = json.dumps(
            {"batch": settings.fetch, "expires": int(settings.expires * 1e9)}
        ).encode()
        while True:
            await self._may_fetch.wait()
            self._answered.clear()
            self._received = 0
            try:
                await self._nc.publish(subject, request, reply=self._sub.subject)
            except Exception:  # noqa: BLE001 (reconnecting or closing: try again shortly)
                await asyncio.sleep(0.2)
                continue
            await set_within(self._answered, settings.expires + 2.0)

    async def _on_message(self, msg: Any) -> None:
        reply = msg.reply
        if not reply:
            # A status: the request expired (408), or the consumer went away (409).
            status = (msg.headers or {}).get("Status")
            if status not in ("408", "404"):
                await asyncio.sleep(0.05)
            self._answered.set()
            return
        tokens = reply.split(".")
        if len(tokens) == 9:
            seq, nanos = int(tokens[5]), int(tokens[7])
        else:
            seq, nanos = int(tokens[7]), int(tokens[9])
        self._received += 1
        if self._received >= self._settings.fetch:
            self._answered.set()
        offset = seq - 1
        if offset <= self._last:
            return  # redelivered by ack_wait while this owner still holds it
        self._last = offset
        try:
            key, headers = from_nats(msg.headers)
        except UnreadableHeadersError:
            key, headers = None, UNREADABLE
        self.buffer.append(
            Record(
                self.tp.topic, key, msg.data, headers, self.tp.partition, offset, nanos // 1_000_000
            )
        )
        self._unacked.append((offset, reply))
        if len(self.buffer) >= 2 * self._settings.fetch:
            self._may_fetch.clear()
        self._wake()

    @property
    def readable(self) -> bool:
        """Whether :meth:`take` would return records."""
        return bool(self.buffer) and not self._paused

    def take(self, limit: int) -> list[Record]:
        """Up to ``limit`` buffered records, in order (none while paused)."""
        if self._paused:
            return []
        buffer = self.buffer
        if len(buffer) <= limit:
            taken = list(buffer)
            buffer.clear()
        else:
            taken = [buffer.popleft() for _ in range(limit)]
        if len(buffer) < self._settings.fetch:
            self._may_fetch.set()
        return taken

    def pause(self) -> None:
        """Return nothing and fetch nothing until :meth:`resume`."""
        self._paused = True
        self._may_fetch.clear()

    def resume(self) -> None:
        """Return (and fetch) records again, from where reading left off."""
        self._paused = False
        if len(self.buffer) < 2 * self._settings.fetch:
            self._may_fetch.set()

    async def commit(self, offset: int, timeout: float) -> None:
        """Acknowledge every record before ``offset``; return once the server confirmed."""
        unacked = self._unacked
        reply = None
        while unacked and unacked[0][0] < offset:
            reply = unacked.popleft()[1]
        if reply is None:
            return
        try:
            await self._nc.request(reply, b"+ACK", timeout=timeout)
        except Exception as exc:
            msg = f"committing {self.tp.topic}[{self.tp.partition}] at offset {offset}: {exc!r}"
            raise TransportError(msg) from exc

    async def close(self) -> None:
        """Stop fetching and forget what was fetched; nothing is acknowledged."""
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None
        self.buffer.clear()
        self._unacked.clear()
