"""Memory under backlog: an adapter's peak RSS does not grow with the backlog it faces.

    .venv/bin/python bench/memory.py [--small 50000] [--large 500000] [--window 12]
        [--slow-ms 2] [--partitions 4] [--rounds 2]

Method. Two backlogs of OTP requests (``--small`` and ``--large``) are produced once, with
batching (linger.ms=5, up to 10,000 records a batch), over ``--partitions`` partitions.
Then, alternating, an ``ours`` adapter process (App + KafkaTransport, a sync handler that
sleeps ``--slow-ms`` per request) is started on each backlog with a fresh consumer group;
from its first reply on, it drains for a fixed window of ``--window`` seconds, then its
peak resident set size (``VmHWM`` from /proc) is read and it is stopped. The handler is
slow on purpose: the adapter can never catch up, so everything it could hold in memory
is waiting for it (a drain-everything run would take minutes on the large backlog and
would not say more). Bounded in-flight work (``max_in_flight``: fetching pauses past it)
should keep the two peaks within +-10 %.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from common import (
    ReplyCounter,
    create_topics,
    fresh,
    median,
    peak_rss_mb,
    produce_backlog,
    start_adapter,
    stop_process,
    table,
)

from flowintegrations.testing.broker import local_broker


def run_window(bootstrap: str, topic: str, window: float, slow_ms: float) -> tuple[float, int]:
    in_topic = fresh("mem.in")
    create_topics(bootstrap, [in_topic])
    counter = ReplyCounter(bootstrap, in_topic)
    proc = start_adapter("ours", bootstrap, topic, in_topic, group=fresh("g.mem"), slow_ms=slow_ms)
    try:
        if not counter.wait_for(1, 90.0, alive=lambda: proc.poll() is None):
            raise RuntimeError("the adapter never replied")
        end = time.monotonic() + window
        while time.monotonic() < end:
            counter.wait_for(10**9, min(1.0, end - time.monotonic()))
        return peak_rss_mb(proc.pid), counter.count
    finally:
        stop_process(proc)
        counter.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=50_000)
    parser.add_argument("--large", type=int, default=500_000)
    parser.add_argument("--window", type=float, default=12.0)
    parser.add_argument("--slow-ms", type=float, default=2.0)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    peaks: dict[int, list[float]] = {args.small: [], args.large: []}
    replies: dict[int, list[int]] = {args.small: [], args.large: []}
    with local_broker() as bootstrap:
        topics = {}
        for size in (args.small, args.large):
            topic = topics[size] = fresh(f"mem.out.{size}")
            create_topics(bootstrap, [topic, topic + ".DLT"], args.partitions)
            took = produce_backlog(bootstrap, topic, size, args.partitions)
            print(f"backlog of {size:,} produced in {took:.1f}s", flush=True)
        for round_ in range(args.rounds):
            order = (args.small, args.large) if round_ % 2 == 0 else (args.large, args.small)
            for size in order:
                peak, count = run_window(bootstrap, topics[size], args.window, args.slow_ms)
                peaks[size].append(peak)
                replies[size].append(count)
                print(
                    f"round {round_ + 1}: backlog {size:>7,}: peak RSS {peak:6.1f} MiB,"
                    f" {count:,} replies in {args.window:.0f}s",
                    flush=True,
                )
    small, large = median(peaks[args.small]), median(peaks[args.large])
    rows = [
        (
            f"{size:,}",
            f"{median(peaks[size]):.1f}",
            " / ".join(f"{p:.1f}" for p in peaks[size]),
            f"{median([float(c) for c in replies[size]]):,.0f}",
        )
        for size in (args.small, args.large)
    ]
    print(table(["backlog", "peak RSS MiB (median)", "rounds", "replies in window"], rows))
    print(f"large/small peak RSS: {large / small:.3f} (target 0.90 .. 1.10)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        result = {
            "peaks_mib": {str(k): v for k, v in peaks.items()},
            "replies": {str(k): v for k, v in replies.items()},
            "ratio": large / small,
            "window_s": args.window,
            "slow_ms": args.slow_ms,
            "partitions": args.partitions,
        }
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
