"""A bounded wait that never swallows a cancellation (:func:`done_within`), and :func:`forget`.

On Python before 3.12, ``asyncio.wait_for`` returns the result when the awaited future
completes just as the waiting task is cancelled: the cancellation is lost (CPython issue
gh-86296). A fetch loop whose ``cancel()`` is lost that way goes on fetching, and whoever
awaits it after the cancel waits for ever (seen here: ``EngineClient.stop()`` hung on
its reader, in 2 of about 16 runs of ``tests/runtime/test_app_kafka.py``). It waits
with ``asyncio.wait``, which always lets the cancellation through.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["done_within", "forget"]


async def done_within(future: asyncio.Future[Any], timeout: float | None) -> bool:
    """Wait up to ``timeout`` seconds for ``future``; whether it is done.

    ``future`` is not cancelled, neither on a timeout nor when the caller is cancelled:
    its outcome is the caller's to take (or to drop) afterwards.
    """
    if future.done():
        return True
    done, _ = await asyncio.wait((future,), timeout=timeout)
    return bool(done)


def forget(future: asyncio.Future[Any]) -> None:
    """Let ``future`` end unwatched: its failure, when it comes, is marked as seen.

    For a future nobody will await any more (a call given up on, a send whose failure is
    known already), so that asyncio does not log "exception was never retrieved".
    """
    future.add_done_callback(_seen)


def _seen(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
