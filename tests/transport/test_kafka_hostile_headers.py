"""A header name that is not UTF-8 (defect: confluent-kafka crashes on a second read).

The record is written with kafka-python, which lets a test put raw bytes in a header name
as kcat or a non-Python producer would. Reading it corrupts confluent-kafka's memory, so
the adapter runs as a process (``flowintegrations run``): it must dead-letter the record at
stage ``headers`` and go on answering, at the cost of one crash at most, never a crash loop
(docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from flowintegrations.deadletter import ERROR_STAGE
from flowintegrations.transport import Record
from flowintegrations.vocabulary import BOOTSTRAP_VAR, STATE_DIR_VAR
from support.kafka import fresh, headers_of, kafka_transport
from support.processes import ECHO_ADAPTER, TANSU_OPTIONS, start_command
from test_cli_run import request_echo

pytestmark = pytest.mark.kafka

BAD_NAME = b"bad\xffname"


class RawName(str):
    """A header name kafka-python writes as the raw bytes BAD_NAME."""

    __slots__ = ()

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        """The raw, non-UTF-8 bytes of the name."""
        return BAD_NAME


def write_with_bad_header_name(bootstrap: str, topic: str) -> None:
    """Write one greet request whose first header name is not UTF-8."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, api_version=(2, 5, 0))
    try:
        headers: Any = [(RawName("bad"), b"v"), ("processInstanceId", b"7")]
        producer.send(topic, b'{"name": "Ana"}', key=b"k", headers=headers).get(timeout=30)
    finally:
        producer.close()


def test_a_record_that_crashes_the_client_costs_at_most_two_crashes(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """`run` with a poison record: dead-lettered within three starts, then requests answered.

    confluent-kafka's headers() may crash the process on such a record; the files the
    reader writes first make the next processes find the record and dead-letter it unread.
    """
    out_topic, in_topic = fresh("echo.out"), fresh("echo.in")
    state = tmp_path / "state"
    env = {
        "ECHO_OUT_TOPIC": out_topic,
        "ECHO_IN_TOPIC": in_topic,
        "ECHO_GROUP_ID": fresh("g"),
        STATE_DIR_VAR: str(state),
        BOOTSTRAP_VAR: None,
    }
    asyncio.run(create(kafka_bootstrap, [out_topic, in_topic, out_topic + ".DLT"]))
    write_with_bad_header_name(kafka_bootstrap, out_topic)
    options = (f"--bootstrap={kafka_bootstrap}", *TANSU_OPTIONS)
    crashes = 0
    for start in range(3):
        log = tmp_path / f"run-{start}.log"
        process = start_command("run", f"{ECHO_ADAPTER}:app", *options, log=log, env=env)
        try:
            dead = asyncio.run(first_dead_letter(kafka_bootstrap, out_topic + ".DLT", process))
            if dead is None:  # the process died on the record
                crashes += 1
                continue
            reply = asyncio.run(request_echo(kafka_bootstrap, out_topic, in_topic))
            process.send_signal(signal.SIGTERM)
            code = process.wait(60)
            break
        finally:
            process.kill()
    else:
        pytest.fail(f"no dead letter after {crashes} crashes")
    assert (crashes <= 2, headers_of(dead, [ERROR_STAGE]), reply, code) == (
        True,
        {ERROR_STAGE: "headers"},
        {"n": 7},
        0,
    )
    assert (state / f"{env['ECHO_GROUP_ID']}.poison").read_text() == f"{out_topic}\t0\t0\n"


async def create(bootstrap: str, topics: list[str]) -> None:
    """Create ``topics`` on the broker."""
    transport = kafka_transport(bootstrap)
    try:
        await transport.start()
        await transport.create_topics(topics)
    finally:
        await transport.stop()


async def first_dead_letter(
    bootstrap: str, topic: str, process: subprocess.Popen[bytes]
) -> Record | None:
    """The first record on ``topic``, or None once ``process`` has exited (60 s at most)."""
    transport = kafka_transport(bootstrap)
    try:
        await transport.start()
        subscription = await transport.subscribe([topic], group_id=fresh("dead"))
        for _ in range(600):
            records = await subscription.getmany(max_records=1, timeout=0.1)
            if records:
                return records[0]
            if process.poll() is not None:
                return None
        pytest.fail(f"no dead letter on {topic} within 60 s, and the adapter still runs")
    finally:
        await transport.stop()
