"""KafkaSubscription commits on a real broker: only what the member holds is committed."""

from __future__ import annotations

import asyncio

import pytest

from flowintegrations.transport import Record, TopicPartition
from support.kafka import fresh, kafka_transport, read

pytestmark = pytest.mark.kafka


def test_a_commit_for_a_partition_not_held_is_dropped(kafka_bootstrap: str) -> None:
    """Offsets of a partition the member does not hold are not committed; the rest are."""
    held, other, group = fresh("held"), fresh("other"), fresh("group")

    async def main() -> tuple[list[int | None], list[int | None]]:
        transport = kafka_transport(kafka_bootstrap)
        await transport.start()
        try:
            await transport.ensure_topics([held, other])
            for topic in (held, other):
                for n in range(3):
                    await transport.send(Record(topic, None, str(n).encode()))
            first = await transport.subscribe([held], group_id=group)
            await read(first, 3)
            await first.commit({TopicPartition(held, 0): 2, TopicPartition(other, 0): 2})
            await first.close()
            second = await transport.subscribe([held, other], group_id=group)
            records = await read(second, 4)
            await second.close()
        finally:
            await transport.stop()
        return (
            [r.offset for r in records if r.topic == held],
            [r.offset for r in records if r.topic == other],
        )

    assert asyncio.run(main()) == ([2], [0, 1, 2])
