"""Pipeline benchmarks on one broker: request->reply throughput, latency, and scaling.

    .venv/bin/python bench/pipeline.py throughput [--messages 50000] [--rounds 3]
    .venv/bin/python bench/pipeline.py latency [--requests 300] [--rounds 2]
    .venv/bin/python bench/pipeline.py scaling [--messages 40000] [--rounds 1]
    .venv/bin/python bench/pipeline.py overhead [--baseline REF] [--messages 50000] [--rounds 5]

Throughput: per round, one backlog of OTP requests (produced by a plain batching producer)
is drained by each contender in turn (bench/adapters.py, its own process, its own consumer
group and in topic); the rate counts from the first reply on the in topic to the last.
Group joins and process start are therefore not counted. FastStream awaits every publish
and is ~50x slower, so it only drains the first ``--faststream-messages`` requests.

Latency: an engine sends one request, waits for its reply, sends the next; p50/p99 of the
round trips. Every client and adapter uses linger.ms=0 here and fetch.wait.max.ms=5.

Scaling: 1, 2 and 4 partitions, with as many adapter processes of one kind; the adapters
join first (a warm-up request per partition must come back), then the backlog is produced
in one transaction (it appears at once: consumers read committed records) and the rate
is measured as above.

Overhead: the cost of observability, in one run. ``ours-base`` is the App as of git
``--baseline`` (default: where this branch left main), exported to a temporary directory
and imported instead of the working tree; ``ours`` is the working tree with telemetry off;
``ours-metrics`` has telemetry on without a tracer provider (metrics only); ``ours-otel``
has telemetry on (the OpenTelemetry SDK making every span, batched to a
no-op exporter, and the SDK meter provider). Drained like ``throughput``, in alternating
order; the table gives min/median/max and each median as a ratio of ``ours-base``.

Each mode prints a Markdown table and, with ``--json FILE``, writes its numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from common import (
    OTP_REQUEST,
    ReplyCounter,
    consumer_conf,
    create_topics,
    fresh,
    median,
    otp_on,
    percentile,
    produce_backlog,
    producer_conf,
    request_headers,
    start_adapter,
    stop_process,
    table,
    thread_cpu,
)
from confluent_kafka import Consumer, Producer

from flowintegrations.testing.broker import TANSU_TEST_CONFIG, local_broker

THROUGHPUT_KINDS = (
    "raw",
    "ours",
    "raw-fjs",
    "raw-alo",
    "ours-async",
    "ours-inline",
    "ours-eos",
    "faststream",
)
OVERHEAD_KINDS = ("ours-base", "ours", "ours-metrics", "ours-otel")
BASELINE_SOURCE = ""
"""Where ``ours-base`` imports flowintegrations from (set by the overhead mode)."""


# Throughput ---------------------------------------------------------------------------------


def drain(
    bootstrap: str, kind: str, out_topic: str, n: int, timeout: float = 180.0
) -> tuple[float, float, float]:
    """The rate of ``kind`` draining ``n`` requests; its CPU us a message: in all, main thread."""
    in_topic = fresh(f"{kind}.in")
    create_topics(bootstrap, [in_topic])
    counter = ReplyCounter(bootstrap, in_topic)
    # KIND-base: that kind on the baseline's code (the overhead mode's --baseline).
    adapter, source = (kind[:-5], BASELINE_SOURCE) if kind.endswith("-base") else (kind, "")
    proc = start_adapter(
        adapter, bootstrap, out_topic, in_topic, source=source, group=fresh(f"g.{kind}")
    )
    try:
        done = counter.wait_for(
            n,
            timeout,
            alive=lambda: proc.poll() is None,
            stall=10.0,
            cpu=lambda: thread_cpu(proc.pid),
        )
        if not done:
            print(f"  {kind}: only {counter.count} of {n} replies", file=sys.stderr)
        return (counter.rate(), *counter.cpu_per_message())
    finally:
        stop_process(proc)
        counter.close()


def throughput(bootstrap: str, args: argparse.Namespace, reference: str = "raw") -> dict[str, Any]:
    kinds = [k for k in args.kinds.split(",") if k]
    rates: dict[str, list[float]] = {k: [] for k in kinds}
    cpu: dict[str, list[float]] = {k: [] for k in kinds}
    cpu_main: dict[str, list[float]] = {k: [] for k in kinds}
    for round_ in range(args.rounds):
        out_topic = fresh("otp.out")
        create_topics(bootstrap, [out_topic, out_topic + ".DLT"])
        took = produce_backlog(bootstrap, out_topic, args.messages)
        print(f"round {round_ + 1}: backlog of {args.messages:,} in {took:.1f}s", flush=True)
        order = kinds if round_ % 2 == 0 else kinds[::-1]
        for kind in order:
            n = args.faststream_messages if kind == "faststream" else args.messages
            rate, cpu_all, cpu_loop = drain(bootstrap, kind, out_topic, n)
            rates[kind].append(rate)
            cpu[kind].append(cpu_all)
            cpu_main[kind].append(cpu_loop)
            print(
                f"  {kind:12} {rate:>10,.0f} msg/s  CPU {cpu_all:5.1f} us/msg"
                f" (main thread {cpu_loop:5.1f})",
                flush=True,
            )
    med = {k: median(v) for k, v in rates.items()}
    raw = med.get(reference) or 1.0
    cpu_med = {k: median(v) for k, v in cpu.items()}
    rows = [
        (
            k,
            f"{args.faststream_messages if k == 'faststream' else args.messages:,}",
            f"{min(rates[k]):,.0f}",
            f"{med[k]:,.0f}",
            f"{max(rates[k]):,.0f}",
            f"{max(rates[k]) / min(rates[k]):.2f}" if min(rates[k]) else "-",
            f"{med[k] / raw:.2f}",
            f"{min(cpu[k]):.1f} / {cpu_med[k]:.1f} / {max(cpu[k]):.1f}",
            f"{median(cpu_main[k]):.1f}",
            f"{cpu_med[reference] / cpu_med[k]:.2f}"
            if cpu_med.get(reference) and cpu_med[k]
            else "-",
        )
        for k in kinds
    ]
    print(
        table(
            [
                "contender",
                "requests",
                "min msg/s",
                "median",
                "max",
                "max/min",
                f"x {reference}",
                "CPU us/msg min/med/max",
                "main thread",
                f"x {reference} by CPU",
            ],
            rows,
        )
    )
    if med.get("ours") and "ours-eos" in med:
        print(f"exactly once (ours-eos / ours): {med['ours-eos'] / med['ours']:.2f}x")
    return {
        "rates": rates,
        "median": med,
        "cpu_us_per_message": cpu,
        "cpu_main_us_per_message": cpu_main,
        "messages": args.messages,
        "faststream_messages": args.faststream_messages,
        "rounds": args.rounds,
    }


def overhead(bootstrap: str, args: argparse.Namespace) -> dict[str, Any]:
    """Throughput of the baseline, telemetry off, and telemetry on; ratios to the baseline."""
    global BASELINE_SOURCE  # noqa: PLW0603 - read by drain(), set once per run
    root = Path(__file__).resolve().parent.parent
    ref = (
        args.baseline
        or subprocess.run(
            ["git", "merge-base", "HEAD", "main"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    with tempfile.TemporaryDirectory(prefix="fi-baseline-") as tmp:
        archive = subprocess.run(
            ["git", "archive", ref, "src"], cwd=root, capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        BASELINE_SOURCE = str(Path(tmp) / "src")
        print(f"baseline: {ref[:12]} from {BASELINE_SOURCE}", flush=True)
        args.kinds = args.kinds or ",".join(OVERHEAD_KINDS)
        reference = next(k for k in args.kinds.split(",") if k.endswith("-base"))
        result = throughput(bootstrap, args, reference=reference)
    result["baseline"] = ref
    return result


# Latency --------------------------------------------------------------------------------------


def raw_engine_latency(bootstrap: str, out_topic: str, in_topic: str, n: int) -> list[float]:
    """A plain confluent-kafka engine: produce one request, consume until its reply."""
    producer = Producer(producer_conf(bootstrap, **{"linger.ms": 0}))
    consumer = Consumer(consumer_conf(bootstrap, fresh("engine")))
    consumer.subscribe([in_topic])
    value = json.dumps(OTP_REQUEST).encode()
    times = []
    try:
        for i in range(n + 1):
            headers = request_headers(i)
            start = time.perf_counter()
            producer.produce(out_topic, value, headers[1][1], headers=headers)
            producer.poll(0)
            timeout = 60.0 if i == 0 else 10.0  # the first one waits for both group joins
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                message = consumer.poll(0.1)
                if message is not None and message.error() is None:
                    break
            else:
                raise TimeoutError(f"no reply to request {i}")
            if i:  # request 0 only warms up
                times.append(time.perf_counter() - start)
        producer.flush(5)
    finally:
        consumer.close()
    return times


async def client_latency(bootstrap: str, out_topic: str, in_topic: str, n: int) -> list[float]:
    """Our EngineClient: ``await client.request(...)`` one after the other."""
    from flowintegrations import EngineClient  # noqa: PLC0415
    from flowintegrations.transport import KafkaTransport  # noqa: PLC0415

    integration, otp = otp_on(out_topic, in_topic)
    transport = KafkaTransport(bootstrap, config={**TANSU_TEST_CONFIG, "linger.ms": 0})
    await transport.start()
    times = []
    try:
        async with EngineClient(integration, transport=transport) as client:
            await client.request(otp, OTP_REQUEST, timeout=60.0)
            for _ in range(n):
                start = time.perf_counter()
                await client.request(otp, OTP_REQUEST, timeout=10.0)
                times.append(time.perf_counter() - start)
    finally:
        await transport.stop()
    return times


LATENCY_PAIRS = (
    ("raw engine -> raw adapter", "raw", "raw"),
    ("EngineClient -> App (ours)", "client", "ours"),
    ("raw engine -> App (ours)", "raw", "ours"),
    ("raw engine -> FastStream", "raw", "faststream"),
)


def latency(bootstrap: str, args: argparse.Namespace) -> dict[str, Any]:
    samples: dict[str, list[float]] = {name: [] for name, _, _ in LATENCY_PAIRS}
    for round_ in range(args.rounds):
        order = LATENCY_PAIRS if round_ % 2 == 0 else LATENCY_PAIRS[::-1]
        for name, engine, kind in order:
            out_topic, in_topic = fresh("lat.out"), fresh("lat.in")
            create_topics(bootstrap, [out_topic, in_topic, out_topic + ".DLT"])
            proc = start_adapter(
                kind, bootstrap, out_topic, in_topic, linger_ms=0, group=fresh(f"g.{kind}")
            )
            try:
                if engine == "raw":
                    times = raw_engine_latency(bootstrap, out_topic, in_topic, args.requests)
                else:
                    times = asyncio.run(
                        client_latency(bootstrap, out_topic, in_topic, args.requests)
                    )
            finally:
                stop_process(proc)
            samples[name].extend(times)
            p50, p99 = percentile(times, 0.5) * 1000, percentile(times, 0.99) * 1000
            print(f"round {round_ + 1}: {name:30} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms", flush=True)
    stats = {
        name: {"p50_ms": percentile(v, 0.5) * 1000, "p99_ms": percentile(v, 0.99) * 1000}
        for name, v in samples.items()
    }
    raw_p99 = stats[LATENCY_PAIRS[0][0]]["p99_ms"] or 1.0
    rows = [
        (
            name,
            len(samples[name]),
            f"{s['p50_ms']:.2f}",
            f"{s['p99_ms']:.2f}",
            f"{s['p99_ms'] / raw_p99:.2f}",
        )
        for name, s in stats.items()
    ]
    print(table(["engine -> adapter", "round trips", "p50 ms", "p99 ms", "p99 x raw"], rows))
    return {"stats": stats, "requests": args.requests, "rounds": args.rounds}


# Scaling --------------------------------------------------------------------------------------


def scale_once(bootstrap: str, kind: str, partitions: int, n: int) -> float:
    out_topic, in_topic = fresh("scale.out"), fresh("scale.in")
    create_topics(bootstrap, [out_topic, out_topic + ".DLT"], partitions)
    create_topics(bootstrap, [in_topic])
    began = time.monotonic()
    group = fresh(f"g.{kind}")
    procs = [
        start_adapter(kind, bootstrap, out_topic, in_topic, group=group) for _ in range(partitions)
    ]
    counter = ReplyCounter(bootstrap, in_topic)
    try:
        # Warm up: one request per partition must come back, so every member has joined.
        warm = Producer(producer_conf(bootstrap, **{"linger.ms": 0}))
        value = json.dumps(OTP_REQUEST).encode()
        for p in range(partitions):
            headers = request_headers(10_000_000 + p)
            warm.produce(out_topic, value, headers[1][1], partition=p, headers=headers)
        warm.flush(10)
        if not counter.wait_for(partitions, 90.0):
            print(f"  {kind} x{partitions}: warm-up failed", file=sys.stderr)
            return 0.0
        print(f"  {kind} x{partitions}: joined after {time.monotonic() - began:.0f}s", flush=True)
        time.sleep(1.0)  # let a late rebalance settle
        counter.count = 0
        counter.first = counter.last = 0.0
        # One transaction: the whole backlog becomes visible at once, so the adapters
        # drain it at their own pace rather than at the producer's.
        produce_backlog(bootstrap, out_topic, n, partitions, transactional=True)
        # The raw loop is not at-least-once: a rebalance can lose a few of its replies.
        if not counter.wait_for(n, 180.0, stall=5.0):
            print(f"  {kind} x{partitions}: only {counter.count} of {n}", flush=True)
        return counter.rate()
    finally:
        for proc in procs:  # stop them all at once: each leaves the group on its own
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            stop_process(proc)
        counter.close()
        print(f"  {kind} x{partitions}: {time.monotonic() - began:.0f}s in all", flush=True)


def scaling(bootstrap: str, args: argparse.Namespace) -> dict[str, Any]:
    kinds = [k for k in args.kinds.split(",") if k]
    rates: dict[str, list[float]] = {}
    counts = [int(p) for p in args.partitions.split(",")]
    for round_ in range(args.rounds):
        for partitions in counts:
            order = kinds if (round_ + partitions) % 2 == 0 else kinds[::-1]
            for kind in order:
                rate = scale_once(bootstrap, kind, partitions, args.messages)
                rates.setdefault(f"{kind} x{partitions}", []).append(rate)
                print(
                    f"round {round_ + 1}: {kind:5} x{partitions}: {rate:>10,.0f} msg/s", flush=True
                )
    med = {k: median(v) for k, v in rates.items()}
    rows = []
    for partitions in counts:
        row: list[Any] = [partitions]
        row.extend(f"{med[f'{kind} x{partitions}']:,.0f}" for kind in kinds)
        ours, raw = med.get(f"ours x{partitions}"), med.get(f"raw x{partitions}")
        row.append(f"{ours / raw:.2f}" if ours and raw else "-")
        rows.append(row)
    print(table(["partitions = processes", *[f"{k} msg/s" for k in kinds], "ours x raw"], rows))
    return {"median": med, "rates": rates, "messages": args.messages, "rounds": args.rounds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["throughput", "latency", "scaling", "overhead"])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--faststream-messages", type=int, default=3_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kinds", default="")
    parser.add_argument("--partitions", default="1,2,4", help="scaling: partition counts")
    parser.add_argument("--json", default="")
    parser.add_argument("--reference", default="raw", help="throughput: the kind ratios are to")
    parser.add_argument("--baseline", default="", help="overhead: the git ref to compare with")
    args = parser.parse_args()
    with local_broker() as bootstrap:
        if args.mode == "throughput":
            args.kinds = args.kinds or ",".join(THROUGHPUT_KINDS)
            result = throughput(bootstrap, args, reference=args.reference)
        elif args.mode == "overhead":
            result = overhead(bootstrap, args)
        elif args.mode == "latency":
            result = latency(bootstrap, args)
        else:
            args.kinds = args.kinds or "raw,ours"
            result = scaling(bootstrap, args)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
