"""Pipeline.handle_run: a run of one partition's records, handled in order, slice by slice."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from flowintegrations import App, Context, Retry
from flowintegrations.errors import HandlerRegistrationError
from flowintegrations.runtime import (
    DeadLettered,
    Deferred,
    LeftForRedelivery,
    Outcome,
    Pipeline,
    Replied,
    Slice,
    Stage,
)
from flowintegrations.testing import TestClient
from flowintegrations.transport import Record
from support.runtime import DEMO, GREET, GREET_OUT

PID = (("processInstanceId", b"1001"),)
SECRET = b"0123456789abcdef0123456789abcdef"


def request(name: str, offset: int) -> Record:
    """A greet request for ``name`` at ``offset`` of partition 0."""
    value = ('{"name": "%s"}' % name).encode()  # noqa: UP031 - bytes of a tiny JSON
    return Record(GREET_OUT, None, value, PID, 0, offset)


def pipeline_of(
    greet: Callable[..., Any], *, attempts: int = 2, time_slice: float = 60.0, inline: bool = False
) -> Pipeline:
    """The started pipeline of an app greeting with ``greet``, with the given time slice."""
    app = App(DEMO, retry=Retry(attempts=attempts, backoff=0.0), defer_secret=SECRET)
    app.handler(GREET, inline=inline)(greet)
    pipeline = Pipeline(
        app.pipeline.routes, retry=app.retry, deferrals=app.deferrals, time_slice=time_slice
    )
    pipeline.start()
    return pipeline


def run(pipeline: Pipeline, records: Sequence[Record]) -> list[Slice[Record]]:
    """Every slice of handle_run over ``records``, in order (the pipeline closed after)."""

    async def main() -> list[Slice[Record]]:
        route = pipeline.route(GREET)
        return [piece async for piece in pipeline.handle_run(route, records)]

    try:
        return asyncio.run(main())
    finally:
        pipeline.close()


def outcomes(slices: list[Slice[Record]]) -> list[Outcome]:
    """Each request's outcome, in the order of the slices."""
    return [outcome for piece in slices for outcome in piece.outcomes()]


def offsets(slices: list[Slice[Record]]) -> list[list[int | None]]:
    """The offsets of each slice's requests."""
    return [[record.offset for record in piece.sources] for piece in slices]


def greeting(payload: dict[str, Any]) -> dict[str, Any]:
    """A handler that greets."""
    return {"greeting": "Hello, " + payload["name"]}


def test_outcomes_come_in_the_order_of_the_records() -> None:
    """Replies, a rejected request and a failed one each get their outcome, in record order."""

    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        if payload["name"] == "Bad":
            raise ValueError("no greeting for Bad")
        return greeting(payload)

    records = [
        request("Ana", 0),
        Record(GREET_OUT, None, b"{nope", PID, 0, 1),
        request("Bo", 2),
        request("Bad", 3),
        request("Cy", 4),
    ]
    slices = run(pipeline_of(greet, attempts=1), records)
    kinds = [
        o.failure.stage if isinstance(o, DeadLettered) else o.value
        for o in outcomes(slices)
        if isinstance(o, DeadLettered | Replied)
    ]
    assert kinds == [
        b'{"greeting":"Hello, Ana"}',
        Stage.DECODE,
        b'{"greeting":"Hello, Bo"}',
        Stage.HANDLER,
        b'{"greeting":"Hello, Cy"}',
    ]
    assert offsets(slices) == [[0], [1], [2], [3], [4]]


def test_first_tries_answered_together_are_one_slice() -> None:
    """Requests answered at their first try within a time slice come back as one slice."""
    slices = run(pipeline_of(greeting), [request(name, i) for i, name in enumerate("ABC")])
    assert offsets(slices) == [[0, 1, 2]]
    assert slices[0].replies == [
        ({"greeting": "Hello, A"}, b'{"greeting":"Hello, A"}'),
        ({"greeting": "Hello, B"}, b'{"greeting":"Hello, B"}'),
        ({"greeting": "Hello, C"}, b'{"greeting":"Hello, C"}'),
    ]


