"""The App over NATS JetStream vs a hand-written nats-py at-least-once loop, and Kafka's pair.

    .venv/bin/python bench/jetstream.py [--messages 20000] [--rounds 3] [--servers URL] [--no-kafka]

Per round, each NATS contender drains its own backlog of OTP requests (one partition, the
same requests and headers as bench/pipeline.py), as its own process, in alternating order:

* ``ours-nats``     App + JetStreamTransport, the sync handler of bench/adapters.py ``ours``
* ``raw-nats-alo``  nats-py by hand, at least once: pull a batch (up to 500) from a durable
                    consumer -> json -> fastjsonschema on the request -> reply ->
                    fastjsonschema on the reply -> json -> publish every reply (all in
                    flight, ``publish_async``) -> await their acknowledgements -> ack the
                    batch (ack-all on its last record, waiting for the server's confirmation)

The rate counts from the first reply written to the last (the stream's own timestamps), so
process start and consumer creation are not counted. Then, unless ``--no-kafka``, the same
run measures Kafka's pair (``ours`` and ``raw-alo`` of ``bench/pipeline.py throughput``, on
the local Tansu broker) so the two brokers' figures stand side by side. Prints a Markdown
table; ``--json FILE`` writes the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import EXPIRES, OTP_REQUEST, fresh, median, otp_on, request_headers, table

from flowintegrations.transport import Record
from flowintegrations.transport.nats import JetStreamTransport
from flowintegrations.transport.nats.naming import consumer_name, stream_name

BENCH = Path(__file__).resolve().parent
KINDS = ("ours-nats", "raw-nats-alo")
OPTIONS: dict[str, Any] = {"storage": "memory", "max_age": 3600.0, "create_topics": True}


# The contenders (each runs as its own process) --------------------------------------------


def run_ours(args: argparse.Namespace) -> None:
    """The App on JetStreamTransport with the benchmark's sync OTP handler."""
    from flowintegrations import App, Retry  # noqa: PLC0415

    integration, otp = otp_on(args.out_topic, args.in_topic)
    transport = JetStreamTransport(args.servers, **OPTIONS)
    app = App(integration, transport=transport, group_id=args.group, retry=Retry(attempts=1))

    @app.handler(otp)
    def generate_otp(payload: dict[str, Any]) -> dict[str, Any]:
        return {"otpId": "otp-" + payload["recipient"], "expiresAt": EXPIRES}

    async def main() -> None:
        await transport.start()
        try:
            await app.serve()
        finally:
            await transport.stop()

    asyncio.run(main())


def run_raw(args: argparse.Namespace) -> None:
    """The careful nats-py loop: nothing acknowledged before its reply is."""
    import fastjsonschema  # noqa: PLC0415
    import nats  # noqa: PLC0415
    import nats.js.api  # noqa: PLC0415

    from flowintegrations.validation import scenario_validators  # noqa: PLC0415

    integration, otp = otp_on(args.out_topic, args.in_topic)
    request_v, reply_v = scenario_validators(integration, otp)
    check_request = fastjsonschema.compile(request_v.schema)
    check_reply = fastjsonschema.compile(reply_v.schema)
    stream = stream_name("FI", args.out_topic, 0)
    reply_subject = f"fi.{args.in_topic}.0"
    loads, dumps = json.loads, json.dumps
    stopping = asyncio.Event()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stopping.set)
        nc = await nats.connect(args.servers)
        js = nc.jetstream()
        durable = consumer_name(args.group)
        await js.add_consumer(
            stream,
            nats.js.api.ConsumerConfig(
                durable_name=durable,
                ack_policy=nats.js.api.AckPolicy.ALL,
                max_ack_pending=20_000,
            ),
        )
        pull = await js.pull_subscribe_bind(durable, stream)
        while not stopping.is_set():
            try:
                messages = await pull.fetch(500, timeout=0.5)
            except asyncio.TimeoutError:  # nats-py raises either kind when nothing came
                continue
            acks = []
            for message in messages:
                payload = loads(message.data)
                check_request(payload)
                reply = {"otpId": "otp-" + payload["recipient"], "expiresAt": EXPIRES}
                check_reply(reply)
                headers = {k: v for k, v in (message.headers or {}).items() if k != "jwt"}
                body = dumps(reply, separators=(",", ":")).encode()
                acks.append(await js.publish_async(reply_subject, body, headers=headers))
            await asyncio.gather(*acks)  # a failed reply raises: the batch stays unacked
            await messages[-1].ack_sync()
        await nc.close()

    asyncio.run(main())


