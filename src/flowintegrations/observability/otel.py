"""Traces and metrics through OpenTelemetry: :class:`Telemetry`, the runtime's instrumentation.

Spans (tracing is on when a tracer provider is configured, globally or passed in):

``process <out topic>`` (CONSUMER), one per request, a child of the ``traceparent`` the
request carries; its children ``validate``, ``handler`` (one per try, attribute
``flowx.attempt``) and ``send <topic>`` (PRODUCER) for each reply, error reply and dead
letter. The record sent carries the producer span's ``traceparent``/``tracestate`` in place
of the request's. A Flow action gets a SERVER span instead of the consumer span, and the
EngineClient a ``request <out topic>`` / ``send <out topic>`` PRODUCER span whose context
the request carries.

Metrics (always, through the meter provider; :data:`METRICS` lists them) count requests by
outcome, dead letters by stage and error class, and time handlers, lag and commits. Their
instruments are made once per meter provider and shared by every Telemetry on it
(:mod:`flowintegrations.observability.metrics`); trace context travels in record headers
(:mod:`flowintegrations.observability.propagation`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

try:
    from opentelemetry import context as context_api
    from opentelemetry import propagate, trace
    from opentelemetry.metrics import MeterProvider, NoOpMeterProvider, get_meter_provider
    from opentelemetry.trace import (
        NoOpTracerProvider,
        ProxyTracerProvider,
        Span,
        SpanKind,
        Status,
        StatusCode,
        TracerProvider,
    )
except ImportError as exc:  # pragma: no cover - the extra is part of the test extra
    msg = "telemetry needs OpenTelemetry: pip install 'flowintegrations[otel]'"
    raise ImportError(msg) from exc

from flowintegrations.deadletter import error_class_name
from flowintegrations.observability.metrics import (
    ATTEMPT,
    CONSUMER_GROUP,
    DESTINATION,
    ERROR_TYPE,
    INSTRUMENTATION_NAME,
    INTEGRATION,
    MESSAGE_ID,
    MESSAGING_SYSTEM,
    METRICS,
    OFFSET,
    OPERATION_NAME,
    OPERATION_TYPE,
    OUTCOME,
    PARTITION,
    PROCESS_INSTANCE,
    SCENARIO,
    STAGE,
    Metric,
    instruments_for,
)
from flowintegrations.observability.propagation import GETTER, header, with_context
from flowintegrations.runtime import (
    DeadLettered,
    Deferred,
    ErrorReplied,
    Failure,
    LeftForRedelivery,
    Origin,
    Outcome,
    Prepared,
    Replied,
    Route,
)
from flowintegrations.transport import Record
from flowintegrations.vocabulary import (
    PROCESS_INSTANCE_ID,
    PROCESS_INSTANCE_UUID,
    encodable,
    redact,
)

if TYPE_CHECKING:
    import asyncio
    from contextvars import Token

    from opentelemetry.context import Context

    from flowintegrations.model import Integration, Scenario
    from flowintegrations.runtime.telemetry import LoopState

__all__ = ["METRICS", "Metric", "Telemetry"]

_Started = tuple["Span", "Token[Context]"]
"""A try's span and the token that makes it current (to detach when the try ends)."""

_OUTCOMES: dict[type, str] = {
    Replied: "replied",
    ErrorReplied: "error_replied",
    DeadLettered: "dead_lettered",
    LeftForRedelivery: "redelivered",
    Deferred: "deferred",
}


