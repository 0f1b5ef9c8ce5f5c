"""The handling pipeline: one request in, one :data:`~flowintegrations.runtime.Outcome` out.

Independent of any transport. A request arrives as a consumed :class:`Record` (bytes and
raw headers) or as a decoded payload with text headers (an HTTP call); either way it is
checked (headers, JSON, the scenario's output model, the handler's attrs class), handed to
its handler (sync or async), retried by the :class:`~flowintegrations.Retry` policy, and
its reply checked against the input model and encoded. The Kafka delivery loop, the Flow
service and the test client all go through here, so a request is handled the same way
whichever way it came.

The delivery loop calls the pieces (:meth:`Pipeline.prepare`, :meth:`Pipeline.call_run`,
:meth:`Pipeline.finish`) so that it can call many cheap sync handlers in one hop to a
worker thread; everyone else calls :meth:`Pipeline.handle`.

Why this module is over 500 lines: the pieces the delivery loop calls and the whole that
everyone else calls are one sequence of checks; split, the two ways in could drift apart.
What could stand alone already does (outcomes, handler specs, telemetry hooks).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import cattrs

from flowintegrations.codec import JsonCodec
from flowintegrations.context import NO_CONFIGURATION, Context, MessageLogger
from flowintegrations.deferred import Deferrals
from flowintegrations.errors import CodecError, HandlerRegistrationError, ValidationError
from flowintegrations.model import Integration, Scenario, find_scenario
from flowintegrations.retry import Retry
from flowintegrations.runtime.handlers import HandlerSpec
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
from flowintegrations.runtime.telemetry import traced_calls
from flowintegrations.transport import Headers, Record
from flowintegrations.transport.threads import handlers_running
from flowintegrations.validation import (
    CodeTranslator,
    Validator,
    decode_headers,
    scenario_validators,
    translator_for,
)
from flowintegrations.vocabulary import PROCESS_INSTANCE_ID, encodable, redact

if TYPE_CHECKING:
    from flowintegrations.runtime.telemetry import RequestTrace

__all__ = [
    "Pipeline",
    "Prepared",
    "Route",
    "Source",
    "check_request_headers",
    "decode_request_headers",
]

log = logging.getLogger("flowintegrations.app")
handler_log = logging.getLogger("flowintegrations.handler")

SYNC_SLICE = 0.005
"""Seconds of sync handler calls one hop to a worker thread may take before replying."""


class Source(Protocol):
    """Where a request came from: a consumed :class:`Record`, or an :class:`Origin`."""

    @property
    def topic(self) -> str:
        """The topic (or, off Kafka, the name of the source)."""

    @property
    def partition(self) -> int | None:
        """The partition, when there is one."""

    @property
    def offset(self) -> int | None:
        """The offset, when there is one."""

    @property
    def key(self) -> bytes | None:
        """The key, when there is one."""


@attrs.define(eq=False, slots=True)
class Route:
    """A scenario with a handler, and everything computed once to handle its requests."""

    integration: Integration
    scenario: Scenario
    spec: HandlerSpec
    request: Validator
    reply: Validator
    propagate_never: frozenset[str]
    secret: frozenset[str]
    mandatory: tuple[str, ...]
    codes: CodeTranslator | None = None
    """Translates enumeration values to the system's codes and back; ``None``: no codes."""

    @classmethod
    def build(cls, integration: Integration, scenario: Scenario, spec: HandlerSpec) -> Route:
        """The route of ``scenario`` (of ``integration``) handled by ``spec``."""
        request, reply = scenario_validators(integration, scenario)
        return cls(
            integration=integration,
            scenario=scenario,
            spec=spec,
            request=request,
            reply=reply,
            propagate_never=frozenset(h.name for h in scenario.headers if not h.propagate),
            secret=scenario.secret_headers,
            mandatory=tuple(h.name for h in scenario.headers if h.mandatory),
            codes=translator_for(integration, scenario),
        )

    def secrets(self, headers: Mapping[str, str] | None) -> tuple[str, ...]:
        """The values of the secret headers among ``headers``."""
        if not headers or not self.secret:
            return ()
        return tuple(headers[name] for name in self.secret if name in headers)


