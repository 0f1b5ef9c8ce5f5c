"""One member of a consumer group on JetStream: :class:`JetStreamSubscription`.

The member's partitions come from its group's ledger (:mod:`.groups`): inside
:meth:`~JetStreamSubscription.getmany`, at most every ``heartbeat`` seconds, it reads who is
in the group, revokes the partitions it should no longer read (telling the listener first,
then releasing their leases), then takes the leases of the partitions it should read that
are free and tells the listener which it got. Each partition it holds is read by a
:class:`~flowintegrations.transport.nats.reader.PartitionReader`. A background task keeps
the membership and the leases alive between two calls.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from flowintegrations.errors import TransportBrokenError, TransportClosedError, TransportError
from flowintegrations.transport.base import RebalanceListener, Record, TopicPartition
from flowintegrations.transport.nats.groups import GroupLedger, assign
from flowintegrations.transport.nats.naming import consumer_name, stream_name
from flowintegrations.transport.nats.reader import ConsumerSettings, PartitionReader
from flowintegrations.transport.waiting import cancel_and_wait, set_within

__all__ = ["JetStreamSubscription", "SubscriptionHost"]

log = logging.getLogger("flowintegrations.transport.nats")


class SubscriptionHost(Protocol):
    """What a subscription needs of its transport (the JetStreamTransport that made it)."""

    prefix: str
    heartbeat: float
    timeout: float
    _nc: Any
    _js: Any
    _kv: Any
    _bucket: str
    _consumer_settings: ConsumerSettings

    def _check_running(self) -> None: ...

    async def _partition_count(self, topic: str) -> int: ...

    def _translating(self, action: str) -> AbstractContextManager[None]: ...

    def _forget(self, subscription: JetStreamSubscription) -> None: ...


class JetStreamSubscription:
    """A :class:`~flowintegrations.transport.Subscription` on JetStream (see the module)."""

    def __init__(
        self,
        transport: SubscriptionHost,
        topics: Sequence[str],
        group_id: str,
        listener: RebalanceListener | None,
    ) -> None:
        self.member_id = uuid.uuid4().hex
        self.topics = tuple(topics)
        self._transport = transport
        self._group_id = group_id
        self._listener = listener
        self._ledger = GroupLedger(
            transport._js, transport._kv, transport._bucket, group_id, self.member_id
        )
        self._readers: dict[TopicPartition, PartitionReader] = {}
        self._paused: set[TopicPartition] = set()
        self._lost: set[TopicPartition] = set()
        self._arrived = asyncio.Event()
        self._next_sync = 0.0
        self._closed = False
        self._heartbeat: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"JetStreamSubscription(group_id={self._group_id!r}, topics={list(self.topics)!r}, "
            f"assigned={len(self._readers)}, {state})"
        )

    async def _start(self) -> None:
        await self._ledger.join(self.topics)
        self._heartbeat = asyncio.get_running_loop().create_task(
            self._beat(), name="flowintegrations-nats-heartbeat"
        )

    async def _beat(self) -> None:
        """Keep the membership and the leases alive; note leases lost to another member."""
        while True:
            await asyncio.sleep(self._transport.heartbeat)
            try:
                await self._ledger.join(self.topics)
                lost = await self._ledger.renew()
            except Exception as exc:  # noqa: BLE001 (the server is away: try again next beat)
                log.warning("group %r: cannot renew the membership: %r", self._group_id, exc)
                continue
            if lost:
                log.warning(
                    "group %r: partitions taken over by another member: %s",
                    self._group_id,
                    sorted(lost),
                )
                self._lost |= lost
                self._next_sync = 0.0
                self._arrived.set()

    @property
    def group_id(self) -> str:
        """The consumer group this member belongs to."""
        return self._group_id

    def assignment(self) -> frozenset[TopicPartition]:
        """The partitions this member reads now."""
        return frozenset(self._readers)

    def _check_open(self) -> None:
        if self._closed:
            msg = f"the subscription of group {self._group_id!r} was closed"
            raise TransportClosedError(msg)
        self._transport._check_running()

    # Rebalancing ----------------------------------------------------------------------------

    async def _sync(self) -> None:
        """Revoke what this member should no longer read, then take what it should."""
        transport = self._transport
        members = await self._ledger.members()
        members[self.member_id] = frozenset(self.topics)
        counts = {t: n for t in self.topics if (n := await transport._partition_count(t))}
        target = assign(members, counts)[self.member_id]
        lost = self._lost & set(self._readers)
        self._lost.clear()
        revoked = (frozenset(self._readers) - target) | lost
        if revoked:
            self._ledger.forget(lost)
            if self._listener is not None:
                await self._listener.on_partitions_revoked(frozenset(revoked))
            for tp in revoked:
                await self._readers.pop(tp).close()
                self._paused.discard(tp)
                await self._ledger.release(tp)
        gained: set[TopicPartition] = set()
        for tp in sorted(target - set(self._readers)):
            if not await self._ledger.take(tp):
                continue
            reader = PartitionReader(
                nc=transport._nc,
                js=transport._js,
                tp=tp,
                stream=stream_name(transport.prefix.upper(), tp.topic, tp.partition),
                consumer=consumer_name(self._group_id),
                settings=transport._consumer_settings,
                wake=self._arrived.set,
            )
            try:
                await reader.open()
            except Exception:
                await reader.close()
                await self._ledger.release(tp)
                raise
            self._readers[tp] = reader
            gained.add(tp)
        if gained and self._listener is not None:
            await self._listener.on_partitions_assigned(frozenset(gained))

    # Reading --------------------------------------------------------------------------------

    def _collect(self, max_records: int) -> list[Record]:
        records: list[Record] = []
        for reader in self._readers.values():
            if len(records) >= max_records:
                break
            if reader.readable:
                records += reader.take(max_records - len(records))
        return records

    async def getmany(self, *, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        """The next records, at most ``max_records``, waiting at most ``timeout`` seconds."""
        self._check_open()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            now = loop.time()
            if now >= self._next_sync:
                self._next_sync = now + self._transport.heartbeat
                try:
                    with self._transport._translating(f"rebalancing group {self._group_id!r}"):
                        await self._sync()
                except (TransportClosedError, TransportBrokenError):
                    raise
                except TransportError as exc:
                    # A slow or briefly unreachable server: keep reading, try at the next beat.
                    log.warning("%s", exc)
                self._check_open()
            self._arrived.clear()
            records = self._collect(max_records)
            if records:
                return records
            remaining = min(deadline, self._next_sync) - loop.time()
            if deadline <= loop.time():
                return []
            await set_within(self._arrived, max(remaining, 0.0))
            self._check_open()

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Acknowledge, for each partition, every record before the offset given."""
        self._check_open()
        foreign = sorted(tp for tp in offsets if tp not in self._readers)
        if foreign:
            names = ", ".join(f"{tp.topic}[{tp.partition}]" for tp in foreign)
            msg = f"cannot commit partitions not assigned to this member: {names}"
            raise TransportError(msg)
        timeout = self._transport.timeout
        await asyncio.gather(
            *(self._readers[tp].commit(offset, timeout) for tp, offset in offsets.items())
        )

    def pause(self, partitions: Iterable[TopicPartition]) -> None:
        """Stop returning (and fetching) records of ``partitions`` until :meth:`resume`."""
        for tp in partitions:
            reader = self._readers.get(tp)
            if reader is not None:
                reader.pause()
                self._paused.add(tp)

    def resume(self, partitions: Iterable[TopicPartition]) -> None:
        """Return records of ``partitions`` again, from where reading left off."""
        for tp in partitions:
            reader = self._readers.get(tp)
            if reader is not None:
                reader.resume()
            self._paused.discard(tp)
        self._arrived.set()

    async def close(self) -> None:
        """Leave the group: stop reading, release every lease, without committing."""
        if self._closed:
            return
        self._closed = True
        if self._heartbeat is not None:
            await cancel_and_wait(self._heartbeat)
        for reader in self._readers.values():
            await reader.close()
        self._readers.clear()
        try:
            if self._transport._nc is not None and not self._transport._nc.is_closed:
                await self._ledger.leave()
        except Exception as exc:  # noqa: BLE001 (leaving late is what a crash does anyway)
            log.warning("group %r: cannot leave cleanly: %r", self._group_id, exc)
        self._transport._forget(self)
