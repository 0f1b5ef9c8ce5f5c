"""Waits that let every cancellation through, and cancel_and_wait for a loop that lost one."""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from flowintegrations.transport.waiting import cancel_and_wait, done_within, forget, set_within


async def cancel_as_it_completes(
    wait: Callable[[], Coroutine[Any, Any, object]], complete: Callable[[], object]
) -> str:
    """Whether a task on ``wait()`` is cancelled when cancelled as its wait completes.

    ``complete()`` completes what it waits for, in the same step as the cancel.
    """
    task = asyncio.create_task(wait())
    for _ in range(3):
        await asyncio.sleep(0)
    complete()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        return "cancelled"
    return "cancellation lost"


async def future_race(
    wait: Callable[[asyncio.Future[int]], Coroutine[Any, Any, object]],
) -> str:
    """:func:`cancel_as_it_completes` on a future that ``wait`` waits for."""
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    return await cancel_as_it_completes(lambda: wait(future), lambda: future.set_result(1))


def test_a_cancellation_that_comes_as_the_future_completes_goes_through() -> None:
    """The race that loses a cancellation in asyncio.wait_for before 3.12 does not here."""
    assert asyncio.run(future_race(lambda f: done_within(f, 5.0))) == "cancelled"


def test_a_timeout_says_false_and_leaves_the_future_alone() -> None:
    """Not done in time: False; the future is neither cancelled nor done."""

    async def main() -> tuple[bool, bool, bool]:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        done = await done_within(future, 0.01)
        return done, future.cancelled(), future.done()

    assert asyncio.run(main()) == (False, False, False)


def test_a_future_done_in_time_says_true() -> None:
    """Done before the bound (or already done): True, at once."""

    async def main() -> list[bool]:
        loop = asyncio.get_running_loop()
        late: asyncio.Future[int] = loop.create_future()
        loop.call_later(0.01, late.set_result, 7)
        early: asyncio.Future[int] = loop.create_future()
        early.set_result(1)
        return [await done_within(late, 5.0), await done_within(early, 0.0)]

    assert asyncio.run(main()) == [True, True]


def test_the_race_is_real_for_asyncio_wait_for_before_3_12() -> None:
    """The same race, waited on with wait_for(shield(...)), loses the cancellation (< 3.12)."""

    async def old(future: asyncio.Future[int]) -> int:
        return await asyncio.wait_for(asyncio.shield(future), 5.0)

    lost = sys.version_info < (3, 12)
    expected = "cancellation lost" if lost else "cancelled"
    assert asyncio.run(future_race(old)) == expected


def test_forget_marks_a_late_failure_as_seen() -> None:
    """A forgotten future that fails later is not reported as never retrieved; others are."""

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        reported: list[str] = []
        loop.set_exception_handler(lambda _, context: reported.append(str(context["exception"])))
        forgotten: asyncio.Future[int] = loop.create_future()
        watched: asyncio.Future[int] = loop.create_future()
        forget(forgotten)
        forgotten.set_exception(LookupError("forgotten"))
        watched.set_exception(LookupError("unwatched"))
        await asyncio.sleep(0)
        del forgotten, watched
        gc.collect()
        return reported

    assert asyncio.run(main()) == ["unwatched"]


def test_set_within_lets_the_cancellation_through_as_the_event_is_set() -> None:
    """The race above, on an event set in the step the waiter is cancelled: it goes through."""

    async def race() -> str:
        event = asyncio.Event()
        return await cancel_as_it_completes(lambda: set_within(event, 5.0), event.set)

    assert asyncio.run(race()) == "cancelled"


def test_set_within_says_whether_the_event_was_set() -> None:
    """True when set in time (or already set), False after the timeout; no task is left."""

    async def main() -> tuple[list[bool], int]:
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        results = [await set_within(event, 0.01)]
        loop.call_later(0.01, event.set)
        results.append(await set_within(event, 5.0))
        results.append(await set_within(event, 0.0))
        await asyncio.sleep(0)
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        return results, len(left)

    assert asyncio.run(main()) == ([False, True, True], 0)


async def loop_losing_cancellations(lost: int, calls: list[str]) -> None:
    """A background loop whose first ``lost`` cancellations are swallowed, as wait_for does."""
    while True:
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            calls.append("cancel")
            if len(calls) > lost:
                raise


def test_cancel_and_wait_cancels_again_a_loop_that_lost_the_cancellation() -> None:
    """One cancel() lost inside the loop: it is cancelled again, and ends."""

    async def main() -> tuple[list[str], bool]:
        calls: list[str] = []
        task = asyncio.create_task(loop_losing_cancellations(2, calls))
        await asyncio.sleep(0.02)
        done = await done_within(asyncio.ensure_future(cancel_and_wait(task, again_after=0.05)), 5)
        return calls, done and task.cancelled()

    assert asyncio.run(main()) == (["cancel", "cancel", "cancel"], True)


def test_cancel_and_wait_raises_what_the_task_ends_with_but_not_its_cancellation() -> None:
    """A task that ends with its own error on cancel raises it; a finished one, nothing."""

    async def failing() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            raise LookupError("closing failed") from None

    async def main() -> list[str]:
        seen = []
        broken = asyncio.create_task(failing())
        finished = asyncio.create_task(asyncio.sleep(0))
        await asyncio.sleep(0.01)
        try:
            await cancel_and_wait(broken)
        except LookupError as exc:
            seen.append(str(exc))
        await cancel_and_wait(finished)
        seen.append(f"finished cancelled: {finished.cancelled()}")
        return seen

    assert asyncio.run(main()) == ["closing failed", "finished cancelled: False"]