class Prepared:
    """A request that passed its checks, ready for its handler."""

    __slots__ = ("argument", "ctx", "headers", "source", "trace")

    def __init__(
        self,
        source: Source,
        headers: Mapping[str, str] | None,
        argument: Any,
        ctx: Context | None,
    ) -> None:
        self.source = source
        self.headers = headers  # None: not decoded yet (nothing needed them)
        self.argument = argument
        self.ctx = ctx
        self.trace: RequestTrace | None = None  # set by the caller when telemetry is on


def decode_request_headers(raw: Headers, route: Route) -> dict[str, str]:
    """Header values as text; what ``decode_headers`` does on the happy path, faster.

    Raises :class:`ValidationError` naming every problem, like ``decode_headers``.
    """
    try:
        decoded = {name: value.decode() for name, value in raw}
    except (UnicodeDecodeError, AttributeError):
        return decode_headers(raw, route.scenario.headers)  # raises, naming every problem
    for name in route.mandatory:
        if name not in decoded:
            return decode_headers(raw, route.scenario.headers)
    return decoded


def check_request_headers(raw: Headers, route: Route) -> None:
    """Raise what ``decode_headers`` raises, without building the decoded mapping.

    A NUL byte cannot be part of a multi-byte UTF-8 sequence, so the values joined by NUL
    decode if and only if every value does: one decode instead of one per header.
    """
    names: tuple[str, ...] = ()
    if raw:
        try:
            names, values = zip(*raw, strict=True)
            b"\x00".join(values).decode()
        except (UnicodeDecodeError, TypeError, ValueError):
            decode_headers(raw, route.scenario.headers)  # raises, naming every problem
            return
    for name in route.mandatory:
        if name not in names:
            decode_headers(raw, route.scenario.headers)


