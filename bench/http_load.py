"""The HTTP load harness of the Flow benchmarks (bench/flow.py, bench/flow_data.py).

Each contender is a server process on a loopback port; keep-alive connections POST one
request body over and over and time each round trip. The contenders alternate rounds, so
that both see the same machine.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from typing import Any

from common import median, percentile

Check = Callable[[bytes], bool]
"""Whether a response body is the right answer."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_up(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


async def _worker(
    port: int, path: str, body: bytes, check: Check, count: int, latencies: list[float]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    message = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    for _ in range(count):
        start = time.perf_counter()
        writer.write(message)
        headers = await reader.readuntil(b"\r\n\r\n")
        if not headers.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(headers.decode())
        length = 0
        for line in headers.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        answer = await reader.readexactly(length)
        latencies.append(time.perf_counter() - start)
        if not check(answer):
            raise RuntimeError(answer[:300].decode())
    writer.close()


async def load(
    port: int, path: str, body: bytes, check: Check, requests: int, concurrency: int
) -> tuple[float, list[float]]:
    """(requests a second, round-trip seconds) of ``requests`` POSTs on ``concurrency``."""
    latencies: list[float] = []
    per = requests // concurrency
    start = time.perf_counter()
    await asyncio.gather(
        *(_worker(port, path, body, check, per, latencies) for _ in range(concurrency))
    )
    return per * concurrency / (time.perf_counter() - start), latencies


def compare(
    servers: Mapping[str, tuple[int, subprocess.Popen[bytes]]],
    path: str,
    body: bytes,
    check: Check,
    *,
    requests: int,
    concurrency: int,
    rounds: int,
    warmup: int,
) -> dict[str, dict[str, Any]]:
    """Load each server in alternating rounds; per server: median rate, rates, p50, p99."""
    kinds = list(servers)
    rates: dict[str, list[float]] = {k: [] for k in kinds}
    latencies: dict[str, list[float]] = {k: [] for k in kinds}
    for port, proc in servers.values():
        wait_up(port, proc)
        asyncio.run(load(port, path, body, check, warmup, concurrency))
    for round_ in range(rounds):
        for kind in kinds if round_ % 2 == 0 else reversed(kinds):
            port = servers[kind][0]
            rate, lat = asyncio.run(load(port, path, body, check, requests, concurrency))
            rates[kind].append(rate)
            latencies[kind].extend(lat)
            print(f"round {round_ + 1} {kind}: {rate:,.0f} req/s", flush=True)
    return {
        kind: {
            "rate": median(rates[kind]),
            "rates": rates[kind],
            "p50_ms": percentile(latencies[kind], 0.50) * 1000,
            "p99_ms": percentile(latencies[kind], 0.99) * 1000,
        }
        for kind in kinds
    }
