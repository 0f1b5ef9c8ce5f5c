"""The reading marker names exactly the records a batch may read (kafka/poison.py).

Before it reads a fetched batch's headers, a subscription writes, per partition, the first
and last offset of the batch to ``<group>.reading``: the first batch after a rebalance from
the messages themselves, the next ones from the consumer's positions. Either way the file
must name the batch's records, or a record that crashes the client is not found.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from flowintegrations.transport import Record
from flowintegrations.transport.kafka.poison import PoisonLedger
from support.kafka import fresh, kafka_transport

pytestmark = pytest.mark.kafka


def spans_of(records: list[Record]) -> set[str]:
    """The marker lines a batch of ``records`` should leave, one per partition."""
    firsts: dict[tuple[str, int], int] = {}
    lasts: dict[tuple[str, int], int] = {}
    for record in records:
        assert record.partition is not None
        assert record.offset is not None
        key = (record.topic, record.partition)
        firsts.setdefault(key, record.offset)
        lasts[key] = record.offset
    return {f"batch\t{t}\t{p}\t{firsts[t, p]}\t{lasts[t, p]}" for t, p in firsts}


def test_every_batch_is_named_by_its_first_and_last_offset(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """Small batches over two partitions, with records arriving between them."""
    topic, group = fresh("marked"), fresh("group")
    marker = PoisonLedger(tmp_path, group).reading

    async def main() -> list[tuple[set[str], set[str]]]:
        transport = kafka_transport(kafka_bootstrap, state_dir=tmp_path)
        await transport.start()
        seen: list[tuple[set[str], set[str]]] = []
        try:
            await transport.create_topics([topic], partitions=2)
            subscription = await transport.subscribe([topic], group_id=group)
            sent = read = 0
            for round_ in range(4):
                for n in range(7):
                    value = f"{round_}-{n}".encode()
                    await transport.send(Record(topic, None, value, partition=n % 2))
                sent += 7
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 30.0
                while read < sent and loop.time() < deadline:
                    records = await subscription.getmany(max_records=3, timeout=0.2)
                    if records:
                        read += len(records)
                        written = set(marker.read_text(encoding="utf-8").splitlines())
                        seen.append((written, spans_of(records)))
            assert read == sent
            await subscription.close()
        finally:
            await transport.stop()
        return seen

    seen = asyncio.run(main())
    assert len(seen) >= 10
    assert [written for written, _ in seen] == [expected for _, expected in seen]
