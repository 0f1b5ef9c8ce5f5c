"""Bounded waits that never swallow a cancellation: :func:`done_within`, :func:`set_within`.

On Python before 3.12, ``asyncio.wait_for`` returns the result when the awaited future
completes just as the waiting task is cancelled: the cancellation is lost (CPython issue
gh-86296). A fetch loop whose ``cancel()`` is lost that way goes on fetching, and whoever
awaits it after the cancel waits for ever (seen here: ``EngineClient.stop()`` hung on
its reader, about one run in ten of ``tests/runtime/test_app_kafka.py``). These helpers
wait with ``asyncio.wait``, which always lets the cancellation through.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["done_within", "set_within"]


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
    """Wait up to ``timeout`` seconds for ``event`` to be set; whether it is."""
    if event.is_set():
        return True
    waiter = asyncio.ensure_future(event.wait())
    try:
        return await done_within(waiter, timeout)
    finally:
        waiter.cancel()
