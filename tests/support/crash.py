"""Echo adapters stopped mid-stream, as processes: the harness of the crash tests.

``python -m flowintegrations run tests/support/echo_adapter.py:app`` answers
:data:`REQUESTS` requests. :class:`EchoAdapters` starts such processes on one broker, all on
the same fresh topics and group; :func:`stop_and_restart` and :func:`stop_one_of_two` are
the two scenarios, written once for every transport (tests/runtime/test_crash_kafka.py,
test_crash_nats.py). Replies are correlated by ``processInstanceId`` and go to a topic of
one partition, so once every request is answered every duplicate has been read too.
"""

from __future__ import annotations

import asyncio
import collections
import json
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import attrs

from flowintegrations.transport import Record, Subscription, Transport
from support.kafka import fresh
from support.processes import ECHO_ADAPTER, start_command, wait_for_output

REQUESTS = 2_000
STOP_AFTER = 600  # replies seen before the first adapter is stopped
SECRET = "jwt-of-the-crash-test-do-not-log"


def request(out_topic: str, n: int) -> Record:
    """Request number ``n``: payload {"n": n}, processInstanceId n, and a secret jwt."""
    headers = (
        ("processInstanceId", str(n).encode()),
        ("processInstanceUuid", f"uuid-{n}".encode()),
        ("jwt", SECRET.encode()),
    )
    return Record(out_topic, str(n).encode(), json.dumps({"n": n}).encode(), headers)


@attrs.define
class EchoAdapters:
    """Starts echo adapters as processes, all on the same fresh topics and group.

    ``bootstrap`` and ``options`` go to ``run``; ``connect`` makes the test's own client
    of the same broker (the engine's side).
    """

    bootstrap: str
    options: tuple[str, ...]
    connect: Callable[[], Transport]
    logs: Path
    out_topic: str = attrs.field(factory=lambda: fresh("echo.out"))
    in_topic: str = attrs.field(factory=lambda: fresh("echo.in"))
    group_id: str = attrs.field(factory=lambda: fresh("echo.adapter"))
    processes: list[subprocess.Popen[bytes]] = attrs.field(factory=list)
    exactly_once: bool = False

    def start(self) -> subprocess.Popen[bytes]:
        """Start one more adapter process; its output goes to ``logs/adapter-<i>.log``."""
        process = start_command(
            "run",
            f"{ECHO_ADAPTER}:app",
            f"--bootstrap={self.bootstrap}",
            "--create-topics",
            *self.options,
            log=self.log(len(self.processes)),
            env={
                "ECHO_OUT_TOPIC": self.out_topic,
                "ECHO_IN_TOPIC": self.in_topic,
                "ECHO_GROUP_ID": self.group_id,
                "ECHO_EXACTLY_ONCE": "1" if self.exactly_once else "0",
            },
        )
        self.processes.append(process)
        return process

    def log(self, index: int) -> Path:
        """Where the output of adapter number ``index`` goes."""
        return self.logs / f"adapter-{index}.log"

    async def started(self, index: int) -> None:
        """Wait until adapter number ``index`` logs that it has started."""
        process = self.processes[index]
        await asyncio.to_thread(wait_for_output, process, self.log(index), " started ")

    async def stop(self, process: subprocess.Popen[bytes]) -> None:
        """SIGTERM ``process`` and wait: it must exit cleanly (0), else its output is shown."""
        process.send_signal(signal.SIGTERM)
        assert (await asyncio.to_thread(process.wait, 60)) == 0, self.output()

    def output(self) -> str:
        """Everything every adapter wrote."""
        return "".join(self.log(i).read_text() for i in range(len(self.processes)))

    def kill_all(self) -> None:
        """Kill the adapters still running (after a failed test)."""
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


async def read_replies(
    replies: Subscription,
    counts: collections.Counter[str],
    done: Callable[[], bool],
    *,
    timeout: float = 60.0,
) -> None:
    """Count replies by processInstanceId until ``done()``; fail after ``timeout`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done():
        if loop.time() > deadline:
            msg = f"{len(counts)} of {REQUESTS} requests answered within {timeout} s"
            raise AssertionError(msg)
        for record in await replies.getmany(max_records=500, timeout=0.2):
            pid = (record.header("processInstanceId") or b"").decode()
            assert json.loads(record.value) == {"n": int(pid)}
            counts[pid] += 1


async def drain(replies: Subscription, counts: collections.Counter[str]) -> None:
    """Count whatever replies are still on their way, until a poll comes back empty."""
    while records := await replies.getmany(max_records=500, timeout=1.0):
        for record in records:
            counts[(record.header("processInstanceId") or b"").decode()] += 1


async def send_requests(transport: Transport, out_topic: str) -> None:
    """Produce every request (all in flight), then wait for the acknowledgements."""
    acks = [await transport.produce(request(out_topic, n)) for n in range(REQUESTS)]
    await asyncio.gather(*acks)


async def stop_and_restart(
    adapters: EchoAdapters, stop: signal.Signals
) -> tuple[collections.Counter[str], int]:
    """Send every request, stop the first adapter with ``stop`` mid-stream, start another.

    Returns the replies counted by processInstanceId, and how many requests were answered
    before the stop.
    """
    transport = adapters.connect()
    await transport.start()
    try:
        await transport.create_topics([adapters.out_topic], partitions=2)
        await transport.create_topics([adapters.in_topic], partitions=1)
        first = adapters.start()
        replies = await transport.subscribe([adapters.in_topic], group_id=fresh("engine"))
        await send_requests(transport, adapters.out_topic)
        counts: collections.Counter[str] = collections.Counter()
        await read_replies(replies, counts, lambda: len(counts) >= STOP_AFTER)
        first.send_signal(stop)
        await asyncio.to_thread(first.wait, 60)
        await drain(replies, counts)
        answered_by_first = len(counts)
        second = adapters.start()
        await read_replies(replies, counts, lambda: len(counts) == REQUESTS)
        await adapters.started(1)
        await adapters.stop(second)
        await drain(replies, counts)
        await replies.close()
    finally:
        await transport.stop()
    return counts, answered_by_first


async def stop_one_of_two(adapters: EchoAdapters) -> collections.Counter[str]:
    """Two adapters share four partitions; stop one mid-stream, let the other finish."""
    transport = adapters.connect()
    await transport.start()
    try:
        await transport.create_topics([adapters.out_topic], partitions=4)
        await transport.create_topics([adapters.in_topic], partitions=1)
        first, second = adapters.start(), adapters.start()
        replies = await transport.subscribe([adapters.in_topic], group_id=fresh("engine"))
        await adapters.started(0)
        await adapters.started(1)
        await send_requests(transport, adapters.out_topic)
        counts: collections.Counter[str] = collections.Counter()
        await read_replies(replies, counts, lambda: len(counts) >= STOP_AFTER)
        await adapters.stop(first)
        await read_replies(replies, counts, lambda: len(counts) == REQUESTS)
        await adapters.stop(second)
        await drain(replies, counts)
        await replies.close()
    finally:
        await transport.stop()
    return counts
