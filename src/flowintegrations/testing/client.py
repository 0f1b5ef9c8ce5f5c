"""A synchronous client for testing an :class:`~flowintegrations.App` from plain pytest.

:class:`TestClient` runs the real app and the real loop on an in-memory transport, in an
event loop of its own on a background thread, and talks to it like the engine does, so a
test is a plain ``def test_...():``::

    with TestClient(app) as client:
        reply = client.request(scenario, {"templateName": "otp", ...})
        assert reply.payload == {...}
        assert client.dead_letters == []

Given a ``transport_factory`` (for instance one that makes a
:class:`~flowintegrations.transport.KafkaTransport`), the same test runs on that transport
instead, with topics and consumer groups private to the client
(:class:`~flowintegrations.testing.isolation.IsolatedTransport`).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar

from flowintegrations.app import App
from flowintegrations.client import EngineClient, Reply
from flowintegrations.deadletter import (
    ATTEMPTS,
    ERROR_CLASS,
    ERROR_MESSAGE,
    ERROR_STAGE,
    ERROR_VIOLATIONS,
)
from flowintegrations.errors import (
    FlowIntegrationsError,
    RequestDeadLetteredError,
    TransportClosedError,
)
from flowintegrations.model import Scenario, find_scenario
from flowintegrations.testing.isolation import IsolatedTransport
from flowintegrations.transport import InMemoryTransport, Record, Transport
from flowintegrations.validation import Violation
from flowintegrations.vocabulary import PROCESS_INSTANCE_UUID

__all__ = ["TestClient"]

T = TypeVar("T")


class TestClient:
    """Drive an :class:`~flowintegrations.App` synchronously, in memory.

    Use it as a context manager: entering starts the app, leaving stops it gracefully.
    :meth:`request` returns the adapter's validated reply; :meth:`send` returns once the
    adapter has finished with the request (replied or dead-lettered), so what it did can be
    checked right away, e.g. in :attr:`dead_letters`.

    The app must run in memory (``transport=None`` or an ``InMemoryTransport``), unless
    ``transport_factory`` is given: then, for the time the client runs, the app runs on
    the transport the factory makes, wrapped in an
    :class:`~flowintegrations.testing.isolation.IsolatedTransport` (fresh topics and
    groups), and the client waits up to ``startup_timeout`` seconds for the app and the
    engine side to join their consumer groups, so the first request is not slowed down by
    a group join. The app gets its own transport back when the client stops.
    """

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(
        self,
        app: App,
        *,
        timeout: float = 5.0,
        transport_factory: Callable[[], Transport] | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        if transport_factory is None and not isinstance(app.transport, InMemoryTransport):
            msg = (
                "TestClient runs apps in memory: create the app with transport=None or "
                f"an InMemoryTransport, not {type(app.transport).__name__} (or pass "
                "transport_factory= to run the test on another transport)"
            )
            raise TypeError(msg)
        self.app = app
        self.transport: InMemoryTransport | IsolatedTransport
        if isinstance(app.transport, InMemoryTransport) and transport_factory is None:
            self.transport = app.transport
        self.timeout = timeout
        self.startup_timeout = startup_timeout
        self._factory = transport_factory
        self._previous: tuple[Transport, bool] | None = None
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
        if self._factory is not None:
            self.transport = IsolatedTransport(self._factory())
            self._previous = (self.app.transport, self.app.owns_transport)
            self.app.use_transport(self.transport, owned=False)
        elif self.app.owns_transport and self._stopped_already(self.app.transport):
            # An earlier client stopped the in-memory transport the app made for itself:
            # this test gets a fresh one, as a new App(transport=None) would.
            self.transport = InMemoryTransport()
            self.app.use_transport(self.transport, owned=True)
        self._engine = EngineClient(
            *self.app.integrations,
            transport=self.transport,
            environment=self.app.environment,
            group_id=f"{self.app.group_id}.testclient",
            telemetry=self.app.telemetry,  # the engine's side traced too: one whole trace
        )
        try:
            self._run(self.app.start(), timeout=self.startup_timeout)
            self._run(self._engine.start(), timeout=self.startup_timeout)
            if self._factory is not None:
                self._run(self._joined(self._engine), timeout=self.startup_timeout + 1.0)
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
            if self._previous is not None:
                transport, owned = self._previous
                self.app.use_transport(transport, owned=owned)
                self._previous = None

    def _stopped_already(self, transport: Transport) -> bool:
        try:
            self._run(transport.start())
        except TransportClosedError:
            return True
        return False

    async def _joined(self, engine: EngineClient) -> None:
        """Return once the app and the engine side have partitions (joined their groups)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.startup_timeout
        while not (self.app.assignment() and (engine.assignment() or not engine.reads_replies)):
            if loop.time() > deadline:
                msg = (
                    f"the app and the engine client did not join their consumer groups on "
                    f"{self.transport!r} within {self.startup_timeout}s"
                )
                raise TimeoutError(msg)
            await asyncio.sleep(0.02)

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
        """Send a request as the engine would; return the adapter's validated reply.

        Raises :class:`~flowintegrations.errors.RequestDeadLetteredError` as soon as the app
        dead-letters the request (unless the scenario answers failures with an error reply,
        which is then returned), with the dead letter's stage, error class, message and
        violations; :class:`~flowintegrations.errors.RequestTimeoutError` when neither a
        reply nor a dead letter comes within ``timeout`` seconds; and what
        :meth:`EngineClient.request <flowintegrations.EngineClient.request>` raises.
        """
        engine = self._require_engine()
        sent: dict[str, str | bytes] = dict(headers or {})
        sent.setdefault(PROCESS_INSTANCE_UUID, str(uuid.uuid4()))
        return self._run(
            self._request(engine, scenario, payload, sent, timeout),
            timeout=timeout + self.timeout,
        )

    async def _request(
        self,
        engine: EngineClient,
        scenario: Scenario | str,
        payload: Any,
        headers: dict[str, str | bytes],
        timeout: float,
    ) -> Reply:
        """``engine.request``, failed early by the request's dead letter, if one comes."""
        try:
            integration, found = find_scenario(self.app.integrations, scenario, owner="this app")
            out_topic = found.binding(self.app.environment).out_topic
        except FlowIntegrationsError:
            out_topic = None
        if out_topic is None:
            # Not one of the app's scenarios, or one it cannot be asked (no out topic): the
            # engine client says what is wrong.
            return await engine.request(scenario, payload, headers=headers, timeout=timeout)
        topic = out_topic + self.app.dead_letter_suffix
        if found.error_reply:
            # A failed request is dead-lettered *and* answered: the answer is what counts.
            return await engine.request(scenario, payload, headers=headers, timeout=timeout)
        uuid_header = headers[PROCESS_INSTANCE_UUID]
        correlation = uuid_header if isinstance(uuid_header, bytes) else uuid_header.encode()
        earlier = {(r.partition, r.offset) for r in self.transport.records(topic)}
        replied = asyncio.ensure_future(
            engine.request(scenario, payload, headers=headers, timeout=timeout)
        )
        dead = asyncio.ensure_future(self._dead_letter(topic, correlation, earlier))
        try:
            await asyncio.wait((replied, dead), return_when=asyncio.FIRST_COMPLETED)
        finally:
            dead.cancel()
        if replied.done() or not dead.done() or dead.cancelled():
            return await replied
        replied.cancel()
        record = dead.result()
        where = f"request to {integration.identifier}/{found.identifier}"
        raise _dead_lettered(f"{where} ({PROCESS_INSTANCE_UUID}={correlation.decode()})", record)

    async def _dead_letter(
        self, topic: str, correlation: bytes, earlier: set[tuple[int | None, int | None]]
    ) -> Record:
        """The dead letter of the request ``correlation`` names, once it is written."""
        while True:
            for record in self.transport.records(topic):
                if (record.partition, record.offset) in earlier:
                    continue
                if record.header(PROCESS_INSTANCE_UUID) == correlation:
                    return record
            await asyncio.sleep(0.005)

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
        deadline = time.monotonic() + timeout

        async def done() -> bool:
            return self.app.is_handled(record)

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
        integration, found = find_scenario(self.app.integrations, scenario, owner="this app")
        for candidate_integration, candidate, _, in_topic in self.app.routes():
            if (candidate_integration, candidate) == (integration, found) and in_topic:
                return self.transport.records(in_topic)
        msg = f"the app has no handler with replies for scenario {found.identifier!r}"
        raise LookupError(msg)

    def _require_engine(self) -> EngineClient:
        if self._engine is None:
            msg = "the TestClient is not running: use it as a context manager"
            raise RuntimeError(msg)
        return self._engine


def _dead_lettered(request: str, record: Record) -> RequestDeadLetteredError:
    """The error for ``request``, told by the headers of its dead letter ``record``."""

    def text(name: str) -> str:
        value = record.header(name)
        return "" if value is None else value.decode("utf-8", "replace")

    try:
        listed = json.loads(text(ERROR_VIOLATIONS) or "[]")
        violations = [Violation(v["path"], v["rule"], v["message"]) for v in listed]
    except (ValueError, TypeError, KeyError):
        violations = []
    attempts = text(ATTEMPTS)
    return RequestDeadLetteredError(
        request,
        stage=text(ERROR_STAGE),
        error_class=text(ERROR_CLASS),
        error_message=text(ERROR_MESSAGE),
        violations=violations,
        attempts=int(attempts) if attempts.isdigit() else 0,
        record=record,
    )
