"""Helpers for the runtime tests on the real broker: fresh topics, transports, readers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs

from flowintegrations import Integration, Scenario, TopicBinding
from flowintegrations.testing.broker import TANSU_TEST_CONFIG, LocalBroker
from flowintegrations.transport import KafkaTransport, Record, Subscription


def fresh(name: str) -> str:
    """A topic or group name that no other test uses."""
    return f"test.{name}.{uuid.uuid4().hex[:10]}"


def on_fresh_topics(scenario: Scenario) -> Scenario:
    """``scenario`` bound to a fresh out topic and (unless it has none) a fresh in topic."""
    binding = scenario.binding(None)
    out_topic = fresh(f"{scenario.identifier}.out")
    in_topic = None if binding.in_topic is None else fresh(f"{scenario.identifier}.in")
    return attrs.evolve(scenario, topics=(TopicBinding(out_topic, in_topic),))


def integration_on_fresh_topics(integration: Integration) -> Integration:
    """``integration`` with every scenario moved to fresh topics."""
    return attrs.evolve(
        integration, scenarios=tuple(on_fresh_topics(s) for s in integration.scenarios)
    )


STATE_DIR = Path(tempfile.mkdtemp(prefix="flowintegrations-test-state-"))
"""Where the test transports keep their poison-record files: never the user's home."""


def kafka_transport(bootstrap: str, **options: Any) -> KafkaTransport:
    """A transport on the test broker with the Tansu settings, creating missing topics."""
    options.setdefault("create_topics", True)
    options.setdefault("state_dir", STATE_DIR)
    return KafkaTransport(bootstrap, config=TANSU_TEST_CONFIG, environ={}, **options)


async def read(subscription: Subscription, count: int, *, timeout: float = 30.0) -> list[Record]:
    """Exactly the first ``count`` records the subscription yields; fail after ``timeout`` s."""
    records: list[Record] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(records) < count:
        if loop.time() > deadline:
            msg = f"read {len(records)} of {count} records within {timeout} s"
            raise AssertionError(msg)
        records.extend(await subscription.getmany(max_records=count - len(records), timeout=0.2))
    return records


def headers_of(record: Record, names: Iterable[str] | None = None) -> dict[str, str]:
    """The record's headers decoded (only ``names`` when given)."""
    wanted = None if names is None else set(names)
    return {k: v.decode() for k, v in record.headers if wanted is None or k in wanted}


@contextlib.contextmanager
def own_broker() -> Iterator[LocalBroker]:
    """A Tansu broker of the test's own (not the shared one), which it may kill or freeze.

    At the end it is thawed (SIGCONT, in case the test froze it) and stopped.
    """
    broker = LocalBroker()
    broker.start()
    try:
        yield broker
    finally:
        pid = broker.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        broker.stop()
