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
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.crash import REQUESTS, EchoAdapters, stop_and_restart, stop_one_of_two
from support.kafka import kafka_transport
from support.processes import TANSU_OPTIONS

pytestmark = pytest.mark.kafka


@pytest.fixture
def adapters(kafka_bootstrap: str, tmp_path: Path) -> Iterator[EchoAdapters]:
    """Echo adapter processes on fresh topics; any left running are killed at the end."""
    started = EchoAdapters(
        kafka_bootstrap, TANSU_OPTIONS, lambda: kafka_transport(kafka_bootstrap), tmp_path
    )
    try:
        yield started
    finally:
        started.kill_all()


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


def test_one_of_two_adapters_stopped_leaves_every_request_answered_exactly_once(
    adapters: EchoAdapters,
) -> None:
    """When one of two adapters stops, the other takes over and nothing is answered twice."""
    counts = asyncio.run(stop_one_of_two(adapters))
    assert {pid: count for pid, count in counts.items() if count != 1} == {}
    assert sorted(counts) == sorted(str(n) for n in range(REQUESTS))
