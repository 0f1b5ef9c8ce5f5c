"""A synchronous client for testing an :class:`~flowintegrations.App` from plain pytest.

:class:`TestClient` runs the real app and the real loop on an in-memory transport, in an
event loop of its own on a background thread, and talks to it like the engine does, so a
test is a plain ``def test_...():``::

    with TestClient(app) as client:
        reply = client.request(scenario, {"templateName": "otp", ...})
        assert reply.payload == {...}
        assert client.dead_letters == []
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Mapping
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar

from flowintegrations.app import App
from flowintegrations.client import EngineClient, Reply
from flowintegrations.model import Scenario
from flowintegrations.transport import InMemoryTransport, Record, TopicPartition

__all__ = ["TestClient"]

T = TypeVar("T")


class TestClient:
    """Drive an :class:`~flowintegrations.App` synchronously, in memory.

    Use it as a context manager: entering starts the app, leaving stops it gracefully.
    :meth:`request` returns the adapter's validated reply; :meth:`send` returns once the
    adapter has finished with the request (replied or dead-lettered), so what it did can be
    checked right away, e.g. in :attr:`dead_letters`.
    """

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, app: App, *, timeout: float = 5.0) -> None:
        if not isinstance(app.transport, InMemoryTransport):
            msg = (
                "TestClient runs apps in memory: create the app with transport=None or "
                f"an InMemoryTransport, not {type(app.transport).__name__}"
            )
            raise TypeError(msg)
        self.app = app
        self.transport: InMemoryTransport = app.transport
        self.timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._engine: EngineClient | None = None

    def __enter__(self) -> TestClient:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the event loop thread, the app and the engine-side client."""
        if self._loop is not None:
            return
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="flowintegrations-testclient")
        thread.daemon = True
        thread.start()
        self._loop, self._thread = loop, thread
        self._engine = EngineClient(
            *self.app.integrations,
            transport=self.transport,
            environment=self.app.environment,
            group_id=f"{self.app.group_id}.testclient",
        )
        try:
            self._run(self.app.start())
            self._run(self._engine.start())
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the app gracefully, then the loop. Idempotent."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            if self._engine is not None:
                self._run(self._engine.stop())
            self._run(self.app.stop(), timeout=self.app.shutdown_timeout + self.timeout)
            self._run(self.transport.stop())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=self.timeout)
            loop.close()
            self._loop = self._thread = self._engine = None

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        if self._loop is None:
            coro.close()
            msg = "the TestClient is not running: use it as a context manager"
            raise RuntimeError(msg)
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout=self.timeout * 2 if timeout is None else timeout)

    def request(
        self,
        scenario: Scenario | str,
        payload: Any,
        *,
        headers: Mapping[str, str | bytes] | None = None,
        timeout: float = 5.0,
    ) -> Reply:
        """Send a request as the engine would; return the adapter's validated reply."""
        engine = self._require_engine()
        return self._run(
            engine.request(scenario, payload, headers=headers, timeout=timeout),
            timeout=timeout + self.timeout,
        )

    def send(
        self,
        scenario: Scenario | str,
        payload: Any,
        *,
        headers: Mapping[str, str | bytes] | None = None,
        timeout: float = 5.0,
    ) -> Record:
        """Send a request without waiting for a reply; return once the app has handled it."""
        engine = self._require_engine()
        record = self._run(engine.send(scenario, payload, headers=headers))
        self.wait_handled(record, timeout=timeout)
        return record

    def send_raw(self, record: Record, *, timeout: float = 5.0) -> Record:
        """Put any record (bad bytes, odd headers...) on a topic; return once it is handled."""
        sent = self._run(self.transport.send(record))
        self.wait_handled(sent, timeout=timeout)
        return sent

    def wait_handled(self, record: Record, *, timeout: float = 5.0) -> None:
        """Wait until the app has fully handled ``record`` (replied or dead-lettered)."""
        if record.partition is None or record.offset is None:
            msg = f"{record!r} was not sent yet: it has no partition and offset"
            raise ValueError(msg)
        tp = TopicPartition(record.topic, record.partition)
        offset = record.offset
        deadline = time.monotonic() + timeout

        async def done() -> bool:
            return self.app._is_done(tp, offset)

        while not self._run(done()):
            if time.monotonic() > deadline:
                msg = f"the app did not finish {record!r} within {timeout}s"
                raise TimeoutError(msg)
            time.sleep(0.002)

    @property
    def dead_letters(self) -> list[Record]:
        """Every record the app dead-lettered so far, oldest first."""
        suffix = self.app.dead_letter_suffix
        return [
            record
            for _, _, out_topic, _ in self.app.routes()
            for record in self.transport.records(out_topic + suffix)
        ]

    def replies(self, scenario: Scenario | str) -> list[Record]:
        """Every record on ``scenario``'s in topic so far (replies and error replies)."""
        for _, candidate, _, in_topic in self.app.routes():
            if scenario in (candidate, candidate.identifier) and in_topic is not None:
                return self.transport.records(in_topic)
        msg = f"the app has no handler with replies for scenario {scenario!r}"
        raise LookupError(msg)

    def _require_engine(self) -> EngineClient:
        if self._engine is None:
            msg = "the TestClient is not running: use it as a context manager"
            raise RuntimeError(msg)
        return self._engine
