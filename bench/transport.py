"""KafkaTransport vs raw confluent-kafka: produce and consume throughput on one broker.

    .venv/bin/python bench/transport.py [--messages 100000] [--rounds 3]

Starts the local Tansu broker (or uses $FLOWINTEGRATIONS_KAFKA_BOOTSTRAP), then alternates,
for each round: raw produce, transport produce, raw consume, transport consume, each on a
fresh topic / group, 300-byte values. Produce time runs from the first send to the last
acknowledgement; consume time from the first record received to the last (group joins are
not counted). Prints the medians and the transport/raw ratios (target: >= 0.80), of the
wall-clock rates and of the CPU time the process used per message (all its threads,
librdkafka's too), which says more on a machine shared with other work.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from typing import NamedTuple

from common import consumer_conf, producer_conf
from confluent_kafka import Consumer, Producer

from flowintegrations.testing.broker import TANSU_TEST_CONFIG, local_broker
from flowintegrations.transport import KafkaTransport, Record

VALUE = b"x" * 300


class Result(NamedTuple):
    """One measurement: messages a second (wall clock), and process CPU us a message."""

    rate: float
    cpu_us: float


def result(n: int, wall: float, cpu: float) -> Result:
    """The Result of ``n`` messages in ``wall`` s and ``cpu`` s of process CPU time."""
    return Result(n / wall, cpu / n * 1e6)


def raw_produce(bootstrap: str, topic: str, n: int, *, per_message: bool = False) -> Result:
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
    start, cpu = time.perf_counter(), time.process_time()
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
    measured = result(n, time.perf_counter() - start, time.process_time() - cpu)
    assert acked == n, (acked, n)
    return measured


async def transport_produce(bootstrap: str, topic: str, n: int) -> Result:
    transport = KafkaTransport(bootstrap, config=TANSU_TEST_CONFIG)
    await transport.start()
    try:
        await transport.send(Record(topic, value=VALUE))  # warm up
        start, cpu = time.perf_counter(), time.process_time()
        futures = [
            await transport.produce(Record(topic, key=b"%d" % (i % 64), value=VALUE))
            for i in range(n)
        ]
        await transport.flush()
        measured = result(n, time.perf_counter() - start, time.process_time() - cpu)
        assert all(f.done() and f.exception() is None for f in futures)
    finally:
        await transport.stop()
    return measured


async def transport_produce_batch(bootstrap: str, topic: str, n: int, size: int = 500) -> Result:
    """KafkaTransport.produce_batch: one future per batch of ``size`` records (as the App)."""
    transport = KafkaTransport(bootstrap, config=TANSU_TEST_CONFIG)
    await transport.start()
    try:
        await transport.send(Record(topic, value=VALUE))  # warm up
        start, cpu = time.perf_counter(), time.process_time()
        futures = []
        for first in range(0, n, size):
            batch = [
                Record(topic, key=b"%d" % (i % 64), value=VALUE)
                for i in range(first, min(n, first + size))
            ]
            futures.append(await transport.produce_batch(batch))
        await transport.flush()
        measured = result(n, time.perf_counter() - start, time.process_time() - cpu)
        assert all(f.done() and f.exception() is None for f in futures)
    finally:
        await transport.stop()
    return measured


def raw_consume(bootstrap: str, topic: str, n: int, *, all_fields: bool = False) -> Result:
    """Raw consumer; with ``all_fields``, every field a Record carries is read out."""
    consumer = Consumer(consumer_conf(bootstrap, f"bench-raw-{uuid.uuid4().hex[:8]}"))
    consumer.subscribe([topic])
    got = 0
    start = cpu = 0.0
    while got < n:
        # Greedy, as KafkaTransport does: take what is fetched, wait only when nothing is.
        messages = consumer.consume(500, 0) or consumer.consume(1, 0.5)
        if messages and not start:
            start, cpu = time.perf_counter(), time.process_time()
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
    measured = result(n, time.perf_counter() - start, time.process_time() - cpu)
    consumer.close()
    return measured


async def transport_consume(bootstrap: str, topic: str, n: int) -> Result:
    transport = KafkaTransport(bootstrap, config=TANSU_TEST_CONFIG)
    await transport.start()
    try:
        subscription = await transport.subscribe(
            [topic], group_id=f"bench-transport-{uuid.uuid4().hex[:8]}"
        )
        got = 0
        start = cpu = 0.0
        while got < n:
            records = await subscription.getmany(max_records=500, timeout=0.5)
            if records and not start:
                start, cpu = time.perf_counter(), time.process_time()
            got += len(records)
        measured = result(n, time.perf_counter() - start, time.process_time() - cpu)
    finally:
        await transport.stop()
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    n = args.messages
    results: dict[str, list[Result]] = {
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
            line = ", ".join(f"{k} {v[-1].rate:,.0f}/s" for k, v in results.items())
            print(f"round {round_ + 1}: {line}", flush=True)
    rates = {name: statistics.median(r.rate for r in values) for name, values in results.items()}
    cpus = {name: statistics.median(r.cpu_us for r in values) for name, values in results.items()}
    print()
    print(f"{n:,} messages of {len(VALUE)} bytes, median of {args.rounds} rounds")
    print(f"{'':34} {'msg/s':>12} {'CPU us/msg':>11}")
    for name, rate in rates.items():
        print(f"{name:34} {rate:>12,.0f} {cpus[name]:>11.3f}")
    comparisons = [
        ("produce", "transport produce", "raw produce"),
        ("consume", "transport consume", "raw consume"),
        ("produce, produce_batch (what the App uses)", "transport produce_batch", "raw produce"),
        (
            "produce with a callback per record",
            "transport produce",
            "raw produce, callback per record",
        ),
        ("consume reading every field", "transport consume", "raw consume, every field"),
    ]
    for what, ours, raw in comparisons:
        wall = rates[ours] / rates[raw]
        cpu = cpus[raw] / cpus[ours]
        print(f"transport/raw {what}: {wall:.2f} (by CPU time: {cpu:.2f})")


if __name__ == "__main__":
    main()
