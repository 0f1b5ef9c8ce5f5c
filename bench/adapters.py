"""The contenders: one OTP adapter written four ways, each run as its own process.

    python bench/adapters.py KIND BOOTSTRAP OUT_TOPIC IN_TOPIC [--group G] [--slow-ms MS]
        [--linger-ms MS] [--profile FILE] [--max-in-flight N] [--max-batch N] [--freeze-heap 0|1]

Every kind does the same work per request: read the record, decode the JSON, (validate
it), build the reply ``{"otpId": ..., "expiresAt": ...}``, (validate it), encode it, and
produce it to the in topic with the request's headers (all but ``jwt``) and the
``processInstanceUuid`` header as key. Kinds:

* ``ours``         App + KafkaTransport, a sync handler (the usual way to write one)
* ``ours-async``   App + KafkaTransport, an async handler
* ``ours-inline``  App + KafkaTransport, a sync handler registered with ``inline=True`` (on
                   the event loop, no thread hop)
* ``ours-eos``     ``ours`` with ``exactly_once=True``: each batch in a Kafka transaction
                   with its offsets (the cost of exactly once)
* ``ours-otel``    ``ours`` with telemetry on: OpenTelemetry SDK tracer (every span made,
                   batched to an exporter that drops them) and SDK meter provider
* ``ours-metrics`` ``ours`` with telemetry on but no tracer provider: metrics only
* ``raw``          confluent-kafka consume -> json -> produce loop (the practical ceiling)
* ``raw-fjs``      the raw loop plus fastjsonschema on request and reply
* ``raw-alo``      the careful, lean hand-written loop: ``raw-fjs`` made at-least-once, as
                   a careful user writes it: one ``consume(1000)`` per batch; ``json.loads``
                   and a compiled fastjsonschema check each way; ``produce`` with no
                   per-record callback (``delivery.report.only.error`` and one error
                   callback); one ``flush()`` per batch, then an asynchronous commit of the
                   batch's last offset per partition, unless a delivery failed
* ``faststream``   FastStream's confluent broker, subscriber + publish, pydantic models

``--slow-ms`` makes the handler take that long per request (a sync sleep on its thread
for ``ours``), for the memory benchmark. ``--max-in-flight`` and ``--max-batch`` set the
App's options of those names, ``--freeze-heap 0`` its ``freeze_heap=False``, for comparisons
of one setting against another. SIGTERM stops every kind cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import time
from typing import Any, Literal

from common import (
    EXPIRES,
    TANSU_TEST_CONFIG,
    consumer_conf,
    otp_on,
    producer_conf,
)


def noop_telemetry(*, tracing: bool) -> Any:
    """Telemetry with the OpenTelemetry SDK: spans made and batched to a no-op exporter.

    Without ``tracing``, no tracer provider: metrics only.
    """
    from opentelemetry.sdk.metrics import MeterProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import (  # noqa: PLC0415
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    from flowintegrations.observability import Telemetry  # noqa: PLC0415

    class DropSpans(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    tracer_provider = None
    if tracing:
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(BatchSpanProcessor(DropSpans()))
    return Telemetry(tracer_provider=tracer_provider, meter_provider=MeterProvider())


def run_ours(
    args: argparse.Namespace,
    *,
    is_async: bool,
    telemetry: str = "",
    exactly_once: bool = False,
    inline: bool = False,
) -> None:
    from flowintegrations import App, Retry  # noqa: PLC0415
    from flowintegrations.transport import KafkaTransport  # noqa: PLC0415

    integration, otp = otp_on(args.out_topic, args.in_topic)
    config = {**TANSU_TEST_CONFIG, "linger.ms": args.linger_ms}
    transport = KafkaTransport(args.bootstrap, config=config)
    app = App(
        integration,
        transport=transport,
        group_id=args.group,
        retry=Retry(attempts=1),
        exactly_once=exactly_once,
        **({"max_in_flight": args.max_in_flight} if args.max_in_flight else {}),
        **({"max_batch": args.max_batch} if args.max_batch else {}),
        # only when asked, so that a baseline without the option runs this file too
        **({} if args.freeze_heap else {"freeze_heap": False}),
        **({"telemetry": noop_telemetry(tracing=telemetry == "otel")} if telemetry else {}),
    )
    slow = args.slow_ms / 1000

    if is_async:

        @app.handler(otp)
        async def generate_otp_async(payload: dict[str, Any]) -> dict[str, Any]:
            if slow:
                await asyncio.sleep(slow)
            return {"otpId": "otp-" + payload["recipient"], "expiresAt": EXPIRES}

    else:
        # inline only when asked, so that a baseline without it runs this file too
        @app.handler(otp, **({"inline": True} if inline else {}))
        def generate_otp(payload: dict[str, Any]) -> dict[str, Any]:
            if slow:
                time.sleep(slow)
            return {"otpId": "otp-" + payload["recipient"], "expiresAt": EXPIRES}

    async def main() -> None:
        await transport.start()
        try:
            await app.serve()
        finally:
            await transport.stop()

    if args.profile:
        from pyinstrument import Profiler  # noqa: PLC0415

        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
        try:
            asyncio.run(main())
        finally:
            profiler.stop()
            with open(args.profile, "w") as out:
                out.write(profiler.output_text(unicode=False, color=False, show_all=False))
    else:
        asyncio.run(main())


def run_raw(args: argparse.Namespace, *, validate: bool, at_least_once: bool = False) -> None:
    from confluent_kafka import Consumer, Producer  # noqa: PLC0415

    if at_least_once:
        run_raw_alo(args)
        return

    check_request = check_reply = None
    if validate:
        import fastjsonschema  # noqa: PLC0415

        from flowintegrations.validation import scenario_validators  # noqa: PLC0415

        integration, otp = otp_on(args.out_topic, args.in_topic)
        request_v, reply_v = scenario_validators(integration, otp)
        check_request = fastjsonschema.compile(request_v.schema)
        check_reply = fastjsonschema.compile(reply_v.schema)

    consumer = Consumer(consumer_conf(args.bootstrap, args.group))
    producer = Producer(producer_conf(args.bootstrap, **{"linger.ms": args.linger_ms}))
    consumer.subscribe([args.out_topic])
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    in_topic = args.in_topic
    slow = args.slow_ms / 1000
    loads, dumps = json.loads, json.dumps
    while not stopping:
        # Greedy, as KafkaTransport reads: take what is fetched, wait only when nothing is
        # (consume(500, t) would wait for 500 records or t).
        messages = consumer.consume(500, 0)
        if not messages:
            messages = consumer.consume(1, 0.1)
            if messages:
                messages += consumer.consume(499, 0)
        for message in messages:
            if message.error() is not None:
                continue
            headers = message.headers() or []
            payload = loads(message.value())
            if check_request is not None:
                check_request(payload)
            if slow:
                time.sleep(slow)
            reply = {"otpId": "otp-" + payload["recipient"], "expiresAt": EXPIRES}
            if check_reply is not None:
                check_reply(reply)
            key = message.key()
            for name, value in headers:
                if name == "processInstanceUuid":
                    key = value
            while True:
                try:
                    producer.produce(
                        in_topic,
                        dumps(reply, separators=(",", ":")).encode(),
                        key,
                        headers=[h for h in headers if h[0] != "jwt"],
                    )
                    break
                except BufferError:
                    producer.poll(0.001)
        producer.poll(0)
        if messages:
            consumer.commit(asynchronous=True)
    producer.flush(10)
    consumer.close()


def run_raw_alo(args: argparse.Namespace) -> None:
    """The lean at-least-once loop a careful user writes (see the module docstring)."""
    import fastjsonschema  # noqa: PLC0415
    from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: PLC0415

    from flowintegrations.validation import scenario_validators  # noqa: PLC0415

    integration, otp = otp_on(args.out_topic, args.in_topic)
    request_v, reply_v = scenario_validators(integration, otp)
    check_request = fastjsonschema.compile(request_v.schema)
    check_reply = fastjsonschema.compile(reply_v.schema)
    failed: list[Any] = []
    # No per-record callback: librdkafka reports failed deliveries only, to one callback.
    reports = {
        "delivery.report.only.error": True,
        "on_delivery": lambda error, _: failed.append(error),
    }
    consumer = Consumer(consumer_conf(args.bootstrap, args.group))
    producer = Producer(producer_conf(args.bootstrap, **{"linger.ms": args.linger_ms}, **reports))
    consumer.subscribe([args.out_topic])
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    in_topic = args.in_topic
    slow = args.slow_ms / 1000
    loads, dumps = json.loads, json.dumps
    produce = producer.produce
    while not stopping:
        messages = consumer.consume(1000, 0.1)
        if not messages:
            continue
        last: dict[tuple[str, int], int] = {}
        for message in messages:
            if message.error() is not None:
                continue
            headers = message.headers() or []
            payload = loads(message.value())
            check_request(payload)
            if slow:
                time.sleep(slow)
            reply = {"otpId": "otp-" + payload["recipient"], "expiresAt": EXPIRES}
            check_reply(reply)
            key = message.key()
            for name, value in headers:
                if name == "processInstanceUuid":
                    key = value
            value = dumps(reply, separators=(",", ":")).encode()
            kept = [h for h in headers if h[0] != "jwt"]
            while True:
                try:
                    produce(in_topic, value, key, headers=kept)
                    break
                except BufferError:
                    producer.poll(0.001)
            last[message.topic(), message.partition()] = message.offset()
        producer.flush()
        if failed:
            # Stop uncommitted: the next member of the group handles the batch again.
            sys.exit(f"raw-alo: {len(failed)} replies failed; stopping uncommitted")
        if last:
            offsets = [TopicPartition(t, p, offset + 1) for (t, p), offset in last.items()]
            consumer.commit(offsets=offsets, asynchronous=True)
    producer.flush(10)
    consumer.close()


def run_faststream(args: argparse.Namespace) -> None:
    from faststream import FastStream  # noqa: PLC0415
    from faststream.confluent import KafkaBroker, KafkaMessage  # noqa: PLC0415
    from pydantic import BaseModel, ConfigDict  # noqa: PLC0415

    class OtpRequest(BaseModel):
        model_config = ConfigDict(strict=True, extra="forbid")
        templateName: str
        recipient: str
        channel: Literal["EMAIL", "SMS"]
        language: str = None  # type: ignore[assignment] - absent is fine, null is not
        length: float = None  # type: ignore[assignment]

    class OtpReply(BaseModel):
        model_config = ConfigDict(strict=True)
        otpId: str | None = None
        expiresAt: str | None = None
        error: str | None = None

    config = {
        k: v for k, v in TANSU_TEST_CONFIG.items() if k not in {"linger.ms", "auto.offset.reset"}
    }
    broker = KafkaBroker(
        args.bootstrap,
        config=config,  # type: ignore[arg-type]
        # linger.ms=0: FastStream awaits every publish, so any linger is paid per message.
        linger_ms=0,
        acks="all",
        enable_idempotence=True,
        log_level=logging.WARNING,  # it logs two INFO lines per message by default
    )
    in_topic = args.in_topic
    slow = args.slow_ms / 1000

    @broker.subscriber(
        args.out_topic,
        group_id=args.group,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=int(TANSU_TEST_CONFIG["fetch.wait.max.ms"]),
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
    )
    async def generate_otp(body: OtpRequest, msg: KafkaMessage) -> None:
        if slow:
            await asyncio.sleep(slow)
        headers = {k: v for k, v in msg.headers.items() if k != "jwt"}
        reply = OtpReply(otpId="otp-" + body.recipient, expiresAt=EXPIRES)
        await broker.publish(
            reply.model_dump_json(exclude_none=True).encode(),
            in_topic,
            key=headers.get("processInstanceUuid"),
            headers=headers,
        )

    app = FastStream(broker)
    asyncio.run(app.run())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "kind",
        choices=[
            "ours",
            "ours-async",
            "ours-inline",
            "ours-otel",
            "ours-metrics",
            "ours-eos",
            "raw",
            "raw-fjs",
            "raw-alo",
            "faststream",
        ],
    )
    parser.add_argument("bootstrap")
    parser.add_argument("out_topic")
    parser.add_argument("in_topic")
    parser.add_argument("--group", default="bench-adapter")
    parser.add_argument("--slow-ms", type=float, default=0.0)
    parser.add_argument("--linger-ms", type=int, default=5)
    parser.add_argument("--profile", default="")
    parser.add_argument("--max-in-flight", type=int, default=0)
    parser.add_argument("--max-batch", type=int, default=0)
    parser.add_argument("--freeze-heap", type=int, choices=(0, 1), default=1)
    args = parser.parse_args()
    if args.kind in ("ours", "ours-async", "ours-inline", "ours-otel", "ours-metrics", "ours-eos"):
        telemetry = {"ours-otel": "otel", "ours-metrics": "metrics"}.get(args.kind, "")
        run_ours(
            args,
            is_async=args.kind == "ours-async",
            telemetry=telemetry,
            exactly_once=args.kind == "ours-eos",
            inline=args.kind == "ours-inline",
        )
    elif args.kind in ("raw", "raw-fjs", "raw-alo"):
        run_raw(args, validate=args.kind != "raw", at_least_once=args.kind == "raw-alo")
    else:
        run_faststream(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
