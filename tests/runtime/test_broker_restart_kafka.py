"""The broker killed (SIGKILL) under a running adapter, and started again on the same port.

The broker is a :class:`~flowintegrations.testing.broker.LocalBroker` of the test's own (not
the shared one, which other tests use). Tansu keeps its data in memory, so the restarted
broker knows no topic, group or producer: the test creates the topics again, as the
operator of a real cluster never has to (its topics survive a restart). The adapter is
not restarted: it must ride the outage out, replace its producer (whose producer id the
new broker does not know), rejoin its group and answer the new requests by itself.
"""

from __future__ import annotations

import asyncio
import collections
import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from flowintegrations.testing.broker import LocalBroker
from flowintegrations.transport import KafkaTransport, Record, Subscription
from support.kafka import fresh, kafka_transport, own_broker
from support.processes import ECHO_ADAPTER, TANSU_OPTIONS, log_lines, start_command

pytestmark = pytest.mark.kafka

BEFORE = 300  # requests sent before the kill; the kill comes after 100 replies
AFTER = 200  # requests sent once the broker is back
OUTAGE = 3.0  # seconds the broker is away


def request(out_topic: str, n: int) -> Record:
    """Request number ``n``: payload {"n": n}, processInstanceId n."""
    headers = (("processInstanceId", str(n).encode()),)
    return Record(out_topic, str(n).encode(), json.dumps({"n": n}).encode(), headers)


@pytest.fixture
def broker() -> Iterator[LocalBroker]:
    """A broker of this test's own, which it may kill."""
    with own_broker() as broker:
        yield broker


async def engine(broker: LocalBroker, topics: list[str]) -> tuple[KafkaTransport, Subscription]:
    """The engine's side: topics created, a reader of the in topic (``topics[1]``)."""
    assert broker.bootstrap_servers is not None
    transport = kafka_transport(broker.bootstrap_servers)
    await transport.start()
    await transport.create_topics(topics)
    return transport, await transport.subscribe([topics[1]], group_id=fresh("engine"))


def answered_ids(replies: list[Record]) -> set[str]:
    """The processInstanceIds the ``replies`` answer."""
    return {(record.header("processInstanceId") or b"").decode() for record in replies}


async def answered(
    replies: Subscription, seen: set[str], wanted: set[str], *, enough: int, timeout: float = 60.0
) -> None:
    """Add to ``seen`` the processInstanceIds answered, until ``enough`` of ``wanted`` are."""
    deadline = time.monotonic() + timeout
    while len(seen & wanted) < enough and time.monotonic() < deadline:
        seen.update(answered_ids(await replies.getmany(max_records=500, timeout=0.2)))


async def until_quiet(
    replies: Subscription, seen: set[str], *, quiet: float = 1.0, timeout: float = 15.0
) -> None:
    """Add to ``seen`` the processInstanceIds answered, until none comes for ``quiet`` s."""
    deadline = time.monotonic() + timeout
    last = time.monotonic()
    while time.monotonic() - last < quiet and time.monotonic() < deadline:
        records = await replies.getmany(max_records=500, timeout=0.2)
        if records:
            last = time.monotonic()
        seen.update(answered_ids(records))


async def outage(
    broker: LocalBroker, adapter: subprocess.Popen[bytes], topics: list[str]
) -> dict[str, float | int | set[str]]:
    """Serve some requests, kill the broker mid-stream, restart it, serve new requests."""
    transport, replies = await engine(broker, topics)
    for n in range(BEFORE):
        await transport.produce(request(topics[0], n))
    before: set[str] = set()
    await answered(replies, before, {str(n) for n in range(BEFORE)}, enough=100)
    # The broker's memory dies with it, acknowledged replies too: pause the adapter and read
    # every reply the broker took before the kill, so that a reply lost is the App's fault.
    adapter.send_signal(signal.SIGSTOP)
    try:
        await until_quiet(replies, before)
        await replies.close()
        await transport.stop()
        killed = time.monotonic()
        broker.kill()
    finally:
        adapter.send_signal(signal.SIGCONT)
    await asyncio.sleep(OUTAGE)
    await asyncio.to_thread(broker.start)
    restarted = time.monotonic()
    transport, replies = await engine(broker, topics)
    try:
        wanted = {str(n) for n in range(1000, 1000 + AFTER)}
        for n in range(1000, 1000 + AFTER):
            await transport.produce(request(topics[0], n))
        after: set[str] = set()
        await answered(replies, after, wanted, enough=1)
        first_reply = time.monotonic()
        await answered(replies, after, wanted, enough=AFTER)
        all_replies = time.monotonic()
    finally:
        await replies.close()
        await transport.stop()
    return {
        "answered_before": int(len(before) >= 100),
        "alive": int(adapter.poll() is None),
        "answered_after": after & wanted,
        "earlier_unanswered": {str(n) for n in range(BEFORE)} - before - after,
        "outage_s": restarted - killed,
        "first_reply_s": first_reply - restarted,
        "all_replies_s": all_replies - restarted,
    }


