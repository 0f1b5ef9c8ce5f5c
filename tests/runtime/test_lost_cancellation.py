"""An App stops even when a transport's wait lost the cancellation of its fetch loop.

On Python before 3.12, ``asyncio.wait_for`` returns normally when what it waits for ends
in the step its task is cancelled (CPython gh-86296); a transport's ``getmany`` built on
it (or on a library that uses it, as nats-py's requests do) then returns instead of
raising, and a fetch loop stopped by one ``cancel()`` fetched on for ever: ``App.stop()``
never returned (an adapter on NATS missed its SIGTERM stop in about 1 of 15 runs of
``tests/runtime/test_crash_nats.py``). The loop is now cancelled again until it ends.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from flowintegrations import App, Retry
from flowintegrations.testing import FaultySubscription, FaultyTransport
from flowintegrations.transport import InMemoryTransport, Record
from flowintegrations.transport.waiting import done_within
from support.runtime import DEMO, GREET, GREET_IN, GREET_OUT


def test_stop_returns_when_the_fetch_loop_lost_its_cancellation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first cancel of the fetch loop is lost; stop() still returns, in about a second."""
    lost: list[str] = []
    passing = FaultySubscription.getmany

    async def losing(
        self: FaultySubscription, *, max_records: int = 500, timeout: float = 1.0
    ) -> list[Record]:
        """Records, or ``[]`` instead of the first cancellation, as wait_for may return."""
        try:
            return await passing(self, max_records=max_records, timeout=timeout)
        except asyncio.CancelledError:
            if lost:
                raise
            lost.append("cancellation")
            return []

    monkeypatch.setattr(FaultySubscription, "getmany", losing)

    async def main() -> tuple[bool, list[str], list[bytes | None]]:
        inner = InMemoryTransport()
        app = App(DEMO, transport=FaultyTransport(inner), group_id="lost", retry=Retry(attempts=1))

        @app.handler(GREET)
        async def greet(payload: dict[str, Any]) -> dict[str, Any]:
            return {"greeting": f"Hello, {payload['name']}"}

        await app.start()
        await inner.send(
            Record(GREET_OUT, None, b'{"name": "Ana"}', (("processInstanceId", b"7"),))
        )
        for _ in range(500):
            if inner.records(GREET_IN):
                break
            await asyncio.sleep(0.01)
        stopped = await done_within(asyncio.ensure_future(app.stop()), 10.0)
        answered = [r.header("processInstanceId") for r in inner.records(GREET_IN)]
        return stopped, lost, answered

    assert asyncio.run(main()) == (True, ["cancellation"], [b"7"])