class Pipeline:
    """Handles requests of the given routes: validation both ways, handler, retries.

    ``environment`` is what handlers see in ``ctx.environment``. Sync handlers run on
    worker threads; call :meth:`start` before handling and :meth:`close` after. While
    :attr:`stopping` is set (or the caller's own ``stopping()`` says so), a failed try with
    tries left gives :class:`~flowintegrations.runtime.LeftForRedelivery` instead of
    waiting to retry. ``deferrals`` signs the deferred replies of handlers that call
    ``ctx.defer()``.
    """

    def __init__(
        self,
        routes: Iterable[Route],
        *,
        retry: Retry = Retry(),  # noqa: B008 - Retry is a frozen value
        codec: JsonCodec | None = None,
        environment: str | None = None,
        deferrals: Deferrals | None = None,
    ) -> None:
        self.routes: tuple[Route, ...] = tuple(routes)
        self.deferrals = deferrals
        self.retry = retry
        self.codec = codec or JsonCodec()
        self.environment = environment
        self.stopping = False
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
        process): each :meth:`start` is matched by one :meth:`close`.
        """
        if self._executor is None:
            self._executor = ThreadPoolExecutor(thread_name_prefix="flowintegrations-handler")
            self.stopping = False
        self._users += 1

    def close(self) -> None:
        """Put the pipeline out of use: the last user lets the worker threads go.

        A sync handler still running finishes on its own. Idempotent past the last user.
        """
        self._users = max(0, self._users - 1)
        if self._users == 0 and self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    # One request, whole ----------------------------------------------------------------------

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

        Never raises for the request's or the handler's faults; an unexpected error in the
        pipeline itself is an outcome too (a dead letter at stage ``internal``). ``trace``
        is told of the checks and of each try (the caller reports the outcome).
        """
        try:
            prepared = self.prepare_payload(route, payload, headers, origin)
            if trace is not None:
                trace.validated(prepared)
            if isinstance(prepared, Failure):
                return self.rejected(route, prepared, headers)
            prepared.trace = trace
            return await self.finish(route, prepared, None, stopping=stopping)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("internal error handling %s", route.scenario.identifier)
            failure = Failure(stage=Stage.INTERNAL, error=exc, attempts=0)
            return DeadLettered(failure=attrs.evolve(failure, secrets=route.secrets(headers)))

    def prepare_payload(
        self, route: Route, payload: Any, headers: Mapping[str, str], origin: Origin
    ) -> Prepared | Failure:
        """Check a decoded request: headers, request model, attrs class."""
        try:
            decode_headers(headers.items(), route.scenario.headers)
        except ValidationError as exc:
            return Failure(stage=Stage.HEADERS, error=exc, attempts=0)
        return self._checked(route, origin, dict(headers), payload)

    # The pieces, for the delivery loop -------------------------------------------------------

    def prepare(self, route: Route, record: Record) -> Prepared | Failure:
        """Check a consumed request: headers, JSON, request model, attrs class."""
        # The decoded headers are only built when something reads them: a context, a
        # retry, a dead letter.
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
        ctx = None if headers is None else self.context(route, source, headers, 1)
        return Prepared(source, headers, argument, ctx)

    def rejected(
        self, route: Route, failure: Failure, headers: Mapping[str, str] | None
    ) -> DeadLettered | ErrorReplied:
        """The outcome of a request that failed for good (``headers``: decoded, if valid)."""
        failure = attrs.evolve(failure, secrets=route.secrets(headers))
        if route.scenario.error_reply and failure.stage is not Stage.HEADERS:
            payload = {"error": failure.message}
            return ErrorReplied(payload=payload, value=self.codec.encode(payload), failure=failure)
        return DeadLettered(failure=failure)

    def call_run(
        self, route: Route, run: list[Prepared], start: int
    ) -> tuple[list[bytes | None], tuple[Stage, Exception] | None]:
        """On a worker thread: the encoded replies of ``run[start:]`` (first tries).

        Stops at the first failure, returned with its stage, so that handlers are called in
        order and a failing request is retried before the next one is handled; stops too
        after a time slice, so a slow handler does not hold a long batch.
        """
        values: list[bytes | None] = []
        deadline = time.monotonic() + SYNC_SLICE
        fn: Any = route.spec.fn
        if run[start].trace is not None:
            fn = traced_calls(fn, run, start)
        takes_context = route.spec.takes_context
        for index in range(start, len(run)):
            prepared = run[index]
            stage = Stage.HANDLER
            try:
                if takes_context:
                    result = fn(prepared.argument, prepared.ctx)
                else:
                    result = fn(prepared.argument)
                stage = Stage.REPLY
                values.append(self.reply_value(route, result))
            except Exception as exc:  # noqa: BLE001 - a handler may raise anything
                return values, (stage, exc)
            if time.monotonic() >= deadline:
                break
        return values, None

    async def run_in_worker(
        self, route: Route, run: list[Prepared], start: int
    ) -> tuple[list[bytes | None], tuple[Stage, Exception] | None]:
        """:meth:`call_run` on a worker thread."""
        loop = asyncio.get_running_loop()
        with handlers_running():  # pollers on the loop wait (transport/threads.py)
            return await loop.run_in_executor(self._executor, self.call_run, route, run, start)

    async def first_try(
        self, route: Route, prepared: Prepared
    ) -> tuple[bytes | None, tuple[Stage, Exception] | None]:
        """The first try of an async handler: (encoded reply, None) or (None, (stage, error))."""
        stage = Stage.HANDLER
        try:
            fn: Any = route.spec.fn
            if prepared.trace is not None:
                fn = prepared.trace.handler(fn, 1, is_async=True)
            if route.spec.takes_context:
                result = await fn(prepared.argument, prepared.ctx)
            else:
                result = await fn(prepared.argument)
            stage = Stage.REPLY
            return self.reply_value(route, result), None
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a handler may raise anything
            return None, (stage, exc)

    async def finish(
        self,
        route: Route,
        prepared: Prepared,
        failed: tuple[Stage, Exception] | None,
        *,
        stopping: Callable[[], bool] | None = None,
    ) -> Outcome:
        """Call the handler until it answers or the tries run out (after ``failed``, if given).

        ``failed`` is the (stage, error) of a first try already made; ``stopping`` tells
        whether the caller is stopping (then a failure with tries left is left for
        redelivery).
        """
        headers = prepared.headers
        if headers is None:
            # Only records whose headers passed the checks get here: they decode.
            headers = prepared.headers = decode_headers(_raw_headers(prepared.source))
        attempt = 1
        while True:
            if failed is not None:
                stage, error = failed
                failed = None
            else:
                stage, error = Stage.HANDLER, None
                ctx = self.context(route, prepared.source, headers, attempt)
                try:
                    result = await self._call(route, prepared.argument, ctx, prepared.trace)
                    stage = Stage.REPLY
                    if result is None and ctx.deferred is not None:
                        return Deferred(deferred=ctx.deferred, attempts=attempt)
                    payload, value = self.reply(route, result)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a handler may raise anything
                    error = exc
                else:
                    return Replied(payload=payload, value=value, attempts=attempt)
            assert error is not None
            failure = Failure(stage=stage, error=error, attempts=attempt)
            if not self.retry.should_retry(error, attempt):
                return self.rejected(route, failure, headers)
            secrets = route.secrets(headers) + _source_secrets(prepared.source)
            if self.stopping or (stopping is not None and stopping()):
                # Tries are left, but we are stopping: dead-lettering now would give up on a
                # request that may well succeed, so it is left unanswered instead and
                # whoever reads it next handles it again.
                log.warning(
                    "%s failed (try %d of %d) while stopping; left for redelivery: %s",
                    route.scenario.identifier,
                    attempt,
                    self.retry.attempts,
                    encodable(redact(str(error), secrets)),
                    extra=log_extra(route, prepared.source, headers, "redeliver", prepared.trace),
                )
                return LeftForRedelivery(failure=attrs.evolve(failure, secrets=secrets))
            delay = self.retry.delay(attempt)
            log.warning(
                "%s failed (try %d of %d), retrying in %.2fs: %s",
                route.scenario.identifier,
                attempt,
                self.retry.attempts,
                delay,
                encodable(redact(str(error), secrets)),
                extra=log_extra(route, prepared.source, headers, "retry", prepared.trace),
            )
            await asyncio.sleep(delay)
            attempt += 1

    async def _call(
        self, route: Route, argument: Any, ctx: Context, trace: RequestTrace | None
    ) -> Any:
        fn: Any = route.spec.fn
        if trace is not None:
            fn = trace.handler(fn, ctx.attempt, is_async=route.spec.is_async)
        if route.spec.is_async:
            return await (fn(argument, ctx) if route.spec.takes_context else fn(argument))
        loop = asyncio.get_running_loop()
        if route.spec.takes_context:
            return await loop.run_in_executor(self._executor, fn, argument, ctx)
        return await loop.run_in_executor(self._executor, fn, argument)

    def reply_value(self, route: Route, result: Any) -> bytes | None:
        """The handler's ``result`` validated against the input model and encoded."""
        return self.reply(route, result)[1]

    def reply(self, route: Route, result: Any) -> tuple[Any, bytes | None]:
        """(payload, encoded) of the handler's ``result``, validated against the input model."""
        if result is None:
            return None, None
        if attrs.has(type(result)):
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


def _raw_headers(source: Source) -> Headers:
    headers: Headers = getattr(source, "headers", ())
    return headers


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