def test_adapter_rides_out_a_broker_restart(
    broker: LocalBroker, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    """An adapter whose broker is killed and restarted serves new requests without a restart."""
    topics = [fresh("restart.out"), fresh("restart.in"), ""]
    topics[2] = topics[0] + ".DLT"
    log = tmp_path / "adapter.log"
    adapter = start_command(
        "run",
        f"{ECHO_ADAPTER}:app",
        f"--bootstrap={broker.bootstrap_servers}",
        "--create-topics",
        *TANSU_OPTIONS,
        log=log,
        env={"ECHO_OUT_TOPIC": topics[0], "ECHO_IN_TOPIC": topics[1], "ECHO_GROUP_ID": fresh("g")},
    )
    try:
        timeline = asyncio.run(outage(broker, adapter, topics))
        adapter.send_signal(signal.SIGTERM)
        code = adapter.wait(60)
    finally:
        if adapter.poll() is None:
            adapter.kill()
            adapter.wait()
    kafka_lines = log_lines(log, "flowintegrations.transport.kafka")
    for key in ("outage_s", "first_reply_s", "all_replies_s"):
        record_property(key, round(float(timeline[key]), 2))  # type: ignore[arg-type]
    record_property("kafka_log_lines", len(kafka_lines))
    print(  # noqa: T201 - the timeline this test exists for
        f"broker away {timeline['outage_s']:.1f} s; after its restart the first reply came in "
        f"{timeline['first_reply_s']:.1f} s, all {AFTER} in {timeline['all_replies_s']:.1f} s; "
        f"{len(kafka_lines)} lines of librdkafka trouble logged"
    )
    assert (timeline["answered_before"], timeline["alive"], code) == (1, 1, 0), log.read_text()
    assert timeline["answered_after"] == {str(n) for n in range(1000, 1000 + AFTER)}
    # Every request fetched before the kill: its reply was written before it, or is
    # produced again by the new producer after the restart (none lost by the App).
    assert timeline["earlier_unanswered"] == set()
    assert any("replaced the Kafka producer" in line for line in kafka_lines), log.read_text()
    kinds = collections.Counter(line.split(": ", 1)[0] for line in kafka_lines)
    assert len(kafka_lines) <= 40, kinds


async def kill_under_load(broker: LocalBroker, topics: list[str]) -> float:
    """Send requests, kill the broker once some are answered; when it died (monotonic)."""
    transport, replies = await engine(broker, topics)
    for n in range(BEFORE):
        await transport.produce(request(topics[0], n))
    await answered(replies, set(), {str(n) for n in range(BEFORE)}, enough=0, timeout=0)
    seen: set[str] = set()
    await answered(replies, seen, {str(n) for n in range(BEFORE)}, enough=20)
    await replies.close()
    await transport.stop()
    broker.kill()
    return time.monotonic()


def test_adapter_that_cannot_deliver_stops_with_one_line_and_exit_code_1(
    broker: LocalBroker, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    """Replies that time out (the broker gone for good) stop the adapter: one line, exit 1."""
    topics = [fresh("gone.out"), fresh("gone.in"), ""]
    topics[2] = topics[0] + ".DLT"
    log = tmp_path / "adapter.log"
    adapter = start_command(
        "run",
        f"{ECHO_ADAPTER}:app",
        f"--bootstrap={broker.bootstrap_servers}",
        *TANSU_OPTIONS,
        "--config=message.timeout.ms=2000",
        log=log,
        env={
            "ECHO_OUT_TOPIC": topics[0],
            "ECHO_IN_TOPIC": topics[1],
            "ECHO_GROUP_ID": fresh("g"),
            "ECHO_DELAY": "0.02",
        },
    )
    try:
        killed = asyncio.run(kill_under_load(broker, topics))
        code = adapter.wait(60)
        took = time.monotonic() - killed
    finally:
        if adapter.poll() is None:
            adapter.kill()
            adapter.wait()
    record_property("exit_after_s", round(took, 2))
    print(f"broker killed; the adapter exited {took:.1f} s later")  # noqa: T201
    errors = [line for line in log.read_text().splitlines() if line.startswith("error: ")]
    assert (code, len(errors)) == (1, 1), log.read_text()
    assert "timed out" in errors[0], errors
