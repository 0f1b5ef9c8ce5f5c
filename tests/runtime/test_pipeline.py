"""The handling pipeline on its own: every outcome, every stage, retries, redelivery on stop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
import pytest

from flowintegrations import App, Context, Retry
from flowintegrations.errors import CodecError, HandlerRegistrationError, ValidationError
from flowintegrations.runtime import (
    DeadLettered,
    ErrorReplied,
    Failure,
    LeftForRedelivery,
    Origin,
    Outcome,
    Pipeline,
    Prepared,
    Replied,
    Stage,
)
from flowintegrations.transport import Record
from flowintegrations.vocabulary import UNREADABLE_HEADERS, UNREADABLE_HEADERS_VALUE
from support.runtime import ANSWER, DEMO, GREET, GREET_OUT

ORIGIN = Origin(topic="http:/actions/greet")
HEADERS = {"processInstanceId": "1001"}


def pipeline_of(
    greet: Callable[..., Any] | None = None,
    answer: Callable[..., Any] | None = None,
    *,
    attempts: int = 2,
) -> Pipeline:
    """The pipeline of an app with the given handlers, started."""
    app = App(DEMO, retry=Retry(attempts=attempts, backoff=0.0))
    if greet is not None:
        app.handler(GREET)(greet)
    if answer is not None:
        app.handler(ANSWER)(answer)
    pipeline = app.pipeline
    pipeline.start()
    return pipeline


def handle(pipeline: Pipeline, scenario: Any, payload: Any, headers: Any = None) -> Outcome:
    """pipeline.handle of one request, run to its outcome."""
    route = pipeline.route(scenario)
    try:
        return asyncio.run(
            pipeline.handle(route, payload, HEADERS if headers is None else headers, origin=ORIGIN)
        )
    finally:
        pipeline.close()


def greeting(payload: dict[str, Any]) -> dict[str, Any]:
    """A handler that greets."""
    return {"greeting": "Hello, " + payload["name"]}


def test_a_valid_request_is_replied_with_the_validated_payload_and_its_encoding() -> None:
    """A handler's answer comes back as Replied: payload, JSON bytes, one attempt."""
    outcome = handle(pipeline_of(greeting), GREET, {"name": "Ana"})
    assert outcome == Replied(
        payload={"greeting": "Hello, Ana"}, value=b'{"greeting":"Hello, Ana"}', attempts=1
    )


def test_a_handler_returning_none_is_replied_with_no_payload() -> None:
    """None from the handler is a Replied outcome with neither payload nor value."""
    outcome = handle(pipeline_of(lambda payload: None), GREET, {"name": "Ana"})
    assert outcome == Replied(payload=None, value=None, attempts=1)


def test_an_attrs_reply_is_unstructured() -> None:
    """An attrs instance returned by a handler becomes its dict."""

    @attrs.frozen
    class Greeting:
        greeting: str

    outcome = handle(pipeline_of(lambda payload: Greeting("Hi")), GREET, {"name": "Ana"})
    assert outcome == Replied(payload={"greeting": "Hi"}, value=b'{"greeting":"Hi"}')


def test_an_async_handler_is_awaited() -> None:
    """An async handler's result is the reply."""

    async def greet(payload: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"greeting": "async " + payload["name"]}

    outcome = handle(pipeline_of(greet), GREET, {"name": "Ana"})
    assert outcome == Replied(payload={"greeting": "async Ana"}, value=b'{"greeting":"async Ana"}')