class Telemetry:
    """The runtime's instrumentation through OpenTelemetry: give it to App or EngineClient.

    ``tracer_provider`` and ``meter_provider`` default to the global ones. Tracing is off
    when the tracer provider is the API's default (nothing configured): then no span is
    made, and only metrics are reported. A provider set globally later is not seen; make
    the Telemetry after configuring OpenTelemetry.

    Every Telemetry on one meter provider reports through the same instruments: the
    requests of two Apps in one process (or of an App restarted) add up.
    """

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        tracer_provider = tracer_provider or trace.get_tracer_provider()
        meter_provider = meter_provider or get_meter_provider()
        self.tracing = not isinstance(tracer_provider, (ProxyTracerProvider, NoOpTracerProvider))
        self.metering = not isinstance(meter_provider, NoOpMeterProvider)
        self.tracer = tracer_provider.get_tracer(INSTRUMENTATION_NAME)
        instruments = instruments_for(meter_provider)
        self.handler_duration = instruments.handler_duration
        self.lag = instruments.lag
        self.commit_duration = instruments.commit_duration
        self._requests, self._dead_letters = instruments.counts()
        self._loops = instruments.loops()
        self._route_attributes: dict[Route, dict[str, str]] = {}

    def __repr__(self) -> str:
        return f"Telemetry(tracing={self.tracing}, metering={self.metering})"

    # The Instrumentation protocol -------------------------------------------------------------

    def delivery(self, loop: LoopState, group_id: str) -> _LoopTelemetry:
        """The instrumentation of a delivery loop, a member of consumer group ``group_id``."""
        self._loops[id(loop)] = (loop, group_id)
        return _LoopTelemetry(self, loop, group_id)

    def served(
        self,
        route: Route,
        origin: Origin,
        headers: Mapping[str, str],
        carrier: Mapping[str, str] | None = None,
    ) -> RequestTrace:
        """A request of ``route`` that came over HTTP (a Flow action).

        ``headers`` are the request's headers as the pipeline sees them; ``carrier`` the
        HTTP headers, read for trace context (``headers`` when not given).
        """
        started = time.time_ns()
        span = None
        if self.tracing:
            parent = propagate.extract(carrier if carrier is not None else headers)
            attributes = dict(self.attributes(route))
            pid = headers.get(PROCESS_INSTANCE_ID)
            if pid is not None:
                attributes[PROCESS_INSTANCE] = pid
            span = self.tracer.start_span(
                origin.topic,
                context=parent,
                kind=SpanKind.SERVER,
                attributes=attributes,
                start_time=started,
            )
        return RequestTrace(self, route, span, started, headers.get)

    @contextlib.contextmanager
    def engine_request(
        self, integration: Integration, scenario: Scenario, record: Record, *, operation: str
    ) -> Iterator[Record]:
        """A PRODUCER span around the engine's request; ``record`` carries its context."""
        if not self.tracing:
            yield record
            return
        attributes: dict[str, Any] = {
            MESSAGING_SYSTEM: "kafka",
            OPERATION_TYPE: "send",
            OPERATION_NAME: operation,
            DESTINATION: record.topic,
            INTEGRATION: integration.identifier,
            SCENARIO: scenario.identifier,
        }
        pid, uuid = header(record, PROCESS_INSTANCE_ID), header(record, PROCESS_INSTANCE_UUID)
        if pid is not None:
            attributes[PROCESS_INSTANCE] = pid
        if uuid is not None:
            attributes[MESSAGE_ID] = uuid
        # A trace context among the request's headers is continued; else the current one.
        parent = propagate.extract(record, context=context_api.get_current(), getter=GETTER)
        with self.tracer.start_as_current_span(
            f"{operation} {record.topic}",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes=attributes,
        ):
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            yield with_context(record, carrier)

    # Shared pieces --------------------------------------------------------------------------

    def attributes(self, route: Route) -> dict[str, str]:
        """The attributes naming ``route``'s integration and scenario (cached)."""
        found = self._route_attributes.get(route)
        if found is None:
            found = self._route_attributes[route] = {
                INTEGRATION: route.integration.identifier,
                SCENARIO: route.scenario.identifier,
            }
        return found

    def count_request(self, route: Route, outcome: str, stage: str | None) -> None:
        """Count one request of ``route`` that ended in ``outcome`` (failed at ``stage``)."""
        key = (route, outcome, stage)
        counts = self._requests.counts
        if key in counts:
            counts[key] += 1
            return
        attributes = {**self.attributes(route), OUTCOME: outcome}
        if stage is not None:
            attributes[STAGE] = stage
        self._requests.first(key, attributes)

    def count_dead_letter(self, route: Route, stage: str, error_type: str) -> None:
        """Count one dead letter of ``route`` at ``stage`` for an error of ``error_type``."""
        key = (route, stage, error_type)
        counts = self._dead_letters.counts
        if key in counts:
            counts[key] += 1
            return
        attributes = {**self.attributes(route), STAGE: stage, ERROR_TYPE: error_type}
        self._dead_letters.first(key, attributes)

    def forget(self, loop: LoopState) -> None:
        """Stop observing ``loop``'s gauges."""
        self._loops.pop(id(loop), None)


