"""EngineClient, the engine's side, in memory: correlation, timeouts, stray replies, send."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import pytest

from flowintegrations import App, Context, EngineClient, ValidationError
from flowintegrations.errors import CodecError, RequestTimeoutError, TransportClosedError
from flowintegrations.transport import Headers, InMemoryTransport, RebalanceListener, Record
from flowintegrations.transport.memory import InMemorySubscription
from support.runtime import DEMO, GREET, GREET_IN, GREET_OUT, HEADERS, NOTIFY

T = TypeVar("T")


class CountingTransport(InMemoryTransport):
    """An in-memory transport that remembers the group of every subscription made on it."""

    def __init__(self) -> None:
        super().__init__()
        self.subscribed: list[str] = []

    async def subscribe(
        self,
        topics: Sequence[str],
        *,
        group_id: str,
        listener: RebalanceListener | None = None,
    ) -> InMemorySubscription:
        """Subscribe, and remember ``group_id``."""
        self.subscribed.append(group_id)
        return await super().subscribe(topics, group_id=group_id, listener=listener)


def greet_app(transport: InMemoryTransport | None = None) -> App:
    """An app whose greet handler answers 'Hello, <name>'."""
    app = App(DEMO, transport=transport)

    @app.handler(GREET)
    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        return {"greeting": f"Hello, {payload['name']}"}

    return app


@contextlib.asynccontextmanager
async def serving(app: App) -> AsyncIterator[EngineClient]:
    """An engine client talking to ``app`` over the app's transport, both running."""
    async with app, EngineClient(*app.integrations, transport=app.transport) as engine:
        yield engine


