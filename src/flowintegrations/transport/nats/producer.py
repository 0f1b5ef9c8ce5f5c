"""Publishing to JetStream with many acknowledgements in flight: :class:`Publisher`.

Every record is published with a reply subject of its own under one inbox, so the stream's
acknowledgements come back on one subscription while the records after it are already on
their way. A record's acknowledgement resolves its future (a record as written, offset =
stream sequence - 1), or counts down its batch's one future; an error, a "no stream"
answer or no answer within ``timeout`` fails it with
:class:`~flowintegrations.errors.DeliveryError`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import nats.errors

from flowintegrations.errors import DeliveryError
from flowintegrations.transport.base import Record
from flowintegrations.transport.nats.wire import to_nats
from flowintegrations.transport.waiting import cancel_and_wait

__all__ = ["Batch", "Publisher"]


class Batch:
    """One future for a batch: resolved when its last record is acknowledged."""

    __slots__ = ("future", "remaining")

    def __init__(self, future: asyncio.Future[None], remaining: int) -> None:
        self.future = future
        self.remaining = remaining


class Publisher:
    """Publishes records and settles their futures as the acknowledgements come back."""

    def __init__(self, nc: Any, timeout: float) -> None:
        self._nc = nc
        self.timeout = timeout
        self.pending: dict[str, tuple[Any, Record, int, float]] = {}
        self.idle = asyncio.Event()
        self.idle.set()
        self._tokens = itertools.count()
        self._inbox = ""
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen for acknowledgements; fail those that do not come within ``timeout``."""
        self._inbox = self._nc.new_inbox()
        await self._nc.subscribe(self._inbox + ".*", cb=self._on_ack)
        self._sweeper = asyncio.get_running_loop().create_task(
            self._sweep(), name="flowintegrations-nats-acks"
        )

    async def close(self, reason: str) -> None:
        """Stop; fail every record still unacknowledged with ``reason``."""
        if self._sweeper is not None:
            await cancel_and_wait(self._sweeper)
            self._sweeper = None
        for token in list(self.pending):
            target, record, partition, _ = self.pending.pop(token)
            self._resolve(target, record, partition, 0, reason)
        self.idle.set()

    async def publish(self, subject: str, record: Record, partition: int, target: Any) -> None:
        """Publish ``record`` to ``subject``; its acknowledgement settles ``target``.

        ``target`` is the record's future, or the :class:`Batch` it belongs to. Raises
        ``DeliveryError`` when the record cannot even be sent (too large).
        """
        topic = record.topic
        max_payload = self._nc.max_payload
        headers = to_nats(record.key, record.headers)
        # nats-py checks the payload's size only; a server sent more than its max_payload
        # closes the connection, so the headers are counted here too.
        size = len(record.value)
        if headers is not None:
            size += sum(len(k) + len(v) + 4 for k, v in headers.items())
        if size > max_payload:
            msg = (
                f"cannot deliver to topic {topic!r}: the record is {size} bytes with its "
                f"headers, more than the server's max_payload ({max_payload})"
            )
            raise DeliveryError(msg)
        token = str(next(self._tokens))
        self.pending[token] = (target, record, partition, time.monotonic())
        self.idle.clear()
        try:
            await self._nc.publish(
                subject, record.value, reply=f"{self._inbox}.{token}", headers=headers
            )
        except nats.errors.Error as exc:
            self.pending.pop(token, None)
            self._settle()
            text = str(exc).strip() or type(exc).__name__
            msg = f"cannot deliver to topic {topic!r}: {text}"
            raise DeliveryError(msg) from exc

    def _settle(self) -> None:
        if not self.pending:
            self.idle.set()

    async def _on_ack(self, msg: Any) -> None:
        token = msg.subject[len(self._inbox) + 1 :]
        entry = self.pending.pop(token, None)
        if entry is None:
            return
        target, record, partition, _ = entry
        if not msg.data:
            status = (msg.headers or {}).get("Status")
            error = "no stream answered" if status == "503" else f"status {status}"
            self._resolve(target, record, partition, 0, error)
        else:
            seq, problem = read_ack(msg.data)
            self._resolve(target, record, partition, seq, problem)
        self._settle()

    def _resolve(
        self, target: Any, record: Record, partition: int, seq: int, error: str | None
    ) -> None:
        future: asyncio.Future[Any] = target.future if isinstance(target, Batch) else target
        if future.done():
            return
        if error is not None:
            where = f"{record.topic}[{partition}]"
            future.set_exception(DeliveryError(f"cannot deliver to {where}: {error}"))
        elif isinstance(target, Batch):
            target.remaining -= 1
            if target.remaining == 0:
                future.set_result(None)
        else:
            timestamp = record.timestamp
            if timestamp is None:
                timestamp = int(time.time() * 1000)
            written = record.replace(partition=partition, offset=seq - 1, timestamp=timestamp)
            future.set_result(written)

    async def _sweep(self) -> None:
        """Fail the records not acknowledged within ``timeout``."""
        while True:
            await asyncio.sleep(min(1.0, self.timeout / 4))
            limit = time.monotonic() - self.timeout
            for token, (target, record, partition, sent) in list(self.pending.items()):
                if sent > limit:
                    break
                del self.pending[token]
                why = f"no acknowledgement within {self.timeout} s"
                self._resolve(target, record, partition, 0, why)
            self._settle()


def read_ack(data: bytes) -> tuple[int, str | None]:
    """The sequence a publish acknowledgement gives, or the error it reports instead."""
    try:
        answer = json.loads(data)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        return 0, f"unreadable acknowledgement {data[:200]!r}"
    problem = answer.get("error")
    if problem is not None:
        described = problem.get("description") if isinstance(problem, dict) else problem
        return 0, str(described)
    try:
        return int(answer["seq"]), None
    except (KeyError, TypeError, ValueError):
        return 0, f"acknowledgement without a sequence: {data[:200]!r}"
