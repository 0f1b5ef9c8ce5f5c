"""Profile the App pipeline with pyinstrument while it drains a backlog.

    .venv/bin/python bench/profile.py [--messages 30000] [--kind ours] [--out FILE]

Produces a backlog of OTP requests on the local broker, runs the adapter
(bench/adapters.py KIND --profile FILE) until every reply is on the in topic, stops it
with SIGTERM and leaves pyinstrument's text report in ``bench/results/profile-KIND.txt``.
The report covers the whole process (start and group join included); the drain dominates.
"""

from __future__ import annotations

import argparse
import sys

from common import (
    RESULTS,
    ReplyCounter,
    create_topics,
    fresh,
    produce_backlog,
    start_adapter,
    stop_process,
)

from flowintegrations.testing.broker import local_broker


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=30_000)
    parser.add_argument("--kind", default="ours")
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    out = args.out or str(RESULTS / f"profile-{args.kind}.txt")
    RESULTS.mkdir(parents=True, exist_ok=True)
    with local_broker() as bootstrap:
        out_topic, in_topic = fresh("prof.out"), fresh("prof.in")
        create_topics(bootstrap, [out_topic, in_topic, out_topic + ".DLT"])
        produce_backlog(bootstrap, out_topic, args.messages)
        counter = ReplyCounter(bootstrap, in_topic)
        proc = start_adapter(args.kind, bootstrap, out_topic, in_topic, profile=out)
        try:
            counter.wait_for(args.messages, 300.0, alive=lambda: proc.poll() is None)
            print(f"{args.kind}: {counter.rate():,.0f} msg/s while profiled")
        finally:
            stop_process(proc, timeout=60.0)
            counter.close()
    print(f"profile written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
