"""JetStreamTransport rides out a restart of its NATS server (a server of the test's own)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowintegrations.transport import Record
from flowintegrations.transport.nats import JetStreamTransport

NATS_SERVER = "/usr/sbin/nats-server"


class OwnServer:
    """A nats-server with JetStream on a free loopback port, its data in a directory."""

    def __init__(self, store: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.command = [NATS_SERVER, "-js", "-sd", str(store), "-p", str(self.port)]
        self.command += ["-a", "127.0.0.1"]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Where it listens."""
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start it; return once it accepts connections."""
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop it (SIGTERM), waiting until it has."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[OwnServer]:
    """A started server of this test alone, stopped at the end."""
    started = OwnServer(tmp_path)
    started.start()
    try:
        yield started
    finally:
        started.stop()


async def across_a_restart(server: OwnServer) -> tuple[list[bytes], list[bytes], int | None]:
    """Send and read one record, restart the server, send and read another."""
    transport = JetStreamTransport(server.url, create_topics=True, heartbeat=0.2, timeout=10)
    await transport.start()
    try:
        await transport.create_topics(["restart.t"], partitions=1)
        member = await transport.subscribe(["restart.t"], group_id="restart.g")
        await transport.send(Record("restart.t", value=b"before"))
        before = await read_one(member)
        await member.commit({before[0].topic_partition: 1})
        await asyncio.to_thread(server.stop)
        await asyncio.to_thread(server.start)
        written = await transport.send(Record("restart.t", value=b"after"))
        after = await read_one(member)
    finally:
        await transport.stop()
    return [r.value for r in before], [r.value for r in after], written.offset


async def read_one(member: object) -> list[Record]:
    """The next records of ``member``, waiting up to 20 s for the first."""
    from flowintegrations.transport import Subscription  # noqa: PLC0415

    assert isinstance(member, Subscription)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if got := await member.getmany(timeout=1.0):
            return got
    return []


def test_sending_and_reading_go_on_after_the_server_restarts(server: OwnServer) -> None:
    """After a restart, a record sent is written after the committed one and read next."""
    before, after, offset = asyncio.run(across_a_restart(server))
    assert (before, after, offset) == ([b"before"], [b"after"], 1)
