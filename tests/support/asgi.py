"""Driving an ASGI app in process: its lifespan, and an httpx client on it (no server)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from support.flowcontract import AsyncContractClient


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
    """An httpx client calling ``app`` in process, inside its lifespan.

    Every answer is held to the platform's contract (support.flowcontract).
    """
    transport = httpx.ASGITransport(app=app)
    async with (
        lifespan(app),
        AsyncContractClient(transport=transport, base_url="http://flow.test", **kwargs) as client,
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


class Session:
    """A synchronous face of an in-process httpx client (see :func:`session`)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient) -> None:
        self.loop = loop
        self.client = client

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send one request and return its answer."""
        return self.loop.run_until_complete(self.client.request(method, path, **kwargs))

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        """POST ``path``."""
        return self.request("POST", path, **kwargs)

    def run(self, awaitable: Any) -> Any:
        """Run ``awaitable`` on the session's loop (e.g. to let background work finish)."""
        return self.loop.run_until_complete(awaitable)


@contextlib.contextmanager
def session(app: Any, **kwargs: Any) -> Iterator[Session]:
    """``app`` in process, inside its lifespan, called through a synchronous :class:`Session`."""
    loop = asyncio.new_event_loop()
    manager = asgi_client(app, **kwargs)
    client = loop.run_until_complete(manager.__aenter__())
    try:
        yield Session(loop, client)
    finally:
        loop.run_until_complete(manager.__aexit__(None, None, None))
        loop.close()
