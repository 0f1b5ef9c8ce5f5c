"""Commit only after delivery: an App on a FaultyTransport whose replies fail, hang or lag.

These tests would all pass if the App treated every reply as delivered the moment it was
produced, were it not for the faults: in memory, deliveries are acknowledged at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from flowintegrations import App, Retry
from flowintegrations.testing import FaultyTransport
from flowintegrations.transport import InMemoryTransport, Record, TopicPartition
from support.runtime import ANSWER, DEMO, GREET, GREET_IN, GREET_OUT

GROUP = "faults"
GREET_TP = TopicPartition(GREET_OUT, 0)
ANSWER_OUT = ANSWER.binding(None).out_topic
ANSWER_TP = TopicPartition(ANSWER_OUT, 0)


async def eventually(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """Return once ``predicate()`` is true; fail after ``timeout`` seconds."""
    for _ in range(int(timeout / 0.002)):
        if predicate():
            return
        await asyncio.sleep(0.002)
    raise AssertionError(f"still false after {timeout}s")


def adapter(transport: FaultyTransport) -> App:
    """An app answering GREET and ANSWER on ``transport``, committing often."""
    app = App(
        DEMO,
        transport=transport,
        group_id=GROUP,
        retry=Retry(attempts=1, backoff=0.0),
        commit_interval=0.01,
        shutdown_timeout=2.0,
    )

    @app.handler(GREET)
    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        return {"greeting": f"Hello, {payload['name']}"}

    @app.handler(ANSWER)
    def answer(payload: dict[str, Any]) -> dict[str, Any]:
        return {"answer": "42"}

    return app


async def request(transport: FaultyTransport, pid: int, topic: str = GREET_OUT) -> Record:
    """Put a valid request with processInstanceId ``pid`` on ``topic``; return it as written."""
    value = b'{"name": "n%d"}' % pid if topic == GREET_OUT else b'{"question": "q"}'
    return await transport.send(Record(topic, None, value, (("processInstanceId", b"%d" % pid),)))


def answered(inner: InMemoryTransport) -> list[bytes | None]:
    """The processInstanceId of every reply on the greet in topic, in order."""
    return [reply.header("processInstanceId") for reply in inner.records(GREET_IN)]


def committed(inner: InMemoryTransport, tp: TopicPartition = GREET_TP) -> int:
    """The group's committed offset of ``tp`` (0 when nothing was committed)."""
    return inner.committed(GROUP).get(tp, 0)


def test_a_reply_that_cannot_be_delivered_is_never_committed() -> None:
    """While every reply delivery fails, the request's offset is not committed, not even at stop."""

    async def main() -> tuple[int, int]:
        inner = InMemoryTransport()
        transport = FaultyTransport(inner)
        transport.fail_deliveries(GREET_IN, times=None)
        app = adapter(transport)
        await app.start()
        await request(transport, 1)
        await eventually(lambda: transport.failed_deliveries)
        # A later request on another partition is committed: commits do happen meanwhile.
        await request(transport, 2, ANSWER_OUT)
        await eventually(lambda: committed(inner, ANSWER_TP) == 1)
        await app.stop()
        await transport.stop()
        return committed(inner), committed(inner, ANSWER_TP)

    assert asyncio.run(main()) == (0, 1)


def test_a_request_whose_reply_failed_is_answered_after_a_restart() -> None:
    """A failed reply delivery loses nothing: by the time a restarted app is done, all answered."""

    async def main() -> tuple[set[bytes | None], int]:
        inner = InMemoryTransport()
        transport = FaultyTransport(inner)
        transport.fail_deliveries(GREET_IN, times=1)
        first = adapter(transport)
        await first.start()
        written = [await request(transport, pid) for pid in (1, 2, 3)]
        await eventually(lambda: len(transport.failed_deliveries) == 1)
        await first.stop()
        second = adapter(transport)
        await second.start()
        await eventually(
            lambda: all(second.is_handled(r) for r in written) or committed(inner) == 3
        )
        await second.stop()
        await transport.stop()
        return set(answered(inner)), committed(inner)

    assert asyncio.run(main()) == ({b"1", b"2", b"3"}, 3)


def test_a_hanging_reply_holds_back_the_commit_of_everything_after_it() -> None:
    """While the first reply hangs, nothing of its partition is committed, all handled or not."""

    async def main() -> tuple[int, int, int]:
        inner = InMemoryTransport()
        transport = FaultyTransport(inner)
        transport.hang_deliveries(GREET_IN)
        app = adapter(transport)
        await app.start()
        for pid in range(1, 4):
            await request(transport, pid)
        await eventually(lambda: transport.held(GREET_IN) == 3)
        # A commit cycle after all three were handled: it commits the other partition only.
        await request(transport, 4, ANSWER_OUT)
        await eventually(lambda: committed(inner, ANSWER_TP) == 1)
        held_back = committed(inner)
        transport.release(GREET_IN)
        await eventually(lambda: committed(inner) == 3)
        await app.stop()
        await transport.stop()
        return held_back, committed(inner), len(inner.records(GREET_IN))

    assert asyncio.run(main()) == (0, 3, 3)


def test_released_replies_are_delivered_and_committed_in_order() -> None:
    """After a hang is released, the replies come in request order and commits only move forward."""

    async def main() -> tuple[list[bytes | None], list[int]]:
        inner = InMemoryTransport()
        transport = FaultyTransport(inner)
        transport.hang_deliveries(GREET_IN)
        app = adapter(transport)
        await app.start()
        for pid in range(1, 6):
            await request(transport, pid)
        await eventually(lambda: transport.held(GREET_IN) == 5)
        transport.release(GREET_IN)
        await eventually(lambda: committed(inner) == 5)
        await app.stop()
        await transport.stop()
        offsets = [c.offsets[GREET_TP] for c in transport.commits if GREET_TP in c.offsets]
        return answered(inner), offsets

    replies, offsets = asyncio.run(main())
    assert replies == [b"1", b"2", b"3", b"4", b"5"]
    assert offsets == sorted(offsets)
    assert offsets[-1] == 5


def test_delayed_replies_are_all_committed_in_order() -> None:
    """With every reply delivered late, each is answered once, in order, and all committed."""

    async def main() -> tuple[list[bytes | None], int]:
        inner = InMemoryTransport()
        transport = FaultyTransport(inner)
        transport.delay_deliveries(GREET_IN, 0.02)
        app = adapter(transport)
        await app.start()
        for pid in range(1, 6):
            await request(transport, pid)
        await eventually(lambda: committed(inner) == 5)
        await app.stop()
        await transport.stop()
        return answered(inner), committed(inner)

    assert asyncio.run(main()) == ([b"1", b"2", b"3", b"4", b"5"], 5)


def test_a_failed_commit_is_retried_and_the_offset_never_moves_back() -> None:
    """Commits that fail are tried again: the committed offset ends at the end, never going back."""

    async def main() -> tuple[int, int, list[int]]:
        inner = InMemoryTransport()
        transport = FaultyTransport(inner)
        transport.fail_commits(3)
        app = adapter(transport)
        await app.start()
        for pid in range(1, 6):
            await request(transport, pid)
        await eventually(lambda: committed(inner) == 5)
        await app.stop()
        await transport.stop()
        failed = sum(c.failed for c in transport.commits)
        accepted = [
            c.offsets[GREET_TP] for c in transport.commits if not c.failed and GREET_TP in c.offsets
        ]
        return failed, committed(inner), accepted

    failed, final, accepted = asyncio.run(main())
    assert (failed, final) == (3, 5)
    assert accepted == sorted(accepted)