class _Try:
    """One try of a handler: its duration measured, its span current while it runs."""

    __slots__ = ("_attempt", "_span", "_started", "_trace")

    def __init__(self, request: RequestTrace, attempt: int) -> None:
        self._trace = request
        self._attempt = attempt
        self._span: _Started | None = None
        self._started = 0.0

    def __enter__(self) -> None:
        self._span = self._trace.tried(self._attempt)
        self._started = time.perf_counter()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: Any
    ) -> None:
        self._trace.try_ended(self._span, time.perf_counter() - self._started, error)


class _LoopTelemetry:
    """What one delivery loop reports: each request received, each commit."""

    def __init__(self, telemetry: Telemetry, loop: LoopState, group_id: str) -> None:
        self.telemetry = telemetry
        self.loop = loop
        self.group = {CONSUMER_GROUP: group_id}
        self.group_id = group_id

    def received(self, route: Route, record: Record) -> RequestTrace:
        """Start the request's span (a child of the context it carries); record its lag."""
        telemetry = self.telemetry
        started = time.time_ns()
        if record.timestamp is not None:
            lag = max(0.0, started / 1e9 - record.timestamp / 1e3)
            telemetry.lag.record(lag, telemetry.attributes(route))
        span = None
        if telemetry.tracing:
            attributes: dict[str, Any] = {
                MESSAGING_SYSTEM: "kafka",
                OPERATION_TYPE: "process",
                OPERATION_NAME: "process",
                DESTINATION: record.topic,
                CONSUMER_GROUP: self.group_id,
                **telemetry.attributes(route),
            }
            if record.partition is not None:
                attributes[PARTITION] = str(record.partition)
            if record.offset is not None:
                attributes[OFFSET] = record.offset
            pid, uuid = header(record, PROCESS_INSTANCE_ID), header(record, PROCESS_INSTANCE_UUID)
            if pid is not None:
                attributes[PROCESS_INSTANCE] = pid
            if uuid is not None:
                attributes[MESSAGE_ID] = uuid
            span = telemetry.tracer.start_span(
                f"process {record.topic}",
                context=propagate.extract(record, getter=GETTER),
                kind=SpanKind.CONSUMER,
                attributes=attributes,
                start_time=started,
            )
        return RequestTrace(self.telemetry, route, span, started, lambda name: header(record, name))

    def committed(self, seconds: float) -> None:
        """Record a commit's duration."""
        self.telemetry.commit_duration.record(seconds, self.group)

    def close(self) -> None:
        """Stop observing the loop's gauges."""
        self.telemetry.forget(self.loop)


