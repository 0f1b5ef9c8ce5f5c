"""While an app serves, the start-up heap is frozen; before and after, the collector is as found."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from flowintegrations import App
from flowintegrations.runtime.heap import frozen_heap
from flowintegrations.transport import InMemoryTransport, Record
from support.runtime import DEMO, GREET, GREET_IN, GREET_OUT

REQUEST = Record(GREET_OUT, b"k", b'{"name": "Ana"}', (("processInstanceId", b"1"),))


@pytest.fixture(autouse=True)
def _thawed() -> Iterator[None]:
    """Each test starts and ends with nothing frozen."""
    assert gc.get_freeze_count() == 0, "a test before this one left the heap frozen"
    yield
    gc.unfreeze()


class _Cycle:
    """An object in a reference cycle: only the collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_the_heap_is_frozen_inside_and_given_back_after() -> None:
    """Inside the block the heap is frozen; after it, nothing is."""
    with frozen_heap() as holds:
        assert holds is True
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_garbage_made_before_is_collected_not_frozen() -> None:
    """A cycle that is garbage when the freeze begins is freed, not kept frozen."""
    gc.disable()  # the one collection that frees the cycle is the freeze's own
    try:
        cycle = _Cycle()
        ref = weakref.ref(cycle)
        del cycle
        assert ref() is not None
        with frozen_heap():
            assert ref() is None
    finally:
        gc.enable()


def test_disabled_it_leaves_the_collector_alone() -> None:
    """``enabled=False`` freezes nothing."""
    with frozen_heap(enabled=False) as holds:
        assert holds is False
        assert gc.get_freeze_count() == 0


def test_a_heap_frozen_by_someone_else_stays_theirs() -> None:
    """A freeze made by the process itself is neither added to nor undone."""
    gc.freeze()
    theirs = gc.get_freeze_count()
    with frozen_heap() as holds:
        assert holds is False
        assert gc.get_freeze_count() == theirs
    assert gc.get_freeze_count() == theirs


def test_nested_holders_share_one_freeze_that_ends_with_the_last() -> None:
    """Two apps serving at once: the first to stop leaves the freeze to the other."""
    with frozen_heap():
        frozen = gc.get_freeze_count()
        with frozen_heap() as inner:
            assert inner is True
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen
    assert gc.get_freeze_count() == 0


def test_the_freeze_ends_when_the_block_raises() -> None:
    """An exception in the block still gives the heap back."""
    with pytest.raises(RuntimeError, match="boom"), frozen_heap():
        raise RuntimeError("boom")
    assert gc.get_freeze_count() == 0


def _serve_and_look(**options: Any) -> tuple[int, int, int]:
    """Serve one request; the freeze count while serving, after, and the replies sent."""

    async def main() -> tuple[int, int, int]:
        transport = InMemoryTransport()
        await transport.start()
        app = App(DEMO, transport=transport, group_id="heap", **options)
        handled = asyncio.Event()

        @app.handler(GREET)
        async def greet(payload: dict[str, Any]) -> dict[str, Any]:
            handled.set()
            return {"greeting": "Hello " + payload["name"]}

        serving = asyncio.create_task(app.serve())
        await transport.send(REQUEST)
        await asyncio.wait_for(handled.wait(), 10)
        during = gc.get_freeze_count()
        await app.stop()
        await serving
        replies = transport.count(GREET_IN)
        await transport.stop()
        return during, gc.get_freeze_count(), replies

    return asyncio.run(main())


def test_an_app_serving_freezes_the_heap_and_thaws_it_when_it_stops() -> None:
    """App.serve freezes while it serves, thaws when it returns, and still replies."""
    during, after, replies = _serve_and_look()
    assert during > 0
    assert after == 0
    assert replies == 1


def test_freeze_heap_false_serves_without_freezing() -> None:
    """``App(freeze_heap=False)`` serves with the collector left alone."""
    assert _serve_and_look(freeze_heap=False) == (0, 0, 1)
