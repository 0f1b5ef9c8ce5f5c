"""The interface through which the runtime reports what it does: traces and metrics.

The pipeline and the delivery loop know nothing of OpenTelemetry: they call the small
protocols below, and only when an :class:`Instrumentation` was given (``None`` is "off",
and costs one ``is None`` test per batch on the hot path, never a call).
:class:`flowintegrations.observability.Telemetry` is the OpenTelemetry implementation.

One request's way through the hooks, on Kafka::

    LoopTelemetry.received(route, record)          -> RequestTrace (the request's span)
    RequestTrace.validated(prepared or failure)    (headers, JSON, request model)
    RequestTrace.handler(fn, attempt, ...)         (each try wraps the handler call)
    RequestTrace.outgoing(reply or dead letter)    (a producer span; trace headers injected)
    RequestTrace.finished(outcome, completion)     (ends when the sends are acknowledged)

A Flow action gets its RequestTrace from :meth:`Instrumentation.served` instead, and
:meth:`~flowintegrations.runtime.Pipeline.handle` calls the same hooks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from flowintegrations.runtime.outcome import Failure, Origin, Outcome, Replied

if TYPE_CHECKING:
    from flowintegrations.model import Integration, Scenario
    from flowintegrations.runtime.route import Prepared, Route
    from flowintegrations.transport import Record, TopicPartition

__all__ = [
    "ANSWERED",
    "Instrumentation",
    "LoopState",
    "LoopTelemetry",
    "RequestTrace",
]

ANSWERED = Replied(payload=None, value=None, attempts=1)
"""The outcome reported for requests answered at their first try, in a batch."""


class RequestTrace(Protocol):
    """One request, from its receipt to the acknowledgement of what it sent."""

    def validated(self, result: Prepared | Failure) -> None:
        """Report the checks (headers, JSON, request model) that just ended with ``result``."""

    def handler(self, fn: Callable[..., Any], attempt: int, *, is_async: bool) -> Any:
        """``fn`` wrapped so that calling it reports try ``attempt`` of the handler.

        The wrapper takes and returns what ``fn`` does (an awaitable when ``is_async``)
        and raises what it raises.
        """

    def outgoing(self, record: Record, failure: Failure | None = None) -> Record:
        """``record`` (a reply, or the dead letter of ``failure``) as it is to be sent.

        Trace context headers may be replaced or added; nothing else changes.
        """

    def finished(self, outcome: Outcome, completion: asyncio.Future[Any] | None) -> None:
        """Report the request's ``outcome``; it ends when ``completion`` (its sends) does."""

    def log_fields(self) -> Mapping[str, str]:
        """Fields to add to the ``extra`` of a log record about this request."""


class LoopState(Protocol):
    """What a delivery loop shows of itself to gauges."""

    @property
    def in_flight(self) -> int:
        """Records fetched and not yet done."""

    @property
    def paused_partitions(self) -> frozenset[TopicPartition]:
        """The partitions paused by backpressure."""


class LoopTelemetry(Protocol):
    """The instrumentation of one delivery loop (one consumer-group member)."""

    def received(self, route: Route, record: Record) -> RequestTrace:
        """Report that ``record`` (a request of ``route``) begins to be handled."""

    def committed(self, seconds: float) -> None:
        """Report a commit of offsets that took ``seconds``."""

    def close(self) -> None:
        """The loop stopped: forget it. Idempotent."""


class Instrumentation(Protocol):
    """What the App, the Flow service and the EngineClient report traces and metrics to."""

    def delivery(self, loop: LoopState, group_id: str) -> LoopTelemetry:
        """The instrumentation of ``loop``, a member of consumer group ``group_id``."""

    def served(
        self,
        route: Route,
        origin: Origin,
        headers: Mapping[str, str],
        carrier: Mapping[str, str] | None = None,
    ) -> RequestTrace:
        """Report a request of ``route`` that came over HTTP (a Flow action).

        ``headers`` are the request's headers as the pipeline sees them; ``carrier`` the
        HTTP headers, read for trace context (``headers`` when not given).
        """

    def engine_request(
        self, integration: Integration, scenario: Scenario, record: Record, *, operation: str
    ) -> AbstractContextManager[Record]:
        """Report the engine's side of a request while the ``with`` block runs.

        ``operation`` is ``"request"`` (a reply is awaited) or ``"send"``. The context
        manager gives ``record`` as it is to be sent (trace context headers added).
        """