class RequestTrace:
    """One request's span (``None`` when only metrics are on) and its metrics."""

    __slots__ = ("_context", "_header", "_mark", "_producers", "_route", "_telemetry", "span")

    def __init__(
        self,
        telemetry: Telemetry,
        route: Route,
        span: Span | None,
        started: int,
        header: Callable[[str], str | None],
    ) -> None:
        self._telemetry = telemetry
        self._route = route
        self.span = span
        self._mark = started
        self._header = header
        self._producers: list[Span] = []
        # The request's span as the parent of its children (made once, used by each).
        self._context = None if span is None else trace.set_span_in_context(span)

    def _secrets(self) -> tuple[str, ...]:
        values = (self._header(name) for name in self._route.secret)
        return tuple(v for v in values if v)

    def _fail(self, span: Span, stage: str, error: BaseException, message: str) -> None:
        span.set_status(Status(StatusCode.ERROR, message))
        span.set_attribute(STAGE, stage)
        span.set_attribute(ERROR_TYPE, error_class_name(error))
        span.add_event(
            "exception",
            {"exception.type": error_class_name(error), "exception.message": message},
        )

    def validated(self, result: Prepared | Failure) -> None:
        """A ``validate`` span from receipt to now; failed with the stage if ``result`` is."""
        if self.span is None:
            return
        now = time.time_ns()
        child = self._telemetry.tracer.start_span(
            "validate", context=self._context, start_time=self._mark
        )
        if isinstance(result, Failure):
            failure = attrs.evolve(result, secrets=self._secrets())
            self._fail(child, failure.stage.value, failure.error, failure.message)
        child.end(end_time=now)

    def handler(self, fn: Callable[..., Any], attempt: int, *, is_async: bool) -> Any:
        """``fn`` wrapped in a ``handler`` span (current while it runs) and timed."""
        if is_async:

            async def call_async(*args: Any) -> Any:
                with _Try(self, attempt):
                    return await fn(*args)

            return call_async

        def call(*args: Any) -> Any:
            with _Try(self, attempt):
                return fn(*args)

        return call

    def tried(self, attempt: int) -> _Started | None:
        """Start try ``attempt``'s ``handler`` span and make it current (None: not tracing)."""
        if self._context is None:
            return None
        span = self._telemetry.tracer.start_span(
            "handler", context=self._context, attributes={ATTEMPT: attempt}
        )
        return span, context_api.attach(trace.set_span_in_context(span))

    def try_ended(
        self, started: _Started | None, seconds: float, error: BaseException | None
    ) -> None:
        """Record a try's duration; end its span (``started``), failed if ``error`` is."""
        telemetry = self._telemetry
        attributes = telemetry.attributes(self._route)
        if isinstance(error, Exception):
            attributes = {**attributes, ERROR_TYPE: error_class_name(error)}
        telemetry.handler_duration.record(seconds, attributes)
        if started is not None:
            span, token = started
            if isinstance(error, Exception):
                message = encodable(redact(str(error), self._secrets()))
                self._fail(span, "handler", error, message)
            context_api.detach(token)
            span.end()

    def outgoing(self, record: Record, failure: Failure | None = None) -> Record:
        """Start a ``send`` span for ``record``; the record carries its context."""
        if self.span is None:
            return record
        telemetry = self._telemetry
        attributes: dict[str, Any] = {
            MESSAGING_SYSTEM: "kafka",
            OPERATION_TYPE: "send",
            OPERATION_NAME: "send",
            DESTINATION: record.topic,
            **telemetry.attributes(self._route),
        }
        if failure is not None:
            attributes[STAGE] = failure.stage.value
            attributes[ERROR_TYPE] = error_class_name(failure.error)
        producer = telemetry.tracer.start_span(
            f"send {record.topic}",
            context=self._context,
            kind=SpanKind.PRODUCER,
            attributes=attributes,
        )
        self._producers.append(producer)
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(producer))
        return with_context(record, carrier)

    def finished(self, outcome: Outcome, completion: asyncio.Future[Any] | None) -> None:
        """Count ``outcome``; end the spans when ``completion`` (the sends) is done."""
        telemetry = self._telemetry
        route = self._route
        name = _OUTCOMES[type(outcome)]
        failure = None if isinstance(outcome, (Replied, Deferred)) else outcome.failure
        if failure is None:
            telemetry.count_request(route, name, None)
        else:
            stage = failure.stage.value
            telemetry.count_request(route, name, stage)
            if not isinstance(outcome, LeftForRedelivery):
                telemetry.count_dead_letter(route, stage, error_class_name(failure.error))
        span = self.span
        if span is None:
            return
        span.set_attribute(OUTCOME, name)
        if failure is not None:
            self._fail(span, failure.stage.value, failure.error, failure.message)
        if completion is None or completion.done():
            self._end(completion)
        else:
            completion.add_done_callback(self._end)

    def _end(self, completion: asyncio.Future[Any] | None) -> None:
        error = None
        if completion is not None and not completion.cancelled():
            error = completion.exception()
        for producer in self._producers:
            if error is not None:
                producer.set_status(Status(StatusCode.ERROR, f"not delivered: {error}"))
            producer.end()
        if self.span is not None:
            self.span.end()

    def log_fields(self) -> Mapping[str, str]:
        """``trace_id`` and ``span_id`` of the request's span (empty when not tracing)."""
        if self.span is None:
            return {}
        context = self.span.get_span_context()
        return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}
