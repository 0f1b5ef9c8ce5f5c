"""An adapter process on NATS JetStream killed or stopped mid-stream, as on Kafka.

``python -m flowintegrations run tests/support/echo_adapter.py:app --bootstrap nats://...``
answers 2,000 requests spread over two partitions (four when two adapters share them).
Killed half-way (SIGKILL) and started again, every request is answered, some twice: the
new process takes the partitions once the dead one's leases expire and starts from the
acknowledged floor. Or two adapters share the work and one is stopped (SIGTERM): the other
takes its partitions over, and every request is answered exactly once. Replies are
correlated by ``processInstanceId`` and go to a topic of one partition, so once every
request is answered every duplicate has been read too. (The same tests on Kafka:
``test_crash_kafka.py``.)
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.crash import REQUESTS, SECRET, EchoAdapters, stop_and_restart, stop_one_of_two
from support.jetstream import SERVERS, nats_transport

NATS_OPTIONS = ("--config=storage=memory", "--config=max_age=3600", "--config=heartbeat=0.2")


@pytest.fixture
def adapters(nats_servers: str, tmp_path: Path) -> Iterator[EchoAdapters]:
    """Echo adapter processes on fresh subjects; any left running are killed at the end."""
    started = EchoAdapters(SERVERS, NATS_OPTIONS, nats_transport, tmp_path)
    try:
        yield started
    finally:
        started.kill_all()


def test_killed_adapter_on_nats_restarted_answers_every_request(
    adapters: EchoAdapters, record_property: Callable[[str, object], None]
) -> None:
    """After a SIGKILL mid-stream and a restart, every request has at least one reply."""
    counts, answered_by_first = asyncio.run(stop_and_restart(adapters, signal.SIGKILL))
    duplicates = sum(count - 1 for count in counts.values())
    record_property("answered_before_kill", answered_by_first)
    record_property("answered_twice", duplicates)
    print(  # noqa: T201 - the report this test exists for
        f"NATS, SIGKILL after {answered_by_first} replies: {REQUESTS - len(counts)} of "
        f"{REQUESTS} lost, {duplicates} answered twice"
    )
    assert sorted(counts) == sorted(str(n) for n in range(REQUESTS))
    assert SECRET not in adapters.output()


def test_one_of_two_adapters_on_nats_stopped_leaves_every_request_answered_once(
    adapters: EchoAdapters, record_property: Callable[[str, object], None]
) -> None:
    """When one of two adapters stops, the other takes over and nothing is answered twice."""
    counts = asyncio.run(stop_one_of_two(adapters))
    twice = {pid: count for pid, count in counts.items() if count != 1}
    record_property("answered_twice", len(twice))
    print(  # noqa: T201 - the report this test exists for
        f"NATS, SIGTERM hand-over: {REQUESTS - len(counts)} of {REQUESTS} lost, "
        f"{len(twice)} answered twice"
    )
    assert twice == {}
    assert sorted(counts) == sorted(str(n) for n in range(REQUESTS))
