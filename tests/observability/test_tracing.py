"""Traces of requests through an App in memory: the span tree, its attributes, propagation."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from opentelemetry.trace import SpanContext, SpanKind, StatusCode

from flowintegrations import App, Context, Retry
from flowintegrations.observability import current_trace_fields
from flowintegrations.testing import TestClient
from flowintegrations.transport import Record
from support.otel import Recorded
from support.runtime import DEMO, GREET, GREET_IN, GREET_OUT, HEADERS

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def traceparent(context: SpanContext) -> str:
    """The W3C traceparent of ``context``."""
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def traced_app(recorded: Recorded, *, fail_first: int = 0) -> App:
    """The demo app whose greet handler fails its first ``fail_first`` tries."""
    app = App(DEMO, retry=Retry(attempts=3, backoff=0.0), telemetry=recorded.telemetry)
    tries: list[int] = []

    @app.handler(GREET)
    def greet(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
        tries.append(ctx.attempt)
        if len(tries) <= fail_first:
            msg = f"try {ctx.attempt} failed"
            raise ConnectionError(msg)
        return {"greeting": f"Hello, {payload['name']}"}

    return app


def test_a_request_makes_the_span_tree_from_the_engine_to_the_reply() -> None:
    """Engine request -> process -> validate, handler, send reply: one trace, one tree."""
    recorded = Recorded.make()
    with TestClient(traced_app(recorded)) as client:
        client.request(GREET, {"name": "Ana"}, headers=HEADERS)
    assert recorded.tree() == {
        (f"request {GREET_OUT}", None),
        (f"process {GREET_OUT}", f"request {GREET_OUT}"),
        ("validate", f"process {GREET_OUT}"),
        ("handler", f"process {GREET_OUT}"),
        (f"send {GREET_IN}", f"process {GREET_OUT}"),
    }
    assert len({s.context.trace_id for s in recorded.spans()}) == 1


def test_the_consumer_span_carries_the_messaging_attributes() -> None:
    """The process span says system, destination, partition, offset, group, ids, scenario."""
    recorded = Recorded.make()
    app = traced_app(recorded)
    with TestClient(app) as client:
        client.request(GREET, {"name": "Ana"}, headers=HEADERS)
    span = recorded.span(f"process {GREET_OUT}")
    assert (span.kind, dict(span.attributes or {})) == (
        SpanKind.CONSUMER,
        {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.destination.name": GREET_OUT,
            "messaging.destination.partition.id": "0",
            "messaging.kafka.offset": 0,
            "messaging.consumer.group.name": app.group_id,
            "messaging.message.id": "uuid-1001",
            "flowx.process_instance_id": "1001",
            "flowx.integration": "demo",
            "flowx.scenario": "greet",
            "flowx.outcome": "replied",
        },
    )


def test_the_reply_traceparent_continues_the_request_trace() -> None:
    """The reply's traceparent has the request's trace id and the reply span as parent."""
    recorded = Recorded.make()
    headers = {**HEADERS, "traceparent": TRACEPARENT}
    with TestClient(traced_app(recorded)) as client:
        reply = client.request(GREET, {"name": "Ana"}, headers=headers)
    sent = recorded.span(f"send {GREET_IN}").context
    assert reply.headers["traceparent"] == traceparent(sent)


def test_a_traceparent_on_the_request_is_the_parent_of_the_engine_span() -> None:
    """A traceparent given to the engine's request is continued, not replaced."""
    recorded = Recorded.make()
    headers = {**HEADERS, "traceparent": TRACEPARENT}
    with TestClient(traced_app(recorded)) as client:
        client.request(GREET, {"name": "Ana"}, headers=headers)
    engine = recorded.span(f"request {GREET_OUT}")
    assert (f"{engine.context.trace_id:032x}", f"{engine.parent.span_id:016x}") == (  # type: ignore[union-attr]
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
    )


def test_the_reply_keeps_every_other_header_in_order() -> None:
    """Only the trace context changes on the reply: every other header is copied as is."""
    recorded = Recorded.make()
    headers = {**HEADERS, "traceparent": TRACEPARENT, "custom": "x"}
    with TestClient(traced_app(recorded)) as client:
        reply = client.request(GREET, {"name": "Ana"}, headers=headers)
    assert [k for k, _ in reply.record.headers] == [
        "processInstanceId",
        "processInstanceUuid",
        "traceparent",
        "custom",
    ]


def test_each_try_is_a_handler_span_and_a_failed_try_is_an_error() -> None:
    """A handler that fails once gives two handler spans: attempt 1 failed, attempt 2 ok."""
    recorded = Recorded.make()
    with TestClient(traced_app(recorded, fail_first=1)) as client:
        client.request(GREET, {"name": "Ana"}, headers=HEADERS)
    handlers = sorted(
        (
            (s.attributes or {})["flowx.attempt"],
            s.status.status_code,
            (s.attributes or {}).get("flowx.error.stage"),
        )
        for s in recorded.spans()
        if s.name == "handler"
    )
    assert handlers == [(1, StatusCode.ERROR, "handler"), (2, StatusCode.UNSET, None)]


