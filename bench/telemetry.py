"""The cost of observability in memory: the App before it, and with telemetry off and on.

    .venv/bin/python bench/telemetry.py [--messages 30000] [--rounds 8] [--baseline REF]

No broker: ``--messages`` requests are put on an InMemoryTransport, then an App drains
them (a sync handler, the reply validated and sent) and the rate counts from its start to
the last reply. Each run is its own process; a round runs every contender once, in
alternating order. Contenders: ``before`` is the App as of git ``--baseline`` (default:
where this branch left main), imported from an exported copy; ``off`` is the working tree
with ``telemetry=None``; ``metrics`` has a Telemetry without a tracer provider; ``traced``
has the OpenTelemetry SDK making every span, batched to an exporter that drops them.
``bench/pipeline.py overhead`` measures the same through a broker.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from common import median, table

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("before", "off", "metrics", "traced")
TRACEPARENT = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def telemetry(kind: str) -> dict[str, Any]:
    """The App's ``telemetry`` option for ``kind`` (none at all for before and off)."""
    if kind in ("before", "off"):
        return {}
    from adapters import noop_telemetry  # noqa: PLC0415

    return {"telemetry": noop_telemetry(tracing=kind == "traced")}


async def drain(kind: str, messages: int) -> float:
    """Requests per second an App drains from a backlog of ``messages`` in memory."""
    from common import EXPIRES, OTP_REQUEST, otp_on  # noqa: PLC0415

    from flowintegrations import App, Retry  # noqa: PLC0415
    from flowintegrations.transport import InMemoryTransport, Record  # noqa: PLC0415

    integration, otp = otp_on("bench.otp.out", "bench.otp.in")
    transport = InMemoryTransport()
    await transport.start()
    value = json.dumps(OTP_REQUEST).encode()
    for i in range(messages):
        headers = (
            ("processInstanceId", str(i).encode()),
            ("processInstanceUuid", f"uuid-{i}".encode()),
            ("traceparent", TRACEPARENT),
        )
        await transport.send(Record("bench.otp.out", b"k", value, headers))
    app = App(integration, transport=transport, retry=Retry(attempts=1), **telemetry(kind))

    @app.handler(otp)
    def generate_otp(payload: dict[str, Any]) -> dict[str, Any]:
        return {"otpId": "otp-" + payload["recipient"], "expiresAt": EXPIRES}

    started = time.perf_counter()
    await app.start()
    while transport.count("bench.otp.in") < messages:  # noqa: ASYNC110 - polling is cheap here
        await asyncio.sleep(0.001)
    took = time.perf_counter() - started
    await app.stop()
    await transport.stop()
    return messages / took


def run_once(kind: str, messages: int, source: str) -> float:
    """:func:`drain` in a process of its own (importing ``source`` first, if given)."""
    path = os.pathsep.join(p for p in (source, str(ROOT / "bench")) if p)
    done = subprocess.run(
        [sys.executable, __file__, "--drain", kind, "--messages", str(messages)],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--baseline", default="")
    parser.add_argument("--drain", choices=KINDS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drain:
        print(asyncio.run(drain(args.drain, args.messages)))
        return 0
    ref = (
        args.baseline
        or subprocess.run(
            ["git", "merge-base", "HEAD", "main"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    rates: dict[str, list[float]] = {k: [] for k in KINDS}
    with tempfile.TemporaryDirectory(prefix="fi-baseline-") as tmp:
        archive = subprocess.run(
            ["git", "archive", ref, "src"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        for round_ in range(args.rounds):
            for kind in KINDS if round_ % 2 == 0 else KINDS[::-1]:
                source = str(Path(tmp) / "src") if kind == "before" else ""
                rates[kind].append(run_once(kind, args.messages, source))
                print(f"round {round_ + 1}: {kind:8} {rates[kind][-1]:>10,.0f} msg/s", flush=True)
    before = median(rates["before"]) or 1.0
    rows = [
        (
            kind,
            f"{min(rates[kind]):,.0f}",
            f"{median(rates[kind]):,.0f}",
            f"{max(rates[kind]):,.0f}",
            f"{median(rates[kind]) / before:.2f}",
        )
        for kind in KINDS
    ]
    print(f"baseline {ref[:12]}, {args.messages:,} requests, {args.rounds} rounds")
    print(table(["telemetry", "min msg/s", "median", "max", "x before"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
