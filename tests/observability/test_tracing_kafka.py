"""Traces on the real broker: the span tree, the reply's traceparent, the dead-letter stage."""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
import pytest

from flowintegrations import App, EngineClient, Reply, Retry
from flowintegrations.transport import Record
from support.kafka import fresh, integration_on_fresh_topics, kafka_transport, read
from support.otel import Recorded
from support.runtime import DEMO, HEADERS

pytestmark = pytest.mark.kafka


@attrs.frozen
class Seen:
    """What one run on Kafka left: spans and metrics, the reply, the dead letter, topics."""

    recorded: Recorded
    reply: Reply
    dead: Record
    out_topic: str
    in_topic: str


@pytest.fixture(scope="module")
def seen(kafka_bootstrap: str) -> Seen:
    """One request answered and one invalid request dead-lettered, through Kafka."""
    recorded = Recorded.make()
    integration = integration_on_fresh_topics(DEMO)
    greet = integration.scenario("greet")
    out_topic, in_topic = greet.binding(None).out_topic, greet.binding(None).in_topic
    assert in_topic is not None

    async def main() -> tuple[Reply, Record]:
        transport = kafka_transport(kafka_bootstrap)
        app = App(
            integration,
            transport=transport,
            retry=Retry(attempts=1),
            group_id=fresh("adapter"),
            telemetry=recorded.telemetry,
        )

        @app.handler(greet)
        def answer(payload: dict[str, Any]) -> dict[str, Any]:
            return {"greeting": f"Hello, {payload['name']}"}

        engine = EngineClient(integration, transport=transport, telemetry=recorded.telemetry)
        try:
            await transport.start()
            await transport.ensure_topics([out_topic, in_topic, out_topic + ".DLT"])
            dead_letters, *_ = await asyncio.gather(
                transport.subscribe([out_topic + ".DLT"], group_id=fresh("dead")),
                app.start(),
                engine.start(),
            )
            reply = await engine.request(greet, {"name": "Ana"}, headers=HEADERS, timeout=60)
            invalid = Record(out_topic, b"k", b'{"times": 1}', (("processInstanceId", b"5"),))
            await transport.send(invalid)
            (dead,) = await read(dead_letters, 1)
            await app.stop()  # the dead letter's spans end once it is acknowledged
            return reply, dead
        finally:
            await engine.stop()
            await app.stop()
            await transport.stop()

    reply, dead = asyncio.run(main())
    return Seen(recorded, reply, dead, out_topic, in_topic)


def test_the_span_tree_on_kafka(seen: Seen) -> None:
    """Engine request -> process -> validate, handler, send reply; the invalid one -> DLT."""
    out, in_ = seen.out_topic, seen.in_topic
    assert seen.recorded.tree() == {
        (f"request {out}", None),
        (f"process {out}", f"request {out}"),
        (f"process {out}", None),
        ("validate", f"process {out}"),
        ("handler", f"process {out}"),
        (f"send {in_}", f"process {out}"),
        (f"send {out}.DLT", f"process {out}"),
    }


def test_the_reply_continues_the_request_trace_on_kafka(seen: Seen) -> None:
    """The reply read from Kafka carries the traceparent of its send span."""
    sent = seen.recorded.span(f"send {seen.in_topic}").context
    flags = f"{int(sent.trace_flags):02x}"
    assert seen.reply.headers["traceparent"] == (
        f"00-{sent.trace_id:032x}-{sent.span_id:016x}-{flags}"
    )


def test_the_dead_letter_span_names_the_stage_on_kafka(seen: Seen) -> None:
    """The dead-letter send span says stage request, and the dead letter carries its context."""
    dlt = seen.recorded.span(f"send {seen.out_topic}.DLT")
    attributes = dict(dlt.attributes or {})
    assert (
        attributes["flowx.error.stage"],
        attributes["messaging.destination.name"],
        seen.dead.header("traceparent"),
    ) == (
        "request",
        f"{seen.out_topic}.DLT",
        f"00-{dlt.context.trace_id:032x}-{dlt.context.span_id:016x}-"
        f"{int(dlt.context.trace_flags):02x}".encode(),
    )
