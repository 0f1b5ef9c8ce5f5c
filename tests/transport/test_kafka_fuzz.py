"""Hostile records through an App on the real broker: each replied or dead-lettered.

A smaller run of the fuzz harness (``tests/support/fuzz.py``, ``make fuzz``) over Kafka:
hostile values, keys and header values as a broker delivers them, through confluent-kafka
both ways. Header names are what confluent-kafka can write (a name that is not UTF-8 has
its own test, ``test_kafka_hostile_headers.py``).
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from flowintegrations.transport import KafkaTransport, Record
from support.fuzz import FUZZ_ID, IN, OUT, PARTITIONS, Rng, build_app, generate
from support.kafka import fresh, kafka_transport

pytestmark = pytest.mark.kafka

RECORDS = 600


def producible(record: Record) -> bool:
    """Whether confluent-kafka can write ``record`` (header names must encode as UTF-8)."""
    try:
        for name, _ in record.headers:
            name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def fuzz_on_kafka(bootstrap: str) -> tuple[list[int], Counter[str], Counter[str], list[int]]:
    """Send the hostile records, run the App, read back what it replied and dead-lettered."""
    requests = [
        r
        for r in generate(Rng(600, surrogates=False), RECORDS, 0, skip=frozenset({"huge"}))
        if producible(r.record)
    ]
    # Fresh topics per run: the harness's topic names with a unique prefix.
    suffix = fresh("fz")
    rename = {topic: f"{topic}.{suffix}" for topic in [*OUT.values(), *IN.values()]}
    transport: KafkaTransport = kafka_transport(bootstrap)
    await transport.start()
    try:
        out_topics = [rename[t] for t in OUT.values()]
        in_topics = [rename[t] for t in IN.values() if t is not None]
        dead_topics = [t + ".DLT" for t in out_topics]
        await transport.create_topics(out_topics, partitions=PARTITIONS)
        await transport.create_topics([*in_topics, *dead_topics])
        sent = [r.record.replace(topic=rename[r.record.topic]) for r in requests]
        await (await transport.produce_batch(sent))
        app = build_app(transport, topics=rename, group_id=fresh("fuzz"))
        readers = await asyncio.gather(
            transport.subscribe(in_topics, group_id=fresh("in")),
            transport.subscribe(dead_topics, group_id=fresh("dead")),
        )
        await app.start()
        replied: Counter[str] = Counter()
        dead: Counter[str] = Counter()
        try:
            for _ in range(1200):  # 120 s at most
                for reader, seen in zip(readers, (replied, dead), strict=True):
                    for record in await reader.getmany(max_records=500, timeout=0.05):
                        fid = record.header(FUZZ_ID)
                        seen[fid.decode() if fid is not None else "?"] += 1
                if set(replied) | set(dead) >= {str(r.id) for r in requests}:
                    break
        finally:
            await app.stop()
            for reader in readers:
                await reader.close()
    finally:
        await transport.stop()
    ids = [r.id for r in requests]
    canaries = [r.id for r in requests if r.category == "canary"]
    return ids, replied, dead, canaries


def test_every_hostile_record_on_kafka_is_replied_or_dead_lettered(kafka_bootstrap: str) -> None:
    """Each record has an outcome, none is sent twice, and every canary is answered."""
    ids, replied, dead, canaries = asyncio.run(fuzz_on_kafka(kafka_bootstrap))
    missing = [i for i in ids if str(i) not in replied and str(i) not in dead]
    twice = sorted(k for k, n in (replied + dead).items() if n > 2) + sorted(
        k for counter in (replied, dead) for k, n in counter.items() if n > 1
    )
    unanswered = [i for i in canaries if str(i) not in replied]
    assert (len(ids) > RECORDS * 0.9, missing, twice, unanswered) == (True, [], [], [])
