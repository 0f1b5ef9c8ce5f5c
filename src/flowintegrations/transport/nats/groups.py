"""Consumer groups on JetStream: who is in a group, who reads which partition.

JetStream has durable consumers but no group coordinator, so the members of a group
coordinate through one key-value bucket (``<PREFIX>_groups``) whose entries live for
``session_timeout`` seconds unless written again:

* **Membership.** A member puts ``m.<group>.<member>`` (its topics) every heartbeat and
  deletes it when it leaves. A member that crashed drops out ``session_timeout`` after its
  last heartbeat, as a Kafka member drops out after ``session.timeout.ms``.
* **Assignment.** Every member computes the same assignment from the same member list:
  the group's partitions, sorted, dealt round-robin to the members subscribed to their
  topic, sorted by id (:func:`assign`).
* **Leases.** A member reads a partition only while it holds its lease
  ``o.<group>.<topic>.<p>``: taken with a create (which fails while another member holds
  it), renewed every heartbeat with a compare-and-set, deleted when the partition is
  revoked. So a partition moves only after its old owner let go of it (or was silent for
  ``session_timeout``), and never has two readers that both believe they own it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import nats.js.errors

from flowintegrations.transport.base import TopicPartition
from flowintegrations.transport.nats.naming import lease_key, member_key

__all__ = ["GroupLedger", "assign"]


def assign(
    members: Mapping[str, frozenset[str]], partitions: Mapping[str, int]
) -> dict[str, frozenset[TopicPartition]]:
    """Deal every topic's partitions round-robin to the members that subscribe to it.

    ``members`` maps a member id to its topics, ``partitions`` a topic to its partition
    count. Every member that computes this from the same input gets the same answer.
    """
    given: dict[str, set[TopicPartition]] = {member: set() for member in members}
    turn = 0
    for topic in sorted(partitions):
        readers = sorted(m for m, topics in members.items() if topic in topics)
        if not readers:
            continue
        for partition in range(partitions[topic]):
            given[readers[turn % len(readers)]].add(TopicPartition(topic, partition))
            turn += 1
    return {member: frozenset(tps) for member, tps in given.items()}


class GroupLedger:
    """Membership and partition leases of one member, kept in a key-value bucket."""

    def __init__(self, js: Any, kv: Any, bucket: str, group_id: str, member_id: str) -> None:
        self._js = js
        self._kv = kv
        self._stream = f"KV_{bucket}"
        self._prefix = f"$KV.{bucket}."
        self.group_id = group_id
        self.member_id = member_id
        self._leases: dict[TopicPartition, int] = {}
        # Renewing (the heartbeat task) and releasing (a rebalance) the same lease at once
        # would leave it renewed after its release: one lease operation at a time.
        self._lock = asyncio.Lock()

    async def join(self, topics: Sequence[str]) -> None:
        """Say (again) that this member is in the group, reading ``topics``."""
        value = json.dumps({"topics": sorted(topics)}).encode()
        await self._kv.put(member_key(self.group_id, self.member_id), value)

    async def leave(self) -> None:
        """Leave the group: delete the membership and every lease still held."""
        for tp in list(self._leases):
            await self.release(tp)
        await self._kv.delete(member_key(self.group_id, self.member_id))

    async def members(self) -> dict[str, frozenset[str]]:
        """Every live member of the group and its topics (this one included)."""
        wanted = f"{self._prefix}{member_key(self.group_id, '*')}"
        found: dict[str, frozenset[str]] = {}
        seq = 1
        while True:
            try:
                message = await self._js.get_msg(self._stream, seq=seq, subject=wanted, next=True)
            except nats.js.errors.NotFoundError:
                return found
            seq = message.seq + 1
            member = message.subject.rsplit(".", 1)[1]
            operation = (message.headers or {}).get("KV-Operation")
            if operation in ("DEL", "PURGE"):
                found.pop(member, None)
                continue
            try:
                topics = json.loads(message.data or b"{}").get("topics", [])
            except (ValueError, AttributeError):
                continue  # not written by this transport: not a member
            found[member] = frozenset(str(topic) for topic in topics)

    def held(self) -> frozenset[TopicPartition]:
        """The partitions whose lease this member holds."""
        return frozenset(self._leases)

    async def take(self, tp: TopicPartition) -> bool:
        """Take the lease of ``tp``; False while another member holds it."""
        key = lease_key(self.group_id, tp.topic, tp.partition)
        async with self._lock:
            try:
                self._leases[tp] = await self._kv.create(key, self.member_id.encode())
            except nats.js.errors.KeyWrongLastSequenceError:
                return False
            return True

    async def renew(self) -> frozenset[TopicPartition]:
        """Renew every lease held; return those lost (another member took them meanwhile)."""
        lost: set[TopicPartition] = set()
        async with self._lock:
            for tp, revision in list(self._leases.items()):
                key = lease_key(self.group_id, tp.topic, tp.partition)
                try:
                    renewed = await self._kv.update(key, self.member_id.encode(), revision)
                except nats.js.errors.KeyWrongLastSequenceError:
                    del self._leases[tp]
                    lost.add(tp)
                else:
                    self._leases[tp] = renewed
        return frozenset(lost)

    async def release(self, tp: TopicPartition) -> None:
        """Give up the lease of ``tp`` (if this member still holds it)."""
        async with self._lock:
            revision = self._leases.pop(tp, None)
            if revision is None:
                return
            key = lease_key(self.group_id, tp.topic, tp.partition)
            # Taken over meanwhile (the compare-and-set fails): it is not ours to release.
            with contextlib.suppress(nats.js.errors.APIError):
                await self._kv.delete(key, last=revision)

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """Stop renewing ``partitions`` without releasing them (they were lost)."""
        for tp in partitions:
            self._leases.pop(tp, None)