def test_a_sync_handler_takes_one_thread_hop_per_slice() -> None:
    """Each slice's handler calls run on one worker thread, never on the loop's thread."""
    calls: list[tuple[str, int]] = []

    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        calls.append((payload["name"], threading.get_ident()))
        return greeting(payload)

    loop_thread = threading.get_ident()  # asyncio.run runs the loop on this thread
    slices = run(pipeline_of(greet, time_slice=0.0), [request(n, i) for i, n in enumerate("AB")])
    assert offsets(slices) == [[0], [1]]
    assert [name for name, _ in calls] == ["A", "B"]
    assert loop_thread not in {thread for _, thread in calls}


def test_an_inline_sync_handler_runs_on_the_loop_thread() -> None:
    """With inline=True a sync handler is called on the event loop's thread, no hop."""
    threads: list[int] = []

    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        threads.append(threading.get_ident())
        return greeting(payload)

    loop_thread = threading.get_ident()
    slices = run(pipeline_of(greet, inline=True), [request("A", 0), request("B", 1)])
    assert offsets(slices) == [[0, 1]]
    assert threads == [loop_thread, loop_thread]


def test_retries_happen_in_the_run_before_the_next_request() -> None:
    """A request that fails once is retried before the next request is handled."""
    calls: list[str] = []

    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        calls.append(payload["name"])
        if payload["name"] == "B" and calls.count("B") == 1:
            raise ConnectionError("flaky")
        return greeting(payload)

    slices = run(pipeline_of(greet, attempts=3), [request(n, i) for i, n in enumerate("ABC")])
    assert calls == ["A", "B", "B", "C"]
    assert offsets(slices) == [[0], [1], [2]]
    assert [o.attempts for o in outcomes(slices) if isinstance(o, Replied)] == [1, 2, 1]


def test_a_stop_in_the_middle_leaves_the_failing_request_and_ends_the_run() -> None:
    """Stopped while a request fails with tries left: it is left for redelivery, the rest unrun."""
    calls: list[str] = []
    pipeline: Pipeline

    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        calls.append(payload["name"])
        if payload["name"] == "B":
            pipeline.stop()  # the owner stops while this request is being handled
            raise ConnectionError("flaky")
        return greeting(payload)

    pipeline = pipeline_of(greet, attempts=3)
    slices = run(pipeline, [request(n, i) for i, n in enumerate("ABC")])
    assert calls == ["A", "B"]
    assert offsets(slices) == [[0], [1]]
    last = slices[-1].outcome
    assert isinstance(last, LeftForRedelivery)
    assert (last.failure.stage, last.failure.attempts) == (Stage.HANDLER, 1)


def test_a_start_ends_a_stop() -> None:
    """After stop(), the next start() makes the pipeline retry again."""
    pipeline = pipeline_of(greeting)
    pipeline.stop()
    stopped = pipeline.stopping
    pipeline.start()
    pipeline.close()
    assert (stopped, pipeline.stopping) == (True, False)


def test_a_deferring_handler_gives_a_deferred_outcome_in_the_run() -> None:
    """A handler that calls ctx.defer() and returns None comes to Deferred, in its place."""

    def greet(payload: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        if payload["name"] == "Later":
            ctx.defer()
            return None
        return greeting(payload)

    slices = run(pipeline_of(greet), [request("A", 0), request("Later", 1), request("C", 2)])
    assert offsets(slices) == [[0], [1], [2]]
    assert [type(o) for o in outcomes(slices)] == [Replied, Deferred, Replied]


def test_inline_is_refused_for_an_async_handler() -> None:
    """inline=True on an async def handler is a registration error naming why."""
    app = App(DEMO)

    async def greet(payload: dict[str, Any]) -> dict[str, Any]:
        return greeting(payload)

    with pytest.raises(HandlerRegistrationError, match="inline=True is for sync handlers"):
        app.handler(GREET, inline=True)(greet)


def test_reply_later_sync_in_an_inline_handler_raises_instead_of_deadlocking() -> None:
    """An inline handler calling app.reply_later_sync gets a clear error, dead-lettered."""
    app = App(DEMO, retry=Retry(attempts=1), defer_secret=SECRET)
    errors: list[str] = []

    @app.handler(GREET, inline=True)
    def greet(payload: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        deferred = ctx.defer()
        try:
            app.reply_later_sync(deferred, {"greeting": "later"})
        except RuntimeError as exc:
            errors.append(str(exc))
        return None

    with TestClient(app) as client:
        client.send(GREET, {"name": "Ana"})
    assert errors == [
        "reply_later_sync() called from the app's event loop (an async or inline handler), "
        "where waiting for it would deadlock: await app.reply_later() there"
    ]
