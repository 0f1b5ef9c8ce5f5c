"""A graceful stop, in memory: finish what is in progress, commit only what finished."""

from __future__ import annotations

import asyncio
from typing import Any

import attrs

from flowintegrations import App, Retry
from flowintegrations.transport import InMemoryTransport, Record, TopicPartition
from support.runtime import DEMO, GREET, GREET_IN, GREET_OUT

GROUP = "adapter"
REQUEST = Record(GREET_OUT, b"k", b'{"name": "Ana"}', (("processInstanceId", b"1"),))


@attrs.define
class Blocking:
    """An app, and the event its handler sets when it starts handling a request."""

    app: App
    entered: asyncio.Event


def blocking_app(transport: InMemoryTransport, release: asyncio.Event, **options: Any) -> Blocking:
    """An app whose greet handler signals it started, then waits for ``release``."""
    app = App(DEMO, transport=transport, group_id=GROUP, **options)
    entered = asyncio.Event()

    @app.handler(GREET)
    async def greet(payload: dict[str, Any]) -> dict[str, Any]:
        entered.set()
        await release.wait()
        return {"greeting": "done"}

    return Blocking(app, entered)


def test_stop_finishes_the_request_in_progress_and_commits_it() -> None:
    """stop() waits for the handler at work, sends its reply, then commits its offset."""

    async def main() -> tuple[int, dict[TopicPartition, int]]:
        transport = InMemoryTransport()
        await transport.start()
        release = asyncio.Event()
        adapter = blocking_app(transport, release)
        await adapter.app.start()
        await transport.send(REQUEST)
        await adapter.entered.wait()
        stopping = asyncio.create_task(adapter.app.stop())
        await asyncio.sleep(0)  # stop() is now waiting for the handler
        release.set()
        await stopping
        return transport.count(GREET_IN), transport.committed(GROUP)

    assert asyncio.run(main()) == (1, {TopicPartition(GREET_OUT, 0): 1})


def test_a_request_unfinished_at_the_timeout_is_not_committed_and_is_redelivered() -> None:
    """Past shutdown_timeout the request is left uncommitted; the next member handles it."""

    async def main() -> tuple[dict[TopicPartition, int], int, dict[TopicPartition, int]]:
        transport = InMemoryTransport()
        await transport.start()
        never = asyncio.Event()
        first = blocking_app(transport, never, shutdown_timeout=0.05)
        await first.app.start()
        await transport.send(REQUEST)
        await first.entered.wait()
        await first.app.stop()
        after_first = transport.committed(GROUP)
        released = asyncio.Event()
        released.set()
        second = blocking_app(transport, released)
        async with second.app:
            # Bounded: a request committed by mistake never reaches the next member.
            await asyncio.wait_for(second.entered.wait(), 10)
        return after_first, transport.count(GREET_IN), transport.committed(GROUP)

    assert asyncio.run(main()) == ({}, 1, {TopicPartition(GREET_OUT, 0): 1})


def test_stop_is_idempotent() -> None:
    """A second stop() returns at once and changes nothing."""

    async def main() -> dict[TopicPartition, int]:
        transport = InMemoryTransport()
        await transport.start()
        released = asyncio.Event()
        released.set()
        adapter = blocking_app(transport, released)
        await adapter.app.start()
        await transport.send(REQUEST)
        await adapter.entered.wait()
        await adapter.app.stop()
        await adapter.app.stop()
        return transport.committed(GROUP)

    assert asyncio.run(main()) == {TopicPartition(GREET_OUT, 0): 1}


def test_a_partition_handed_over_finishes_its_request_in_progress_first() -> None:
    """A revoked partition's request in progress is finished and committed, not redone."""
    transport = InMemoryTransport(partitions=2)
    calls: list[str] = []
    release, entered = asyncio.Event(), asyncio.Event()
    first, second = (App(DEMO, transport=transport, group_id=GROUP) for _ in range(2))

    @first.handler(GREET)
    async def slow(payload: dict[str, Any]) -> dict[str, Any]:
        calls.append("first")
        entered.set()
        await release.wait()
        return {"greeting": "first"}

    @second.handler(GREET)
    async def fast(payload: dict[str, Any]) -> dict[str, Any]:
        calls.append("second")
        return {"greeting": "second"}

    async def main() -> tuple[list[str], int, dict[TopicPartition, int]]:
        await transport.start()
        await first.start()
        # Partition 1 is the one the second member takes over (range assignment).
        await transport.send(REQUEST.replace(partition=1))
        await entered.wait()
        await second.start()
        for _ in range(20):  # let the second member join and the first one be revoked
            await asyncio.sleep(0.01)
        release.set()
        await first.stop()
        await second.stop()
        return calls, transport.count(GREET_IN), transport.committed(GROUP)

    assert asyncio.run(main()) == (["first"], 1, {TopicPartition(GREET_OUT, 1): 1})


def test_a_failure_while_stopping_is_left_for_redelivery_not_dead_lettered() -> None:
    """A request that fails during stop() with tries left is not committed nor dead-lettered."""

    async def main() -> tuple[dict[TopicPartition, int], int, int, dict[TopicPartition, int]]:
        transport = InMemoryTransport()
        await transport.start()
        release = asyncio.Event()
        entered = asyncio.Event()
        first = App(DEMO, transport=transport, group_id=GROUP, retry=Retry(attempts=3, backoff=0))

        @first.handler(GREET)
        async def failing(payload: dict[str, Any]) -> dict[str, Any]:
            entered.set()
            await release.wait()
            raise ConnectionError("the mail server went away")

        await first.start()
        await transport.send(REQUEST)
        await entered.wait()
        stopping = asyncio.create_task(first.stop())
        await asyncio.sleep(0)  # stop() has begun: the failure comes while stopping
        release.set()
        await stopping
        after_first = transport.committed(GROUP)
        dead_letters = transport.count(GREET_OUT + ".DLT")
        second = App(DEMO, transport=transport, group_id=GROUP)
        answered = asyncio.Event()

        @second.handler(GREET)
        async def greet(payload: dict[str, Any]) -> dict[str, Any]:
            answered.set()
            return {"greeting": "hello again"}

        async with second:
            # Bounded, so that a request that was lost fails the test instead of hanging it.
            await asyncio.wait_for(answered.wait(), timeout=10)
        return after_first, dead_letters, transport.count(GREET_IN), transport.committed(GROUP)

    assert asyncio.run(main()) == ({}, 0, 1, {TopicPartition(GREET_OUT, 0): 1})
