"""Waits that survive a lost cancellation (:func:`done_within`, :func:`cancel_and_wait`).

Also :func:`set_within` (an event, waited for) and :func:`forget` (a future given up on).

On Python before 3.12, ``asyncio.wait_for`` returns the result when the awaited future
completes just as the waiting task is cancelled: the cancellation is lost (CPython issue
gh-86296). A fetch loop whose ``cancel()`` is lost that way goes on fetching, and whoever
awaits it after the cancel waits for ever (seen here: ``EngineClient.stop()`` hung on
its reader, in 2 of about 16 runs of ``tests/runtime/test_app_kafka.py``; an adapter on
NATS never stopped, its fetch loop having lost the cancel inside ``getmany``, in about 1
of 15 runs of ``tests/runtime/test_crash_nats.py``). :func:`done_within` waits with
``asyncio.wait``, which always lets the cancellation through; but a library's own
``wait_for`` (nats-py's requests use it) can still lose one, so a background task is
stopped with :func:`cancel_and_wait`, which cancels it again until it ends.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["cancel_and_wait", "done_within", "forget", "set_within"]


async def done_within(future: asyncio.Future[Any], timeout: float | None) -> bool:
    """Wait up to ``timeout`` seconds for ``future``; whether it is done.

    ``future`` is not cancelled, neither on a timeout nor when the caller is cancelled:
    its outcome is the caller's to take (or to drop) afterwards.
    """
    if future.done():
        return True
    done, _ = await asyncio.wait((future,), timeout=timeout)
    return bool(done)


async def set_within(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait up to ``timeout`` seconds for ``event``; whether it is set.

    ``asyncio.wait_for(event.wait(), timeout)`` without the lost cancellation.
    """
    if event.is_set():
        return True
    waiter = asyncio.ensure_future(event.wait())
    try:
        return await done_within(waiter, timeout)
    finally:
        waiter.cancel()


async def cancel_and_wait(task: asyncio.Future[Any], *, again_after: float = 1.0) -> None:
    """Cancel ``task`` and wait until it ends, cancelling it again every ``again_after`` s.

    For a background loop being stopped: one ``cancel()`` lost inside a ``wait_for`` (see
    above) would leave it running and its stopper waiting for ever. The task's own
    exception, if it ends with one, is raised; its cancellation is not.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait((task,), timeout=again_after)
    if not task.cancelled():
        task.result()


def forget(future: asyncio.Future[Any]) -> None:
    """Let ``future`` end unwatched: its failure, when it comes, is marked as seen.

    For a future nobody will await any more (a call given up on, a send whose failure is
    known already), so that asyncio does not log "exception was never retrieved".
    """
    future.add_done_callback(_seen)


def _seen(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