# The driver --------------------------------------------------------------------------------


async def backlog(servers: str, out_topic: str, in_topic: str, n: int) -> None:
    """Create the topics and write ``n`` OTP requests to the out topic."""
    transport = JetStreamTransport(servers, **OPTIONS)
    await transport.start()
    try:
        await transport.create_topics([out_topic, in_topic], partitions=1)
        value = json.dumps(OTP_REQUEST).encode()
        for start in range(0, n, 1000):
            records = [
                Record(out_topic, None, value, tuple(request_headers(i)))
                for i in range(start, min(n, start + 1000))
            ]
            await (await transport.produce_batch(records))
    finally:
        await transport.stop()


async def drained(servers: str, in_topic: str, n: int, timeout: float) -> float:
    """Wait until ``n`` replies are on the in topic; their rate, first to last written."""
    import nats  # noqa: PLC0415

    nc = await nats.connect(servers)
    try:
        js = nc.jetstream()
        stream = stream_name("FI", in_topic, 0)
        deadline = time.monotonic() + timeout
        while (await js.stream_info(stream)).state.messages < n:
            if time.monotonic() > deadline:
                msg = f"fewer than {n} replies within {timeout} s"
                raise TimeoutError(msg)
            await asyncio.sleep(0.1)
        first = await js.get_msg(stream, seq=1)
        last = await js.get_msg(stream, seq=n)
        assert first.time is not None
        assert last.time is not None
        return (n - 1) / (last.time - first.time).total_seconds()
    finally:
        await nc.close()


def measure(kind: str, servers: str, n: int) -> float:
    """One contender draining a fresh backlog of ``n`` requests: replies a second."""
    out_topic, in_topic, group = fresh("bench.nats.out"), fresh("bench.nats.in"), fresh("g")
    asyncio.run(backlog(servers, out_topic, in_topic, n))
    process = subprocess.Popen(
        [sys.executable, __file__, "adapter", kind, servers, out_topic, in_topic, group],
        stdin=subprocess.DEVNULL,
    )
    try:
        return asyncio.run(drained(servers, in_topic, n, timeout=600))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def kafka_pair(messages: int, rounds: int) -> dict[str, list[float]]:
    """``ours`` and ``raw-alo`` of bench/pipeline.py throughput on Kafka, in this run."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "kafka.json"
        subprocess.run(
            [
                sys.executable,
                str(BENCH / "pipeline.py"),
                "throughput",
                "--kinds=ours,raw-alo",
                f"--messages={messages}",
                f"--rounds={rounds}",
                f"--json={out}",
            ],
            check=True,
        )
        found = json.loads(out.read_text())
    rates = found.get("rates", found)
    return {kind: list(rates.get(kind, [])) for kind in ("ours", "raw-alo")}


def main() -> int:
    """Run the contenders (or, as ``adapter KIND ...``, one of them)."""
    if len(sys.argv) > 1 and sys.argv[1] == "adapter":
        parser = argparse.ArgumentParser()
        parser.add_argument("adapter")
        parser.add_argument("kind", choices=KINDS)
        for name in ("servers", "out_topic", "in_topic", "group"):
            parser.add_argument(name)
        args = parser.parse_args()
        (run_ours if args.kind == "ours-nats" else run_raw)(args)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--servers", default="nats://127.0.0.1:4222")
    parser.add_argument("--no-kafka", action="store_true")
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    rates: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for round_ in range(args.rounds):
        for kind in KINDS if round_ % 2 == 0 else KINDS[::-1]:
            rate = measure(kind, args.servers, args.messages)
            rates[kind].append(rate)
            print(f"round {round_ + 1}: {kind} {rate:,.0f} msg/s", flush=True)
    if not args.no_kafka:
        rates.update(kafka_pair(args.messages, args.rounds))
    rows = []
    for broker, ours, raw in (("NATS", "ours-nats", "raw-nats-alo"), ("Kafka", "ours", "raw-alo")):
        if not rates.get(ours) or not rates.get(raw):
            continue
        rows.append(
            [
                broker,
                f"{median(rates[ours]):,.0f}",
                f"{median(rates[raw]):,.0f}",
                f"{median(rates[ours]) / median(rates[raw]):.2f}",
            ]
        )
    print(table(["broker", "App msg/s", "hand-written ALO msg/s", "App x loop"], rows))
    if args.json:
        Path(args.json).write_text(json.dumps({"messages": args.messages, "rates": rates}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
