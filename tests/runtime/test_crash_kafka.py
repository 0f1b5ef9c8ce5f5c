"""An adapter process stopped mid-stream and restarted, on the real broker.

``python -m flowintegrations run tests/support/echo_adapter.py:app`` answers 2,000 requests
spread over two partitions. Half-way, it is killed (SIGKILL: at-least-once, every request
answered, some twice) or stopped (SIGTERM: every request answered exactly once), then
started again; with ``exactly_once`` a SIGKILL too leaves exactly one committed reply
per request. Or two adapters share the work and one of them is stopped (SIGTERM): the
other takes its partitions over, and still every request is answered exactly once.
Replies are correlated by ``processInstanceId``; they all go to a topic of one partition,
so once every request is answered every duplicate has been read too.
"""

from __future__ import annotations

import asyncio
import collections
import json
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest

from flowintegrations.transport import KafkaTransport, Record, Subscription
from support.kafka import fresh, kafka_transport
from support.processes import ECHO_ADAPTER, TANSU_OPTIONS, start_command, wait_for_output

pytestmark = pytest.mark.kafka

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
    """Starts echo adapters as processes, all on the same fresh topics and group."""

    bootstrap: str
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
            *TANSU_OPTIONS,
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

    def output(self) -> str:
        """Everything every adapter wrote."""
        return "".join(self.log(i).read_text() for i in range(len(self.processes)))

    def kill_all(self) -> None:
        """Kill the adapters still running (after a failed test)."""
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def adapters(kafka_bootstrap: str, tmp_path: Path) -> Iterator[EchoAdapters]:
    """Echo adapter processes on fresh topics; any left running are killed at the end."""
    started = EchoAdapters(kafka_bootstrap, tmp_path)
    try:
        yield started
    finally:
        started.kill_all()


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


async def stop_and_restart(
    adapters: EchoAdapters, stop: signal.Signals
) -> tuple[collections.Counter[str], int]:
    """Send every request, stop the first adapter with ``stop`` mid-stream, restart it.

    Returns the replies counted by processInstanceId, and how many requests the first
    adapter answered.
    """
    transport = kafka_transport(adapters.bootstrap)
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
        second.send_signal(signal.SIGTERM)
        assert (await asyncio.to_thread(second.wait, 60)) == 0, adapters.output()
        await drain(replies, counts)
        await replies.close()
    finally:
        await transport.stop()
    return counts, answered_by_first


async def send_requests(transport: KafkaTransport, out_topic: str) -> None:
    """Produce every request (batched by the producer), then wait for the broker's acks."""
    acks = [await transport.produce(request(out_topic, n)) for n in range(REQUESTS)]
    await asyncio.gather(*acks)


def test_killed_adapter_restarted_answers_every_request(
    adapters: EchoAdapters, record_property: Callable[[str, object], None]
) -> None:
    """After a SIGKILL mid-stream and a restart, every request has at least one reply."""
    counts, answered_by_first = asyncio.run(stop_and_restart(adapters, signal.SIGKILL))
    duplicates = sum(count - 1 for count in counts.values())
    record_property("answered_before_kill", answered_by_first)
    record_property("answered_twice", duplicates)
    print(  # noqa: T201 - the report this test exists for
        f"SIGKILL after {answered_by_first} replies: {duplicates} of {REQUESTS} requests "
        "answered twice"
    )
    assert sorted(counts) == sorted(str(n) for n in range(REQUESTS))


def test_killed_exactly_once_adapter_restarted_answers_every_request_once(
    adapters: EchoAdapters, record_property: Callable[[str, object], None]
) -> None:
    """With exactly_once, a SIGKILL mid-stream and a restart leave one committed reply each."""
    adapters.exactly_once = True
    counts, answered_by_first = asyncio.run(stop_and_restart(adapters, signal.SIGKILL))
    duplicates = {pid: count for pid, count in counts.items() if count != 1}
    record_property("answered_before_kill", answered_by_first)
    record_property("answered_twice", len(duplicates))
    print(  # noqa: T201 - the report this test exists for
        f"exactly once, SIGKILL after {answered_by_first} replies: "
        f"{REQUESTS - len(counts)} lost, {len(duplicates)} answered twice"
    )
    assert duplicates == {}
    assert sorted(counts) == sorted(str(n) for n in range(REQUESTS))


def test_terminated_adapter_restarted_answers_every_request_exactly_once(
    adapters: EchoAdapters, record_property: Callable[[str, object], None]
) -> None:
    """After a SIGTERM mid-stream and a restart, every request has exactly one reply."""
    counts, answered_by_first = asyncio.run(stop_and_restart(adapters, signal.SIGTERM))
    record_property("answered_before_stop", answered_by_first)
    print(f"SIGTERM after {answered_by_first} replies")  # noqa: T201 - where it stopped
    assert adapters.processes[0].returncode == 0, adapters.output()
    assert {pid: count for pid, count in counts.items() if count != 1} == {}
    assert sorted(counts) == sorted(str(n) for n in range(REQUESTS))


async def stop_one_of_two(adapters: EchoAdapters) -> collections.Counter[str]:
    """Two adapters share four partitions; stop one mid-stream, let the other finish."""
    transport = kafka_transport(adapters.bootstrap)
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
        first.send_signal(signal.SIGTERM)
        assert (await asyncio.to_thread(first.wait, 60)) == 0, adapters.output()
        await read_replies(replies, counts, lambda: len(counts) == REQUESTS)
        second.send_signal(signal.SIGTERM)
        assert (await asyncio.to_thread(second.wait, 60)) == 0, adapters.output()
        await drain(replies, counts)
        await replies.close()
    finally:
        await transport.stop()
    return counts


def test_one_of_two_adapters_stopped_leaves_every_request_answered_exactly_once(
    adapters: EchoAdapters,
) -> None:
    """When one of two adapters stops, the other takes over and nothing is answered twice."""
    counts = asyncio.run(stop_one_of_two(adapters))
    assert {pid: count for pid, count in counts.items() if count != 1} == {}
    assert sorted(counts) == sorted(str(n) for n in range(REQUESTS))
