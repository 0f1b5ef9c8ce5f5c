"""The handling pipeline: requests in, one :data:`~flowintegrations.runtime.Outcome` each out.

Independent of any transport. A request arrives as a consumed :class:`Record` (bytes and
raw headers) or as a decoded payload with text headers (an HTTP call); either way it is
checked (headers, JSON, the scenario's output model, the handler's attrs class), handed to
its handler, retried by the :class:`~flowintegrations.Retry` policy, and its reply checked
against the input model and encoded. The Kafka delivery loop, the Flow service and the
test client all go through here, so a request is handled the same way whichever way it
came.

Two ways in, one sequence:

- :meth:`Pipeline.handle_run`: a run of consecutive records of one partition (the
  delivery loop), given back as :class:`Slice` values, in order;
- :meth:`Pipeline.handle`: one decoded request (a Flow action), a run of one.

Where a handler runs: ``async def`` on the event loop; ``def`` on a worker thread, many
calls in one hop for as long as a time slice (``SYNC_SLICE``); ``def`` registered with
``inline=True`` on the event loop. :meth:`Pipeline.stop` is the one stop: from then on a
failure with tries left is left for redelivery, and a run ends there.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import attrs
import cattrs

from flowintegrations.codec import JsonCodec
from flowintegrations.errors import CodecError, HandlerRegistrationError, ValidationError
from flowintegrations.model import Scenario, find_scenario
from flowintegrations.retry import Retry
from flowintegrations.runtime.context import NO_CONFIGURATION, Context, MessageLogger
from flowintegrations.runtime.handlers import call_handler
from flowintegrations.runtime.outcome import (
    DeadLettered,
    Deferred,
    ErrorReplied,
    Failure,
    LeftForRedelivery,
    Origin,
    Outcome,
    Replied,
    Stage,
)
from flowintegrations.runtime.route import (
    Prepared,
    Route,
    Source,
    check_request_headers,
    decode_request_headers,
)
from flowintegrations.runtime.slices import S, Slice, Traces
from flowintegrations.transport import Headers, Record
from flowintegrations.transport.threads import handlers_running
from flowintegrations.validation import decode_headers
from flowintegrations.vocabulary import PROCESS_INSTANCE_ID, encodable, redact

if TYPE_CHECKING:
    from flowintegrations.runtime.deferred import Deferrals
    from flowintegrations.runtime.telemetry import LoopTelemetry, RequestTrace

__all__ = [
    "Pipeline",
    "Prepared",
    "Route",
    "Slice",
    "Source",
    "check_request_headers",
    "decode_request_headers",
]

log = logging.getLogger("flowintegrations.app")
handler_log = logging.getLogger("flowintegrations.handler")

SYNC_SLICE = 0.005
"""Seconds of handler calls one slice of a run may take before its replies are given back."""

_FirstTries = tuple[list[tuple[Any, bytes | None]], Failure | Deferred | None]
"""(payload, encoded) of each request answered at its first try, and what stopped them."""


class Pipeline:
    """Handles requests of the given routes: validation both ways, handler, retries.

    ``environment`` is what handlers see in ``ctx.environment``; ``deferrals`` signs the
    deferred replies of handlers that call ``ctx.defer()``; ``time_slice`` how long the
    first tries of one slice of a run may take. Call :meth:`start` before handling and
    :meth:`close` after; :meth:`stop` when the user is stopping.
    """

    def __init__(
        self,
        routes: Iterable[Route],
        *,
        retry: Retry = Retry(),  # noqa: B008 - Retry is a frozen value
        codec: JsonCodec | None = None,
        environment: str | None = None,
        deferrals: Deferrals | None = None,
        time_slice: float = SYNC_SLICE,
    ) -> None:
        self.routes: tuple[Route, ...] = tuple(routes)
        self.time_slice = time_slice
        """Seconds of first tries one slice of a run may take (the first call always fits)."""
        self.deferrals = deferrals
        self.retry = retry
        self.codec = codec or JsonCodec()
        self.environment = environment
        self.stopping = False
        """Whether :meth:`stop` was called (since the last :meth:`start`)."""
        self._converter = cattrs.Converter()
        self._executor: ThreadPoolExecutor | None = None
        self._users = 0

    def __repr__(self) -> str:
        names = ", ".join(r.scenario.identifier for r in self.routes)
        return f"Pipeline({names}, environment={self.environment!r})"

    # Routes and lifecycle -------------------------------------------------------------------

    def route(self, scenario: Scenario | str) -> Route:
        """The route of ``scenario`` (a Scenario, ``"scenario"`` or ``"integration/scenario"``).

        Raises :class:`~flowintegrations.errors.HandlerRegistrationError` (a LookupError)
        when no route handles it.
        """
        integrations = tuple(dict.fromkeys(r.integration for r in self.routes))
        integration, found = find_scenario(integrations, scenario, owner="this pipeline")
        for route in self.routes:
            if route.scenario == found and route.integration == integration:
                return route
        msg = f"scenario {found.identifier!r} has no handler"  # pragma: no cover - routes only
        raise HandlerRegistrationError(msg)

    def start(self) -> None:
        """Take the pipeline into use: the first user makes the worker threads' pool.

        Several users may share one pipeline (an App on Kafka and a Flow service in one
        process): each :meth:`start` is matched by one :meth:`close`. A start ends a
        :meth:`stop`.
        """
        if self._executor is None:
            self._executor = ThreadPoolExecutor(thread_name_prefix="flowintegrations-handler")
        self.stopping = False
        self._users += 1

    def stop(self) -> None:
        """Say that the user is stopping; the one stop of the pipeline. Idempotent.

        From now on a failed try with tries left gives
        :class:`~flowintegrations.runtime.LeftForRedelivery` instead of a wait to retry
        (dead-lettering a request that may well succeed would give up on it), and a run
        ends with it. Requests still succeed as before. :meth:`start` ends it.
        """
        self.stopping = True

    def close(self) -> None:
        """Put the pipeline out of use: the last user lets the worker threads go.

        A sync handler still running finishes on its own. Idempotent past the last user.
        """
        self._users = max(0, self._users - 1)
        if self._users == 0 and self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    # The two ways in ---------------------------------------------------------------------------

    def handle_run(
        self,
        route: Route,
        records: Sequence[Record],
        *,
        telemetry: LoopTelemetry | None = None,
    ) -> AsyncGenerator[Slice[Record], None]:
        """Handle ``records`` (consecutive requests of one partition, for ``route``) in order.

        Gives back :class:`Slice` values, in order, that together cover the run, each as
        soon as it is known: the loop sends one slice's replies while the next is handled.
        A rejected request (headers, JSON, request model) is a slice of its own; handlers
        are called in order, and a failing request is retried before the next is handled.
        After a :class:`~flowintegrations.runtime.LeftForRedelivery` (see :meth:`stop`) the
        run ends: the requests after it are not handled. ``telemetry`` is told of each
        request's receipt, checks and tries. Raises only for the pipeline's own bugs;
        close the iterator (``contextlib.aclosing``) when leaving it early.
        """
        received = None if telemetry is None else _receiver(telemetry, route)
        return self._run(route, records, self.prepare, received)

    async def handle(
        self,
        route: Route,
        payload: Any,
        headers: Mapping[str, str],
        *,
        origin: Origin,
        stopping: Callable[[], bool] | None = None,
        trace: RequestTrace | None = None,
    ) -> Outcome:
        """Handle one decoded request with text ``headers`` and return its outcome.

        A run of one (:meth:`handle_run`). Never raises for the request's or the
        handler's faults; an unexpected error in the pipeline itself is an outcome too (a
        dead letter at stage ``internal``). ``trace`` is told of the checks and of each try
        (the caller reports the outcome); ``stopping`` is the caller's own stop, checked
        besides :meth:`stop`.
        """

        def prepare(route: Route, source: Origin) -> Prepared | Failure:
            return self.prepare_payload(route, payload, headers, source)

        received = None if trace is None else (lambda _source: trace)
        try:
            slices = self._run(
                route, (origin,), prepare, received, headers=headers, stopping=stopping
            )
            async with aclosing(slices):
                async for piece in slices:
                    return piece.outcomes()[0]
            msg = "a run of one came to no outcome"  # pragma: no cover - _run's contract
            raise AssertionError(msg)  # pragma: no cover
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("internal error handling %s", route.scenario.identifier)
            failure = Failure(stage=Stage.INTERNAL, error=exc, attempts=0)
            return DeadLettered(failure=attrs.evolve(failure, secrets=route.secrets(headers)))

    # Checks --------------------------------------------------------------------------------------

    def prepare_payload(
        self, route: Route, payload: Any, headers: Mapping[str, str], origin: Source
    ) -> Prepared | Failure:
        """Check a decoded request: headers, request model, attrs class."""
        try:
            decode_headers(headers.items(), route.scenario.headers)
        except ValidationError as exc:
            return Failure(stage=Stage.HEADERS, error=exc, attempts=0)
        return self._checked(route, origin, dict(headers), payload)

    def prepare(self, route: Route, record: Record) -> Prepared | Failure:
        """Check a consumed request: headers, JSON, request model, attrs class."""
        # Decoded headers are built only for what reads them: a context, a retry, a DLT.
        headers: dict[str, str] | None = None
        try:
            if route.spec.takes_context:
                headers = decode_request_headers(record.headers, route)
            else:
                check_request_headers(record.headers, route)
        except ValidationError as exc:
            return Failure(stage=Stage.HEADERS, error=exc, attempts=0)
        try:
            payload = self.codec.decode(record.value)
        except CodecError as exc:
            return Failure(stage=Stage.DECODE, error=exc, attempts=0)
        return self._checked(route, record, headers, payload)

    def _checked(
        self, route: Route, source: Source, headers: dict[str, str] | None, payload: Any
    ) -> Prepared | Failure:
        try:
            route.request.validate(payload)
        except ValidationError as exc:
            return Failure(stage=Stage.REQUEST, error=exc, attempts=0)
        if route.codes is not None:
            payload = route.codes.request(payload)
        argument = payload
        request_type = route.spec.request_type
        if request_type is not None:
            try:
                argument = self._converter.structure(payload, request_type)
            except Exception as exc:  # noqa: BLE001 - any structuring failure is a bad request
                return Failure(stage=Stage.REQUEST, error=exc, attempts=0)
        if headers is None or not route.spec.takes_context:  # no context nobody reads
            return Prepared(source, headers, argument, None)
        return Prepared(source, headers, argument, self.context(route, source, headers, 1))

    def rejected(
        self, route: Route, failure: Failure, headers: Mapping[str, str] | None
    ) -> DeadLettered | ErrorReplied:
        """The outcome of a request that failed for good (``headers``: decoded, if valid)."""
        failure = attrs.evolve(failure, secrets=route.secrets(headers))
        if route.scenario.error_reply and failure.stage is not Stage.HEADERS:
            payload = {"error": failure.message}
            return ErrorReplied(payload=payload, value=self.codec.encode(payload), failure=failure)
        return DeadLettered(failure=failure)

    # The run ----------------------------------------------------------------------------------

    async def _run(
        self,
        route: Route,
        sources: Sequence[S],
        prepare: Callable[[Route, S], Prepared | Failure],
        received: Callable[[S], RequestTrace] | None,
        *,
        headers: Mapping[str, str] | None = None,
        stopping: Callable[[], bool] | None = None,
    ) -> AsyncGenerator[Slice[S], None]:
        """The slices of ``sources``: consecutive accepted requests form a run of first tries.

        ``headers`` are the requests' text headers when known (a decoded request), else
        they are read from each record when needed.
        """
        count = len(sources)
        index = 0
        while index < count:
            begin = index
            run: list[Prepared] = []
            traces: Traces = None if received is None else []
            rejected: Slice[S] | None = None
            while index < count:
                source = sources[index]
                index += 1
                trace = None if received is None else received(source)
                prepared = prepare(route, source)
                if trace is not None:
                    trace.validated(prepared)
                if isinstance(prepared, Failure):
                    known = headers
                    if known is None and prepared.stage is not Stage.HEADERS:
                        known = decode_headers(_raw_headers(source))
                    refused = self.rejected(route, prepared, known)
                    rejected_traces = None if received is None else [trace]
                    rejected = Slice([source], [], refused, known, rejected_traces)
                    break
                run.append(prepared)
                if traces is not None:
                    traces.append(trace)
            done = 0
            outcome: Outcome
            while done < len(run):
                replies, stop = await self._first_tries(route, run, done, traces)
                if replies:
                    first = begin + done
                    done += len(replies)
                    answered = traces[first - begin : done] if traces is not None else None
                    yield Slice(list(sources[first : begin + done]), replies, None, None, answered)
                if stop is None:
                    continue
                prepared = run[done]
                trace = None if traces is None else traces[done]
                done += 1
                if isinstance(stop, Failure):
                    outcome = await self._retried(route, prepared, stop, trace, stopping)
                else:
                    outcome = stop
                source = sources[begin + done - 1]
                one = None if traces is None else [trace]
                yield Slice([source], [], outcome, prepared.headers, one)
                if isinstance(outcome, LeftForRedelivery):
                    return
            if rejected is not None:
                yield rejected

    async def _first_tries(
        self, route: Route, run: list[Prepared], start: int, traces: Traces
    ) -> _FirstTries:
        """The first tries of ``run[start:]`` for one time slice, where the handler runs."""
        spec = route.spec
        if spec.is_async:
            return await self._first_tries_async(route, run, start, traces)
        if spec.inline:
            return self._first_tries_sync(route, run, start, traces)
        loop = asyncio.get_running_loop()
        with handlers_running():  # pollers on the loop wait (transport/threads.py)
            return await loop.run_in_executor(
                self._executor, self._first_tries_sync, route, run, start, traces
            )

    def _first_tries_sync(
        self, route: Route, run: list[Prepared], start: int, traces: Traces
    ) -> _FirstTries:
        """Call a sync handler for ``run[start:]`` in order, until a failure or the slice ends.

        On a worker thread, or on the loop for an inline handler: many cheap calls, one hop.
        """
        replies: list[tuple[Any, bytes | None]] = []
        deadline = time.monotonic() + self.time_slice
        fn: Any = route.spec.fn
        takes_context = route.spec.takes_context
        for index in range(start, len(run)):
            prepared = run[index]
            trace = None if traces is None else traces[index]
            stage = Stage.HANDLER
            try:
                call = fn if trace is None else trace.handler(fn, 1, is_async=False)
                result = call_handler(call, takes_context, prepared.argument, prepared.ctx)
                if result is None and prepared.ctx is not None:
                    deferred = prepared.ctx.deferred
                    if deferred is not None:
                        return replies, Deferred(deferred=deferred)
                stage = Stage.REPLY
                replies.append(self.reply(route, result))
            except Exception as exc:  # noqa: BLE001 - a handler may raise anything
                return replies, Failure(stage=stage, error=exc, attempts=1)
            if time.monotonic() >= deadline:
                break
        return replies, None

    async def _first_tries_async(
        self, route: Route, run: list[Prepared], start: int, traces: Traces
    ) -> _FirstTries:
        """Await an async handler for ``run[start:]`` in order, till a failure or the slice ends."""
        replies: list[tuple[Any, bytes | None]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.time_slice
        fn: Any = route.spec.fn
        takes_context = route.spec.takes_context
        for index in range(start, len(run)):
            prepared = run[index]
            trace = None if traces is None else traces[index]
            stage = Stage.HANDLER
            try:
                call = fn if trace is None else trace.handler(fn, 1, is_async=True)
                result = await call_handler(call, takes_context, prepared.argument, prepared.ctx)
                if result is None and prepared.ctx is not None:
                    deferred = prepared.ctx.deferred
                    if deferred is not None:
                        return replies, Deferred(deferred=deferred)
                stage = Stage.REPLY
                replies.append(self.reply(route, result))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a handler may raise anything
                return replies, Failure(stage=stage, error=exc, attempts=1)
            if loop.time() >= deadline:
                break
        return replies, None

    async def _retried(
        self,
        route: Route,
        prepared: Prepared,
        failure: Failure,
        trace: RequestTrace | None,
        stopping: Callable[[], bool] | None,
    ) -> Outcome:
        """Call the handler again after its failed first try, until it answers or tries run out."""
        headers = prepared.headers
        if headers is None:
            # Only records whose headers passed the checks get here: they decode.
            headers = prepared.headers = decode_headers(_raw_headers(prepared.source))
        attempt = 1
        while True:
            if not self.retry.should_retry(failure.error, attempt):
                return self.rejected(route, failure, headers)
            secrets = route.secrets(headers) + _source_secrets(prepared.source)
            if self.stopping or (stopping is not None and stopping()):
                log.warning(
                    "%s failed (try %d of %d) while stopping; left for redelivery: %s",
                    route.scenario.identifier,
                    attempt,
                    self.retry.attempts,
                    encodable(redact(str(failure.error), secrets)),
                    extra=log_extra(route, prepared.source, headers, "redeliver", trace),
                )
                return LeftForRedelivery(failure=attrs.evolve(failure, secrets=secrets))
            delay = self.retry.delay(attempt)
            log.warning(
                "%s failed (try %d of %d), retrying in %.2fs: %s",
                route.scenario.identifier,
                attempt,
                self.retry.attempts,
                delay,
                encodable(redact(str(failure.error), secrets)),
                extra=log_extra(route, prepared.source, headers, "retry", trace),
            )
            await asyncio.sleep(delay)
            attempt += 1
            ctx = self.context(route, prepared.source, headers, attempt)
            stage = Stage.HANDLER
            try:
                result = await self._call(route, prepared.argument, ctx, trace)
                if result is None and ctx.deferred is not None:
                    return Deferred(deferred=ctx.deferred, attempts=attempt)
                stage = Stage.REPLY
                payload, value = self.reply(route, result)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a handler may raise anything
                failure = Failure(stage=stage, error=exc, attempts=attempt)
            else:
                return Replied(payload=payload, value=value, attempts=attempt)

    async def _call(
        self, route: Route, argument: Any, ctx: Context, trace: RequestTrace | None
    ) -> Any:
        """One later try of the handler, where its kind runs."""
        spec = route.spec
        fn: Any = spec.fn
        if trace is not None:
            fn = trace.handler(fn, ctx.attempt, is_async=spec.is_async)
        if spec.is_async:
            return await call_handler(fn, spec.takes_context, argument, ctx)
        if spec.inline:
            return call_handler(fn, spec.takes_context, argument, ctx)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, call_handler, fn, spec.takes_context, argument, ctx
        )

    # Replies and contexts ---------------------------------------------------------------------

    def reply(self, route: Route, result: Any) -> tuple[Any, bytes | None]:
        """(payload, encoded) of the handler's ``result``, validated against the input model."""
        if result is None:
            return None, None
        kind = type(result)
        if kind is not dict and attrs.has(kind):  # a dict, the usual reply, is never attrs
            result = self._converter.unstructure(result)
        if route.codes is None:
            route.reply.validate(result)
        else:
            result = route.codes.reply(result)
        return result, self.codec.encode(result)

    def context(
        self, route: Route, source: Source, headers: Mapping[str, str], attempt: int
    ) -> Context:
        """The :class:`Context` a handler sees for a request from ``source``."""
        pid = headers.get(PROCESS_INSTANCE_ID)
        return Context(
            headers=headers,
            process_instance_id=pid,
            integration=route.integration,
            scenario=route.scenario,
            environment=self.environment,
            topic=source.topic,
            partition=source.partition or 0,
            offset=source.offset or 0,
            key=source.key,
            attempt=attempt,
            logger=MessageLogger(
                handler_log, {PROCESS_INSTANCE_ID: pid, "scenario": route.scenario.identifier}
            ),
            source=source,
            deferrals=self.deferrals,
            configuration=_configuration(source),
        )