def test_the_context_names_the_origin_and_the_headers() -> None:
    """A handler taking ctx sees the origin's topic, the headers and its attempt."""
    seen: list[tuple[str, str | None, int, str]] = []

    def greet(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
        seen.append((ctx.topic, ctx.process_instance_id, ctx.attempt, ctx.scenario.identifier))
        return {"greeting": "hi"}

    handle(pipeline_of(greet), GREET, {"name": "Ana"})
    assert seen == [("http:/actions/greet", "1001", 1, "greet")]


def test_a_missing_mandatory_header_is_dead_lettered_at_stage_headers() -> None:
    """No processInstanceId: DeadLettered at HEADERS, the handler never called."""
    outcome = handle(pipeline_of(greeting), GREET, {"name": "Ana"}, headers={})
    assert isinstance(outcome, DeadLettered)
    assert (outcome.failure.stage, outcome.failure.attempts) == (Stage.HEADERS, 0)
    assert [v.path for v in outcome.failure.violations] == ["$.processInstanceId"]


def test_an_invalid_request_is_dead_lettered_at_stage_request_with_every_violation() -> None:
    """A request breaking the output model: DeadLettered at REQUEST, violations listed."""
    outcome = handle(pipeline_of(greeting), GREET, {"times": "x", "extra": 1})
    assert isinstance(outcome, DeadLettered)
    assert outcome.failure.stage is Stage.REQUEST
    assert sorted((v.path, v.rule) for v in outcome.failure.violations) == [
        ("$.extra", "additionalProperties"),
        ("$.name", "required"),
        ("$.times", "type"),
    ]


def test_a_failing_handler_is_retried_then_dead_lettered_at_stage_handler() -> None:
    """A handler that always raises is tried `attempts` times, then DeadLettered."""
    calls: list[int] = []

    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        calls.append(1)
        raise RuntimeError("down")

    outcome = handle(pipeline_of(greet, attempts=3), GREET, {"name": "Ana"})
    assert isinstance(outcome, DeadLettered)
    failure = outcome.failure
    assert (failure.stage, failure.attempts, failure.message, len(calls)) == (
        Stage.HANDLER,
        3,
        "down",
        3,
    )


def test_a_handler_that_recovers_is_replied_with_its_attempt_count() -> None:
    """A handler failing once then answering is Replied with attempts=2."""
    calls: list[int] = []

    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("flaky")
        return {"greeting": "hi"}

    outcome = handle(pipeline_of(greet, attempts=3), GREET, {"name": "Ana"})
    assert outcome == Replied(payload={"greeting": "hi"}, value=b'{"greeting":"hi"}', attempts=2)


def test_a_reply_breaking_the_input_model_fails_at_stage_reply() -> None:
    """A reply without its mandatory property is a handler bug: DeadLettered at REPLY."""
    outcome = handle(
        pipeline_of(lambda payload: {"greting": "typo"}, attempts=1), GREET, {"name": "Ana"}
    )
    assert isinstance(outcome, DeadLettered)
    assert (outcome.failure.stage, [v.path for v in outcome.failure.violations]) == (
        Stage.REPLY,
        ["$.greeting"],
    )


def test_a_reply_that_is_not_json_fails_at_stage_reply() -> None:
    """A reply holding a non-finite number cannot be encoded: DeadLettered at REPLY."""
    outcome = handle(
        pipeline_of(lambda payload: {"greeting": "x", "n": float("nan")}, attempts=1),
        GREET,
        {"name": "Ana"},
    )
    assert isinstance(outcome, DeadLettered)
    assert (outcome.failure.stage, type(outcome.failure.error)) == (Stage.REPLY, CodecError)


def test_a_scenario_with_error_replies_answers_a_failure_with_the_error() -> None:
    """error_reply=True: a failed request gives ErrorReplied with {"error": message}."""

    def answer(payload: dict[str, Any]) -> dict[str, Any]:
        raise ValueError("no answer to " + payload["question"])

    outcome = handle(pipeline_of(answer=answer, attempts=1), ANSWER, {"question": "why"})
    assert isinstance(outcome, ErrorReplied)
    assert (outcome.payload, outcome.value, outcome.failure.stage) == (
        {"error": "no answer to why"},
        b'{"error":"no answer to why"}',
        Stage.HANDLER,
    )


def test_error_replies_redact_secret_header_values() -> None:
    """The message of an error reply never holds a secret header's value."""

    def greet(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
        raise PermissionError(f"token {ctx.headers['jwt']!r} refused")

    outcome = handle(
        pipeline_of(greet, attempts=1),
        GREET,
        {"name": "Ana"},
        headers={"processInstanceId": "1", "jwt": 'se"cr\\et-ä-token'},
    )
    assert isinstance(outcome, DeadLettered)
    assert outcome.failure.message == "token '<redacted>' refused"


def test_a_stop_with_tries_left_leaves_the_request_for_redelivery() -> None:
    """While stopping, a failed try with tries left gives LeftForRedelivery, not a dead letter."""
    pipeline = pipeline_of(lambda payload: 1 / 0, attempts=3)
    pipeline.stop()
    outcome = handle(pipeline, GREET, {"name": "Ana"})
    assert isinstance(outcome, LeftForRedelivery)
    assert (outcome.failure.stage, outcome.failure.attempts) == (Stage.HANDLER, 1)


def test_a_stop_on_the_last_try_still_dead_letters() -> None:
    """With no tries left, stopping changes nothing: the request is dead-lettered."""
    pipeline = pipeline_of(lambda payload: 1 / 0, attempts=1)
    pipeline.stop()
    assert isinstance(handle(pipeline, GREET, {"name": "Ana"}), DeadLettered)


def test_records_are_prepared_or_refused_with_their_stage() -> None:
    """prepare(): Prepared, or a Failure at HEADERS (unreadable too), DECODE or REQUEST."""
    pipeline = pipeline_of(greeting)
    route = pipeline.route(GREET)
    pid = (("processInstanceId", b"1"),)
    cases = [
        Record(GREET_OUT, None, b'{"name": "Ana"}', pid),
        Record(GREET_OUT, None, b'{"name": "Ana"}', (("processInstanceId", b"\xff"),)),
        Record(GREET_OUT, None, b"{nope", pid),
        Record(GREET_OUT, None, b'{"name": 1}', pid),
        Record(
            GREET_OUT, None, b'{"name": "Ana"}', ((UNREADABLE_HEADERS, UNREADABLE_HEADERS_VALUE),)
        ),
    ]
    kinds = []
    for record in cases:
        prepared = pipeline.prepare(route, record)
        kinds.append(prepared.stage if isinstance(prepared, Failure) else type(prepared))
    pipeline.close()
    assert kinds == [Prepared, Stage.HEADERS, Stage.DECODE, Stage.REQUEST, Stage.HEADERS]


class UnreadableHeaders(Mapping[str, str]):
    """Headers that fail when read: an error the pipeline does not expect."""

    def __getitem__(self, name: str) -> str:
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("cannot read the headers")

    def __len__(self) -> int:
        return 1


def test_an_unexpected_error_in_the_pipeline_is_an_internal_dead_letter() -> None:
    """An error the pipeline does not expect is an outcome (INTERNAL), never a raise."""
    outcome = handle(pipeline_of(greeting), GREET, {"name": "Ana"}, headers=UnreadableHeaders())
    assert isinstance(outcome, DeadLettered)
    assert (outcome.failure.stage, outcome.failure.message) == (
        Stage.INTERNAL,
        "cannot read the headers",
    )


def test_route_refuses_a_scenario_without_a_handler() -> None:
    """route() of a scenario nobody handles is a LookupError naming it."""
    pipeline = pipeline_of(greeting)
    with pytest.raises(LookupError, match="no integration of this pipeline has a scenario 'x'"):
        pipeline.route("x")


def test_an_app_without_handlers_has_no_pipeline() -> None:
    """app.pipeline with nothing registered raises HandlerRegistrationError."""
    with pytest.raises(HandlerRegistrationError, match="the app has no handlers"):
        App(DEMO).pipeline  # noqa: B018 - the property raises


def test_stage_values_are_the_dead_letter_header_words() -> None:
    """Each Stage's value is the word the dead-letter header carries."""
    assert [str(s) for s in Stage] == [
        "headers",
        "decode",
        "request",
        "handler",
        "reply",
        "internal",
    ]


def test_failure_violations_are_empty_for_errors_other_than_validation() -> None:
    """Failure.violations lists a ValidationError's violations and nothing otherwise."""
    error = ValidationError([], subject="request")
    assert (
        Failure(stage=Stage.HANDLER, error=RuntimeError("x"), attempts=1).violations,
        Failure(stage=Stage.REQUEST, error=error, attempts=0).violations,
    ) == ((), ())


def test_a_pipeline_shared_by_two_users_keeps_its_threads_until_both_close() -> None:
    """start() twice, close() once: sync handlers still run on the pipeline's own threads."""
    threads: list[str] = []

    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        threads.append(threading.current_thread().name.rpartition("_")[0])
        return {"greeting": "hi"}

    pipeline = pipeline_of(greet)  # started once
    pipeline.start()
    pipeline.close()
    route = pipeline.route(GREET)
    asyncio.run(pipeline.handle(route, {"name": "Ana"}, HEADERS, origin=ORIGIN))
    pipeline.close()
    assert threads == ["flowintegrations-handler"]


def test_the_callers_own_stopping_leaves_a_failing_request_for_redelivery() -> None:
    """handle(..., stopping=...) true: a failure with tries left is LeftForRedelivery."""
    pipeline = pipeline_of(lambda payload: 1 / 0, attempts=3)
    route = pipeline.route(GREET)
    outcome = asyncio.run(
        pipeline.handle(route, {"name": "Ana"}, HEADERS, origin=ORIGIN, stopping=lambda: True)
    )
    pipeline.close()
    assert isinstance(outcome, LeftForRedelivery)
