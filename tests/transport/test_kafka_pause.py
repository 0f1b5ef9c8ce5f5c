"""KafkaSubscription pauses on a real broker: a pause does not outlive its assignment.

librdkafka keeps a partition paused by the application paused across an unassign; the
subscription clears the pause when the partition is revoked. Otherwise a partition paused
at a rebalance and assigned to the same member again is never fetched: the app forgets the
pauses of revoked partitions (this stalled the survivor of two adapters, see
tests/runtime/test_crash_kafka.py).
"""

from __future__ import annotations

import asyncio

import pytest

from flowintegrations.transport import Record, TopicPartition
from support.kafka import fresh, kafka_transport

pytestmark = pytest.mark.kafka


class Revocations:
    """A listener that only counts revocations."""

    def __init__(self) -> None:
        self.revoked: list[frozenset[TopicPartition]] = []

    async def on_partitions_revoked(self, partitions: frozenset[TopicPartition]) -> None:
        """Count them."""
        self.revoked.append(partitions)

    async def on_partitions_assigned(self, partitions: frozenset[TopicPartition]) -> None:
        """Nothing to do."""


def test_a_partition_paused_when_revoked_is_fetched_once_assigned_again(
    kafka_bootstrap: str,
) -> None:
    """Every partition paused; a member joins; the partition kept is read from the start."""
    topic, group = fresh("paused"), fresh("group")
    both = {TopicPartition(topic, 0), TopicPartition(topic, 1)}

    async def main() -> tuple[frozenset[TopicPartition], set[tuple[int | None, int | None]]]:
        transport = kafka_transport(kafka_bootstrap)
        await transport.start()
        try:
            await transport.create_topics([topic], partitions=2)
            for n in range(6):
                await transport.send(Record(topic, None, str(n).encode(), partition=n % 2))
            listener = Revocations()
            first = await transport.subscribe([topic], group_id=group, listener=listener)
            for _ in range(300):
                await first.getmany(timeout=0.1)  # read, never committed
                if first.assignment() == both:
                    break
            first.pause(both)
            # A second member joins: the (eager) rebalance revokes both paused partitions,
            # then gives the first member one of them again, which it never resumes.
            second = await transport.subscribe([topic], group_id=group)
            seen: set[tuple[int | None, int | None]] = set()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30.0
            while loop.time() < deadline and len(seen) < 3:
                records, _ = await asyncio.gather(
                    first.getmany(timeout=0.1), second.getmany(timeout=0.1)
                )
                if listener.revoked:
                    seen |= {(r.partition, r.offset) for r in records}
            kept = first.assignment()
            await second.close()
            await first.close()
        finally:
            await transport.stop()
        return kept, seen

    kept, seen = asyncio.run(main())
    assert len(kept) == 1
    (partition,) = (tp.partition for tp in kept)
    assert seen == {(partition, 0), (partition, 1), (partition, 2)}
