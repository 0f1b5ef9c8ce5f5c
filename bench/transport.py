"""KafkaTransport vs raw confluent-kafka: produce and consume throughput on one broker.

    .venv/bin/python bench/transport.py [--messages 100000] [--rounds 3]

Starts the local Tansu broker (or uses $FLOWINTEGRATIONS_KAFKA_BOOTSTRAP), then alternates,
for each round: raw produce, transport produce, raw consume, transport consume, each on a
fresh topic / group, 300-byte values. Produce time runs from the first send to the last
acknowledgement; consume time from the first record received to the last (group joins are
not counted). Prints the medians and the transport/raw ratios (target: >= 0.80).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

from common import consumer_conf, producer_conf
from confluent_kafka import Consumer, Producer

from flowintegrations.testing.broker import TANSU_TEST_CONFIG, local_broker
from flowintegrations.transport import KafkaTransport, Record

VALUE = b"x" * 300


def raw_produce(bootstrap: str, topic: str, n: int, *, per_message: bool = False) -> float:
    """Raw producer; with ``per_message``, a callback per record as ack tracking needs."""
    acked = 0

    def on_delivery(err: object, msg: object) -> None:
        nonlocal acked
        if err is None:
            acked += 1

    conf = producer_conf(bootstrap)
    if not per_message:
        conf["on_delivery"] = on_delivery
    producer = Producer(conf)
    producer.produce(topic, VALUE, on_delivery=on_delivery)  # warm up: metadata, producer id
    producer.flush()
    acked = 0
    start = time.perf_counter()
    for i in range(n):
        while True:
            try:
                if per_message:

                    def each(err: object, msg: object) -> None:
                        on_delivery(err, msg)

                    producer.produce(topic, VALUE, b"%d" % (i % 64), on_delivery=each)
                else:
                    producer.produce(topic, VALUE, b"%d" % (i % 64))
                break
            except BufferError:
                producer.poll(0.001)
        if i % 1000 == 0:
            producer.poll(0)
    producer.flush()
    elapsed = time.perf_counter() - start
    assert acked == n, (acked, n)
    return n / elapsed


async def transport_produce(bootstrap: str, topic: str, n: int) -> float:
    transport = KafkaTransport(bootstrap, config=TANSU_TEST_CONFIG)
    await transport.start()
    try:
        await transport.send(Record(topic, value=VALUE))  # warm up
        start = time.perf_counter()
        futures = [
            await transport.produce(Record(topic, key=b"%d" % (i % 64), value=VALUE))
            for i in range(n)
        ]
        await transport.flush()
        elapsed = time.perf_counter() - start
        assert all(f.done() and f.exception() is None for f in futures)
    finally:
        await transport.stop()
    return n / elapsed


async def transport_produce_batch(bootstrap: str, topic: str, n: int, size: int = 500) -> float:
    """KafkaTransport.produce_batch: one future per batch of ``size`` records (as the App)."""
    transport = KafkaTransport(bootstrap, config=TANSU_TEST_CONFIG)
    await transport.start()
    try:
        await transport.send(Record(topic, value=VALUE))  # warm up
        start = time.perf_counter()
        futures = []
        for first in range(0, n, size):
            batch = [
                Record(topic, key=b"%d" % (i % 64), value=VALUE)
                for i in range(first, min(n, first + size))
            ]
            futures.append(await transport.produce_batch(batch))
        await transport.flush()
        elapsed = time.perf_counter() - start
        assert all(f.done() and f.exception() is None for f in futures)
    finally:
        await transport.stop()
    return n / elapsed


def raw_consume(bootstrap: str, topic: str, n: int, *, all_fields: bool = False) -> float:
    """Raw consumer; with ``all_fields``, every field a Record carries is read out."""
    consumer = Consumer(consumer_conf(bootstrap, f"bench-raw-{uuid.uuid4().hex[:8]}"))
    consumer.subscribe([topic])
    got = 0
    start = 0.0
    while got < n:
        # Greedy, as KafkaTransport does: take what is fetched, wait only when nothing is.
        messages = consumer.consume(500, 0) or consumer.consume(1, 0.5)
        if messages and not start:
            start = time.perf_counter()
        for message in messages:
            if message.error() is None:
                got += 1
                if all_fields:
                    (
                        message.topic(),
                        message.key(),
                        message.value(),
                        message.headers(),
                        message.partition(),
                        message.offset(),
                        message.timestamp(),
                    )
                else:
                    message.value()
    elapsed = time.perf_counter() - start
    consumer.close()
    return n / elapsed


async def transport_consume(bootstrap: str, topic: str, n: int) -> float:
    transport = KafkaTransport(bootstrap, config=TANSU_TEST_CONFIG)
    await transport.start()
    try:
        subscription = await transport.subscribe(
            [topic], group_id=f"bench-transport-{uuid.uuid4().hex[:8]}"
        )
        got = 0
        start = 0.0
        while got < n:
            records = await subscription.getmany(max_records=500, timeout=0.5)
            if records and not start:
                start = time.perf_counter()
            got += len(records)
        elapsed = time.perf_counter() - start
    finally:
        await transport.stop()
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    n = args.messages
    results: dict[str, list[float]] = {
        "raw produce": [],
        "raw produce, callback per record": [],
        "transport produce": [],
        "transport produce_batch": [],
        "raw consume": [],
        "raw consume, every field": [],
        "transport consume": [],
    }
    with local_broker() as bootstrap:
        for round_ in range(args.rounds):
            raw_topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
            transport_topic = f"bench.transport.{uuid.uuid4().hex[:8]}"
            results["raw produce"].append(raw_produce(bootstrap, raw_topic, n))
            results["raw produce, callback per record"].append(
                raw_produce(bootstrap, f"{raw_topic}.cb", n, per_message=True)
            )
            results["transport produce"].append(
                asyncio.run(transport_produce(bootstrap, transport_topic, n))
            )
            results["transport produce_batch"].append(
                asyncio.run(transport_produce_batch(bootstrap, f"{transport_topic}.b", n))
            )
            # Both consumers read the same topic, so they face the same batches.
            results["raw consume"].append(raw_consume(bootstrap, raw_topic, n + 1))
            results["raw consume, every field"].append(
                raw_consume(bootstrap, raw_topic, n + 1, all_fields=True)
            )
            results["transport consume"].append(
                asyncio.run(transport_consume(bootstrap, raw_topic, n + 1))
            )
            line = ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in results.items())
            print(f"round {round_ + 1}: {line}", flush=True)
    medians = {name: statistics.median(values) for name, values in results.items()}
    print()
    print(f"{n:,} messages of {len(VALUE)} bytes, median of {args.rounds} rounds")
    print(f"{'':34} {'msg/s':>12}")
    for name, value in medians.items():
        print(f"{name:34} {value:>12,.0f}")
    for way in ("produce", "consume"):
        ratio = medians[f"transport {way}"] / medians[f"raw {way}"]
        print(f"transport/raw {way}: {ratio:.2f}")
    batch = medians["transport produce_batch"] / medians["raw produce"]
    print(f"transport/raw produce, produce_batch (what the App uses): {batch:.2f}")
    produce_cb = medians["transport produce"] / medians["raw produce, callback per record"]
    consume_all = medians["transport consume"] / medians["raw consume, every field"]
    print(f"transport/raw produce with a callback per record: {produce_cb:.2f}")
    print(f"transport/raw consume reading every field: {consume_all:.2f}")


if __name__ == "__main__":
    main()
