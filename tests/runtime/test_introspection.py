"""What an App and an EngineClient tell about themselves: transport, partitions, progress."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from flowintegrations import App, EngineClient, Integration
from flowintegrations.transport import InMemoryTransport, Record, TopicPartition
from support.runtime import DEMO, GREET, GREET_IN, GREET_OUT, NOTIFY


async def eventually(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    """Return once ``predicate()`` is true; fail after ``timeout`` seconds."""
    for _ in range(int(timeout / 0.002)):
        if predicate():
            return
        await asyncio.sleep(0.002)
    raise AssertionError(f"still false after {timeout}s")


REQUEST = Record(GREET_OUT, b"k", b'{"name": "Ana"}', (("processInstanceId", b"1"),))


def greeter(transport: InMemoryTransport | None = None) -> App:
    """An app answering GREET on ``transport``."""
    app = App(DEMO, transport=transport)

    @app.handler(GREET)
    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        return {"greeting": "hello"}

    return app


def test_an_app_owns_the_transport_it_made_but_not_one_passed_in() -> None:
    """owns_transport is true for App(transport=None) and false for a transport given."""
    assert (greeter().owns_transport, greeter(InMemoryTransport()).owns_transport) == (True, False)


def test_assignment_is_empty_until_started_and_after_stopping() -> None:
    """assignment() lists the app's partitions only while it runs."""

    async def main() -> list[frozenset[TopicPartition]]:
        app = greeter()
        seen = [app.assignment()]
        async with app:
            await eventually(app.assignment)  # members join on their first poll
            seen.append(app.assignment())
        seen.append(app.assignment())
        return seen

    assert asyncio.run(main()) == [frozenset(), {TopicPartition(GREET_OUT, 0)}, frozenset()]


def test_is_handled_turns_true_once_the_reply_is_delivered() -> None:
    """is_handled(record) is false before the app handled a consumed record, then true."""

    async def main() -> tuple[bool, bool]:
        transport = InMemoryTransport()
        await transport.start()
        app = greeter(transport)
        sent = await transport.send(REQUEST)
        before = app.is_handled(sent)
        async with app:
            await eventually(lambda: transport.count(GREET_IN) == 1)
            await eventually(lambda: app.is_handled(sent))
            after = app.is_handled(sent)
        return before, after

    assert asyncio.run(main()) == (False, True)


def test_is_handled_refuses_a_record_that_was_never_consumed() -> None:
    """A record without partition and offset cannot be asked about."""
    with pytest.raises(ValueError, match=r"was not consumed: it has no partition and offset$"):
        greeter().is_handled(Record(GREET_OUT))


def test_an_engine_client_reads_replies_only_for_scenarios_with_an_in_topic() -> None:
    """reads_replies and assignment() follow the in topics of the client's scenarios."""

    async def main() -> tuple[bool, frozenset[TopicPartition], bool, frozenset[TopicPartition]]:
        transport = InMemoryTransport()
        with_replies = EngineClient(DEMO, transport=transport)
        fire_and_forget = EngineClient(
            Integration("N", "n", scenarios=(NOTIFY,)), transport=transport
        )
        async with with_replies, fire_and_forget:
            await eventually(with_replies.assignment)
            return (
                with_replies.reads_replies,
                with_replies.assignment(),
                fire_and_forget.reads_replies,
                fire_and_forget.assignment(),
            )

    reads, assigned, ff_reads, ff_assigned = asyncio.run(main())
    assert (reads, ff_reads, ff_assigned) == (True, False, frozenset())
    assert TopicPartition(GREET_IN, 0) in assigned
