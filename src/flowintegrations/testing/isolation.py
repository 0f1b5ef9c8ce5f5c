"""A transport wrapper that gives each test topics and groups of its own, and remembers sends.

Tests that run on a shared Kafka cluster must not see each other's records (and Tansu
needs fresh topics per test, see DESIGN.md). :class:`IsolatedTransport` wraps any
transport and renames, on the way to the broker, every topic ``t`` to ``t.<namespace>``
and every consumer group ``g`` to ``g.<namespace>``, and back on the way in, so the app and
the engine client above it keep the topic names of their scenarios. It also keeps every
record whose delivery the broker acknowledged, so a test can look at what was written
(:meth:`IsolatedTransport.records`), as it can on the in-memory transport.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence

from flowintegrations.errors import TopicNotFoundError
from flowintegrations.transport import (
    RebalanceListener,
    Record,
    Subscription,
    TopicPartition,
    Transport,
)

__all__ = ["IsolatedTransport"]


class IsolatedTransport:
    """A :class:`~flowintegrations.transport.Transport` on ``inner`` with private names.

    ``namespace`` defaults to a fresh random one. Stopping it stops ``inner``.
    """

    def __init__(self, inner: Transport, *, namespace: str | None = None) -> None:
        self.inner = inner
        self.namespace = namespace or f"t{uuid.uuid4().hex[:12]}"
        self._suffix = "." + self.namespace
        self._written: dict[str, list[Record]] = {}

    def __repr__(self) -> str:
        return f"IsolatedTransport({self.inner!r}, namespace={self.namespace!r})"

    def outer_name(self, broker_name: str) -> str:
        """The name the layers above use for the broker's topic (or group) ``broker_name``."""
        if broker_name.endswith(self._suffix):
            return broker_name[: -len(self._suffix)]
        return broker_name

    def broker_name(self, name: str) -> str:
        """The name on the broker of the topic (or group) the layers above call ``name``."""
        return name + self._suffix

    def _out(self, record: Record) -> Record:
        return record.replace(topic=self.outer_name(record.topic))

    def _tp_out(self, tp: TopicPartition) -> TopicPartition:
        return TopicPartition(self.outer_name(tp.topic), tp.partition)

    def _tp_in(self, tp: TopicPartition) -> TopicPartition:
        return TopicPartition(self.broker_name(tp.topic), tp.partition)

    async def start(self) -> None:
        """Start the inner transport."""
        await self.inner.start()

    async def stop(self) -> None:
        """Stop the inner transport. Idempotent."""
        await self.inner.stop()

    async def ensure_topics(self, topics: Collection[str]) -> None:
        """Check (or create) the private topics; a missing one is named as the caller knows it."""
        try:
            await self.inner.ensure_topics([self.broker_name(t) for t in topics])
        except TopicNotFoundError as exc:
            raise TopicNotFoundError(self.outer_name(t) for t in exc.topics) from exc

    async def create_topics(self, topics: Collection[str], *, partitions: int = 1) -> None:
        """Create the private topics."""
        await self.inner.create_topics([self.broker_name(t) for t in topics], partitions=partitions)

    async def produce(self, record: Record) -> asyncio.Future[Record]:
        """Produce on the private topic; the future resolves to the record under its own name."""
        inner = await self.inner.produce(record.replace(topic=self.broker_name(record.topic)))
        outer: asyncio.Future[Record] = asyncio.get_running_loop().create_future()

        def resolve(done: asyncio.Future[Record]) -> None:
            if outer.done():
                return
            if done.cancelled():
                outer.cancel()
                return
            error = done.exception()
            if error is not None:
                outer.set_exception(error)
                return
            written = self._out(done.result())
            self._written.setdefault(written.topic, []).append(written)
            outer.set_result(written)

        inner.add_done_callback(resolve)
        return outer

    async def produce_batch(self, records: Sequence[Record]) -> asyncio.Future[None]:
        """Produce ``records`` on their private topics; one future of the delivery of them all.

        Each record goes through the inner transport's :meth:`produce`, in order, so that
        :meth:`records` can remember where each one was written (a batch future says only
        that they all were). The future fails with the first record's failure, once every
        record is settled.
        """
        futures = [await self.produce(record) for record in records]
        outer: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        pending = len(futures)
        if not pending:
            outer.set_result(None)
            return outer

        def settle(_: asyncio.Future[Record]) -> None:
            nonlocal pending
            pending -= 1
            if pending or outer.done():
                return
            if any(future.cancelled() for future in futures):
                outer.cancel()
                return
            errors = [error for future in futures if (error := future.exception()) is not None]
            if errors:
                outer.set_exception(errors[0])
            else:
                outer.set_result(None)

        for future in futures:
            future.add_done_callback(settle)
        return outer

    async def send(self, record: Record) -> Record:
        """Deliver ``record`` and return it as written."""
        return await (await self.produce(record))

    async def flush(self, timeout: float | None = None) -> None:
        """Wait until every record produced so far is acknowledged (or failed)."""
        await self.inner.flush(timeout)

    async def subscribe(
        self,
        topics: Sequence[str],
        *,
        group_id: str,
        listener: RebalanceListener | None = None,
    ) -> Subscription:
        """Join the private group reading the private topics."""
        inner = await self.inner.subscribe(
            [self.broker_name(t) for t in topics],
            group_id=self.broker_name(group_id),
            listener=None if listener is None else _Listener(self, listener),
        )
        return _IsolatedSubscription(self, inner, group_id)

    def records(self, topic: str, *, partition: int | None = None) -> list[Record]:
        """Every acknowledged record sent through this transport to ``topic``, in order."""
        written = [
            r for r in self._written.get(topic, []) if partition is None or r.partition == partition
        ]
        return sorted(written, key=lambda r: (r.partition or 0, r.offset or 0))


class _Listener:
    """Tells the caller's listener about partitions under the caller's topic names."""

    def __init__(self, transport: IsolatedTransport, listener: RebalanceListener) -> None:
        self._transport = transport
        self._listener = listener

    async def on_partitions_revoked(self, partitions: frozenset[TopicPartition]) -> None:
        await self._listener.on_partitions_revoked(
            frozenset(self._transport._tp_out(tp) for tp in partitions)
        )

    async def on_partitions_assigned(self, partitions: frozenset[TopicPartition]) -> None:
        await self._listener.on_partitions_assigned(
            frozenset(self._transport._tp_out(tp) for tp in partitions)
        )


class _IsolatedSubscription:
    """A subscription whose topics and group carry the transport's namespace on the broker."""

    def __init__(self, transport: IsolatedTransport, inner: Subscription, group_id: str) -> None:
        self._transport = transport
        self._inner = inner
        self._group_id = group_id

    @property
    def group_id(self) -> str:
        return self._group_id

    def assignment(self) -> frozenset[TopicPartition]:
        return frozenset(self._transport._tp_out(tp) for tp in self._inner.assignment())

    async def getmany(self, *, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        records = await self._inner.getmany(max_records=max_records, timeout=timeout)
        return [self._transport._out(record) for record in records]

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        await self._inner.commit({self._transport._tp_in(tp): o for tp, o in offsets.items()})

    def pause(self, partitions: Iterable[TopicPartition]) -> None:
        self._inner.pause([self._transport._tp_in(tp) for tp in partitions])

    def resume(self, partitions: Iterable[TopicPartition]) -> None:
        self._inner.resume([self._transport._tp_in(tp) for tp in partitions])

    async def close(self) -> None:
        await self._inner.close()