def _configuration(source: Source) -> Mapping[str, Any]:
    """The configuration a request from ``source`` comes with (an Origin's, or none)."""
    if type(source) is Origin and source.configuration is not None:
        return source.configuration
    return NO_CONFIGURATION


def _source_secrets(source: Source) -> tuple[str, ...]:
    """Values an Origin says are secret (e.g. a Flow service's passwords)."""
    return source.secrets if type(source) is Origin else ()


def _receiver(telemetry: LoopTelemetry, route: Route) -> Callable[[Record], RequestTrace]:
    def received(record: Record) -> RequestTrace:
        return telemetry.received(route, record)

    return received


def _raw_headers(source: Source) -> Headers:
    """The raw headers of a consumed record (other sources come with decoded headers)."""
    return source.headers if isinstance(source, Record) else ()


def log_extra(
    route: Route,
    source: Source,
    headers: Mapping[str, str],
    event: str,
    trace: RequestTrace | None = None,
) -> dict[str, Any]:
    """The ``extra`` of a log record about a request: event, process instance, where.

    With a ``trace``, its fields too (``trace_id`` and ``span_id``).
    """
    pid = headers.get(PROCESS_INSTANCE_ID)
    if pid is None and isinstance(source, Record):
        # The headers were not decoded (some were invalid): read the raw one.
        raw = source.header(PROCESS_INSTANCE_ID)
        pid = None if raw is None else raw.decode("utf-8", "replace")
    extra = {
        "event": event,
        PROCESS_INSTANCE_ID: pid,
        "scenario": route.scenario.identifier,
        "topic": source.topic,
        "partition": source.partition,
        "offset": source.offset,
    }
    if trace is not None:
        extra.update(trace.log_fields())
    return extra