def test_a_dead_letter_span_carries_the_stage() -> None:
    """An invalid request: the validate span failed, the dead-letter send names the stage."""
    recorded = Recorded.make()
    with TestClient(traced_app(recorded)) as client:
        client.send_raw(Record(GREET_OUT, None, b'{"times": 1}', (("processInstanceId", b"7"),)))
        (dead,) = client.dead_letters
    dlt = recorded.span(f"send {GREET_OUT}.DLT")
    process = recorded.span(f"process {GREET_OUT}")
    assert (
        dlt.kind,
        (dlt.attributes or {})["flowx.error.stage"],
        (dlt.attributes or {})["error.type"],
        recorded.span("validate").status.status_code,
        process.status.status_code,
        (process.attributes or {})["flowx.outcome"],
        dict(dead.headers)["traceparent"].decode(),
    ) == (
        SpanKind.PRODUCER,
        "request",
        "ValidationError",
        StatusCode.ERROR,
        StatusCode.ERROR,
        "dead_lettered",
        traceparent(dlt.context),
    )


def test_a_secret_header_never_reaches_a_span() -> None:
    """A handler error quoting the jwt is redacted in the span status and events."""
    recorded = Recorded.make()
    app = App(DEMO, retry=Retry(attempts=1), telemetry=recorded.telemetry)

    @app.handler(GREET)
    def greet(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
        msg = f"token {ctx.headers['jwt']} refused"
        raise PermissionError(msg)

    with TestClient(app) as client:
        client.send(GREET, {"name": "Ana"}, headers={**HEADERS, "jwt": "s3cret-jwt"})
        assert len(client.dead_letters) == 1
    texts = [
        str(s.status.description) + repr([e.attributes for e in s.events]) for s in recorded.spans()
    ]
    assert [t for t in texts if "s3cret-jwt" in t] == []


def test_the_handler_span_is_current_while_the_handler_runs() -> None:
    """Inside a handler, the current span is its handler span (so its own spans nest)."""
    recorded = Recorded.make()
    app = App(DEMO, telemetry=recorded.telemetry)
    seen: list[dict[str, str]] = []

    @app.handler(GREET)
    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        seen.append(current_trace_fields())
        return {"greeting": "hi"}

    with TestClient(app) as client:
        client.request(GREET, {"name": "Ana"}, headers=HEADERS)
    handler = recorded.span("handler").context
    assert seen == [{"trace_id": f"{handler.trace_id:032x}", "span_id": f"{handler.span_id:016x}"}]


def test_an_async_handler_is_traced_the_same_way() -> None:
    """An async handler's try is a handler span under the request's span too."""
    recorded = Recorded.make()
    app = App(DEMO, telemetry=recorded.telemetry)

    @app.handler(GREET)
    async def greet(payload: dict[str, Any]) -> dict[str, Any]:
        return {"greeting": "hi", "trace": current_trace_fields()["span_id"]}

    with TestClient(app) as client:
        reply = client.request(GREET, {"name": "Ana"}, headers=HEADERS)
    handler = recorded.span("handler")
    assert (reply.payload["trace"], handler.parent.span_id) == (  # type: ignore[union-attr]
        f"{handler.context.span_id:016x}",
        recorded.span(f"process {GREET_OUT}").context.span_id,
    )


def test_dead_letter_log_records_carry_the_trace_ids(caplog: pytest.LogCaptureFixture) -> None:
    """The dead_letter log record names the request's trace and span."""
    recorded = Recorded.make()
    with caplog.at_level(logging.ERROR), TestClient(traced_app(recorded, fail_first=3)) as client:
        client.send(GREET, {"name": "Ana"}, headers=HEADERS)
        assert len(client.dead_letters) == 1
    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "dead_letter"]
    process = recorded.span(f"process {GREET_OUT}").context
    assert (record.trace_id, record.span_id) == (  # type: ignore[attr-defined]
        f"{process.trace_id:032x}",
        f"{process.span_id:016x}",
    )


def test_without_a_tracer_provider_no_span_is_made_and_headers_stay() -> None:
    """Metrics only: no span, and the reply's headers are exactly the request's."""
    recorded = Recorded.make(tracing=False)
    headers = {**HEADERS, "traceparent": TRACEPARENT}
    with TestClient(traced_app(recorded)) as client:
        reply = client.request(GREET, {"name": "Ana"}, headers=headers)
    assert (recorded.spans(), reply.headers) == ([], headers)
