"""Driving an ASGI app in process: its lifespan, and an httpx client on it (no server)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Run ``app``'s ASGI lifespan: startup on entry, shutdown on exit (both must succeed)."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.ensure_future(
        app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    assert started["type"] == "lifespan.startup.complete", started
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        stopped = await outbox.get()
        await task
        assert stopped["type"] == "lifespan.shutdown.complete", stopped


@contextlib.asynccontextmanager
async def asgi_client(app: Any, **kwargs: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client calling ``app`` in process, inside its lifespan."""
    transport = httpx.ASGITransport(app=app)
    async with (
        lifespan(app),
        httpx.AsyncClient(transport=transport, base_url="http://flow.test", **kwargs) as client,
    ):
        yield client


@contextlib.contextmanager
def running(app: Any) -> Iterator[None]:
    """``app``'s lifespan started and stopped on an event loop of its own (sync tests)."""
    loop = asyncio.new_event_loop()
    manager = lifespan(app)
    loop.run_until_complete(manager.__aenter__())
    try:
        yield
    finally:
        loop.run_until_complete(manager.__aexit__(None, None, None))
        loop.close()