def run(main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main()`` in a fresh event loop."""

    async def wrapper() -> T:
        return await main()

    return asyncio.run(wrapper())


def test_missing_correlation_headers_are_generated() -> None:
    """Without them, a request gets a numeric processInstanceId and a UUID processInstanceUuid."""
    seen: list[dict[str, str]] = []
    app = App(DEMO)

    @app.handler(GREET)
    def greet(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
        seen.append(dict(ctx.headers))
        return {"greeting": "hi"}

    async def main() -> None:
        async with serving(app) as engine:
            await engine.request(GREET, {"name": "Ana"})

    run(main)
    (headers,) = seen
    pid, correlation = headers["processInstanceId"], headers["processInstanceUuid"]
    assert (sorted(headers), pid.isdigit(), str(uuid.UUID(correlation))) == (
        ["processInstanceId", "processInstanceUuid"],
        True,
        correlation,
    )


def test_generated_correlation_headers_differ_per_request() -> None:
    """Two requests without headers get different processInstanceIds and Uuids."""

    async def main() -> list[tuple[str, str]]:
        async with serving(greet_app()) as engine:
            replies = [await engine.request(GREET, {"name": "Ana"}) for _ in range(2)]
        return [(r.headers["processInstanceId"], r.headers["processInstanceUuid"]) for r in replies]

    (first_id, first_uuid), (second_id, second_uuid) = run(main)
    assert (first_id != second_id, first_uuid != second_uuid) == (True, True)


def test_given_correlation_headers_are_kept() -> None:
    """Correlation headers given by the caller are sent as they are."""

    async def main() -> dict[str, str]:
        async with serving(greet_app()) as engine:
            return dict((await engine.request(GREET, {"name": "Ana"}, headers=HEADERS)).headers)

    assert run(main) == HEADERS


def test_timeout_names_the_scenario_and_the_topic() -> None:
    """No reply within the timeout raises RequestTimeoutError naming scenario and in topic."""
    app = App(DEMO)

    @app.handler(GREET)
    def greet(payload: dict[str, Any]) -> None:
        return None

    async def main() -> None:
        async with serving(app) as engine:
            await engine.request(GREET, {"name": "Ana"}, headers=HEADERS, timeout=0.05)

    expected = (
        f"no reply to demo/greet (processInstanceUuid=uuid-1001) on '{GREET_IN}' within 0.05s"
    )
    with pytest.raises(RequestTimeoutError, match=f"^{re.escape(expected)}$"):
        run(main)


def test_late_reply_is_logged_and_dropped_and_others_get_theirs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A reply after its request timed out is logged as late; the next request is answered."""
    app = App(DEMO)
    release = asyncio.Event()

    @app.handler(GREET)
    async def greet(payload: dict[str, Any]) -> dict[str, Any]:
        if payload["name"] == "slow":
            await release.wait()
        return {"greeting": payload["name"]}

    async def main() -> Any:
        async with serving(app) as engine:
            with contextlib.suppress(RequestTimeoutError):
                await engine.request(GREET, {"name": "slow"}, headers=HEADERS, timeout=0.05)
            release.set()
            # One partition: the late reply is read before this one.
            return (await engine.request(GREET, {"name": "fast"})).payload

    with caplog.at_level(logging.DEBUG, logger="flowintegrations.client"):
        payload = run(main)
    dropped = [
        (r.levelname, r.getMessage(), r.processInstanceId)
        for r in caplog.records
        if getattr(r, "event", None) == "drop_reply"
    ]
    assert (payload, dropped) == (
        {"greeting": "fast"},
        [
            (
                "WARNING",
                f"dropped a late reply on {GREET_IN} (processInstanceUuid=uuid-1001)",
                "1001",
            )
        ],
    )


def test_unknown_reply_is_logged_and_dropped_and_others_get_theirs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A reply nobody waits for is logged at debug level and does not disturb a waiter."""
    stray = Record(GREET_IN, None, b'{"greeting": "?"}', (("processInstanceUuid", b"nobody"),))

    async def main() -> Any:
        app = greet_app()
        async with serving(app) as engine:
            await app.transport.send(stray)
            return (await engine.request(GREET, {"name": "Ana"})).payload

    with caplog.at_level(logging.DEBUG, logger="flowintegrations.client"):
        payload = run(main)
    dropped = [
        (r.levelname, r.getMessage())
        for r in caplog.records
        if getattr(r, "event", None) == "drop_reply"
    ]
    assert (payload, dropped) == (
        {"greeting": "Hello, Ana"},
        [("DEBUG", f"dropped an unexpected reply on {GREET_IN} (processInstanceUuid=nobody)")],
    )


def test_concurrent_requests_share_one_consumer_and_get_their_own_reply() -> None:
    """Many requests in flight at once each get their own reply, read by one subscription."""
    transport = CountingTransport()
    names = [f"n{i}" for i in range(200)]

    async def main() -> tuple[int, list[Any]]:
        async with serving(greet_app(transport)) as engine:
            replies = await asyncio.gather(
                *(engine.request(GREET, {"name": name}) for name in names)
            )
            return transport.subscribed.count(engine.group_id), [r.payload for r in replies]

    assert run(main) == (1, [{"greeting": f"Hello, {n}"} for n in names])


def test_send_returns_once_the_request_is_written() -> None:
    """send() returns the written record without waiting for the handler or a reply."""
    app = App(DEMO)
    release = asyncio.Event()
    finished: list[str] = []

    @app.handler(GREET)
    async def greet(payload: dict[str, Any]) -> dict[str, Any]:
        await release.wait()
        finished.append(payload["name"])
        return {"greeting": "late"}

    async def main() -> tuple[str, int | None, list[str]]:
        async with serving(app) as engine:
            record = await engine.send(GREET, {"name": "Ana"}, headers=HEADERS)
            state = (record.topic, record.offset, list(finished))
            release.set()
            return state

    assert run(main) == (GREET_OUT, 0, [])


def test_send_works_for_a_scenario_without_in_topic() -> None:
    """A fire-and-forget scenario (no in topic) is sent with send()."""
    app = App(DEMO)

    @app.handler(NOTIFY)
    def notify(payload: dict[str, Any]) -> None:
        return None

    async def main() -> str:
        async with serving(app) as engine:
            record = await engine.send(NOTIFY, {"text": "hi"}, headers=HEADERS)
            return record.topic

    assert run(main) == NOTIFY.binding(None).out_topic


def test_request_of_a_scenario_without_in_topic_is_an_error() -> None:
    """request() refuses a fire-and-forget scenario and says to use send()."""

    async def main() -> None:
        async with serving(greet_app()) as engine:
            await engine.request(NOTIFY, {"text": "hi"})

    with pytest.raises(
        LookupError, match=r"^scenario 'notify' has no in topic in environment None$"
    ):
        run(main)


def test_invalid_request_is_refused_before_it_is_sent() -> None:
    """request() validates the payload against the output model and sends nothing."""
    transport = InMemoryTransport()

    async def main() -> None:
        async with serving(greet_app(transport)) as engine:
            await engine.request(GREET, {"name": 7})

    expected = r"^invalid payload \(1 violation\):\n  \$\.name: must be a string, got 7$"
    with pytest.raises(ValidationError, match=expected):
        run(main)
    assert transport.count(GREET_OUT) == 0


async def answer_raw(
    transport: InMemoryTransport, value: bytes, extra_headers: Headers = ()
) -> None:
    """Play a broken adapter: answer the first greet request with ``value``, as is."""
    subscription = await transport.subscribe([GREET_OUT], group_id="broken-adapter")
    while not (requests := await subscription.getmany(max_records=1, timeout=1.0)):
        pass
    await transport.send(Record(GREET_IN, None, value, requests[0].headers + extra_headers))
    await subscription.close()


def request_answered_with(
    value: bytes, extra_headers: Headers = ()
) -> Callable[[], Awaitable[Any]]:
    """A main() whose greet request is answered with ``value`` by a broken adapter."""

    async def main() -> Any:
        transport = InMemoryTransport()
        async with EngineClient(DEMO, transport=transport) as engine:
            adapter = asyncio.create_task(answer_raw(transport, value, extra_headers))
            try:
                return await engine.request(GREET, {"name": "Ana"}, headers=HEADERS)
            finally:
                await adapter

    return main


def test_invalid_reply_is_reported_with_where_it_came_from() -> None:
    """A reply breaking the input model raises ValidationError naming scenario and topic."""
    expected = (
        f"invalid reply to demo/greet (processInstanceUuid=uuid-1001) on '{GREET_IN}' "
        "(1 violation):\n  $.greeting: must be a string, got 42"
    )
    with pytest.raises(ValidationError, match=f"^{re.escape(expected)}$"):
        run(request_answered_with(b'{"greeting": 42}'))


def test_undecodable_reply_is_reported_with_where_it_came_from() -> None:
    """A reply that is not JSON raises CodecError naming scenario and topic."""
    expected = (
        f"reply to demo/greet (processInstanceUuid=uuid-1001) on '{GREET_IN}': "
        "value is not JSON: Expecting value at line 1, column 1"
    )
    with pytest.raises(CodecError, match=f"^{re.escape(expected)}$"):
        run(request_answered_with(b"not json"))


def test_reply_with_a_header_that_is_not_utf8_is_reported() -> None:
    """A reply header that is not UTF-8 raises ValidationError naming the reply's headers."""
    expected = (
        f"invalid headers of the reply to demo/greet (processInstanceUuid=uuid-1001) on "
        f"'{GREET_IN}' (1 violation):\n  $['Fx-AppId']: is not valid UTF-8"
    )
    with pytest.raises(ValidationError, match=f"^{re.escape(expected)}$"):
        run(request_answered_with(b'{"greeting": "hi"}', (("Fx-AppId", b"\xff"),)))


def test_pending_requests_fail_when_the_client_stops() -> None:
    """Stopping the client fails every waiting request with TransportClosedError."""
    transport = InMemoryTransport()

    async def main() -> None:
        await transport.start()
        watcher = await transport.subscribe([GREET_OUT], group_id="watcher")
        engine = EngineClient(DEMO, transport=transport)
        waiting = asyncio.create_task(engine.request(GREET, {"name": "Ana"}))
        # Once the request is on its topic, its reply is awaited.
        while not await watcher.getmany(max_records=1, timeout=1.0):
            pass
        await engine.stop()
        await waiting

    with pytest.raises(TransportClosedError, match=r"^the engine client stopped$"):
        run(main)
