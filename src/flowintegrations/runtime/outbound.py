"""What the delivery loop sends for each outcome: replies, error replies, dead letters.

The pipeline says what a request came to (a :class:`~flowintegrations.runtime.pipeline.Slice`
of outcomes); :class:`Outbound` turns that into records and produces them:

- a reply goes to the route's in topic (:meth:`TopicRoute.reply_to`: the request's headers
  copied, keyed by the process), the replies of one slice in one batch;
- a failure goes to the dead-letter topic, with the headers that say why
  (:mod:`flowintegrations.runtime.deadletter`); a dead letter the broker refuses for its size is
  sent reduced, never given up on; an error reply goes to the in topic as well;
- a deferred answer sends nothing now; a request left for redelivery raises
  :class:`Redeliver`, so that it stays queued and is never committed.

Each method returns the future of the delivery of what it sent (``None``: nothing sent),
which the loop waits for before the offset may be committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from flowintegrations.errors import DeliveryError
from flowintegrations.runtime.deadletter import (
    dead_letter_record,
    error_class_name,
    reduced_dead_letter,
)
from flowintegrations.runtime.outcome import (
    Deferred,
    ErrorReplied,
    Failure,
    LeftForRedelivery,
    Outcome,
    Replied,
)
from flowintegrations.runtime.pipeline import Route, log_extra
from flowintegrations.runtime.replies import reply_record
from flowintegrations.runtime.slices import Slice
from flowintegrations.runtime.telemetry import ANSWERED
from flowintegrations.transport import Record, TransactionalProducer, Transport
from flowintegrations.vocabulary import encodable, redact

if TYPE_CHECKING:
    from flowintegrations.runtime.telemetry import RequestTrace

__all__ = ["Outbound", "Producer", "Redeliver", "TopicRoute"]

log = logging.getLogger("flowintegrations.app")

Producer = Transport | TransactionalProducer
"""What outcomes are produced with: the transport, or the open transaction's producer."""


@attrs.frozen
class TopicRoute:
    """The route of an out topic, and the in topic its replies go to (None: no replies)."""

    route: Route
    in_topic: str | None

    def reply_to(self, record: Record, value: bytes) -> Record:
        """The reply ``value`` to the request ``record``, for the in topic.

        Raises :class:`LookupError` when the route has no in topic (nothing is replied).
        """
        if self.in_topic is None:
            msg = f"scenario {self.route.scenario.identifier!r} has no in topic to reply on"
            raise LookupError(msg)
        return reply_record(self.in_topic, record, value, self.route.propagate_never)


class Redeliver(Exception):  # noqa: N818 - a signal, not an error
    """A stop cut a request's retries short: it stays queued, never committed."""


class Outbound:
    """Produces what outcomes say; dead letters go to ``<topic><dead_letter_suffix>``."""

    def __init__(self, dead_letter_suffix: str) -> None:
        self.dead_letter_suffix = dead_letter_suffix

    async def replies(
        self, topic_route: TopicRoute, piece: Slice[Record], producer: Producer
    ) -> asyncio.Future[Any] | None:
        """Produce the replies of a slice answered at first tries; one future of them all."""
        traces = piece.traces
        replies = []
        if topic_route.in_topic is not None:
            reply_to = topic_route.reply_to
            for record, (_, value) in zip(piece.sources, piece.replies, strict=True):
                if value is not None:
                    replies.append(reply_to(record, value))
        if traces is None:
            return await producer.produce_batch(replies) if replies else None
        return await self._traced_replies(topic_route, piece, traces, producer)

    @staticmethod
    async def _traced_replies(
        topic_route: TopicRoute,
        piece: Slice[Record],
        traces: list[RequestTrace | None],
        producer: Producer,
    ) -> asyncio.Future[Any] | None:
        """:meth:`replies` when telemetry is on: each reply traced on its own."""
        replies = []
        for record, (_, value), trace in zip(piece.sources, piece.replies, traces, strict=True):
            if value is not None and topic_route.in_topic is not None and trace is not None:
                replies.append(trace.outgoing(topic_route.reply_to(record, value)))
        completion = await producer.produce_batch(replies) if replies else None
        for trace in traces:
            if trace is not None:
                trace.finished(ANSWERED, completion)
        return completion

    async def outcome(
        self,
        topic_route: TopicRoute,
        piece: Slice[Record],
        producer: Producer,
    ) -> asyncio.Future[Any] | None:
        """Produce what the outcome of a one-request slice says; the future of its delivery."""
        assert piece.outcome is not None
        trace = None if piece.traces is None else piece.traces[0]
        record = piece.sources[0]
        return await self.send(
            topic_route, record, piece.outcome, piece.headers, producer=producer, trace=trace
        )

    async def send(
        self,
        topic_route: TopicRoute,
        record: Record,
        outcome: Outcome,
        headers: Mapping[str, str] | None,
        *,
        producer: Producer,
        trace: RequestTrace | None = None,
    ) -> asyncio.Future[Any] | None:
        """Produce what ``outcome`` says for ``record``; the future of its delivery.

        ``trace``, when given, sees each record before it is sent and the outcome. Raises
        :class:`Redeliver` for :class:`~flowintegrations.runtime.LeftForRedelivery`.
        """
        in_topic = topic_route.in_topic
        if isinstance(outcome, Replied):
            completion = None
            if outcome.value is not None and in_topic is not None:
                reply = topic_route.reply_to(record, outcome.value)
                if trace is not None:
                    reply = trace.outgoing(reply)
                completion = await producer.produce(reply)
            if trace is not None:
                trace.finished(outcome, completion)
            return completion
        if isinstance(outcome, Deferred):
            if trace is not None:
                trace.finished(outcome, None)
            return None  # answered later, by App.reply_later: the request is done
        if isinstance(outcome, LeftForRedelivery):
            if trace is not None:
                trace.finished(outcome, None)
            raise Redeliver
        failure = outcome.failure
        self._log_dead_letter(topic_route, record, failure, headers, trace)
        dead = dead_letter_record(
            record,
            suffix=self.dead_letter_suffix,
            stage=failure.stage.value,
            error=failure.error,
            attempts=failure.attempts,
            secrets=failure.secrets,
        )
        if trace is not None:
            dead = trace.outgoing(dead, failure)
        sent = await self._produce_dead_letter(dead, record, producer)
        if isinstance(outcome, ErrorReplied) and in_topic is not None:
            error_reply = topic_route.reply_to(record, outcome.value)
            if trace is not None:
                error_reply = trace.outgoing(error_reply)
            replied = await producer.produce(error_reply)
            sent = asyncio.gather(sent, replied)
        if trace is not None:
            trace.finished(outcome, sent)
        return sent

    @staticmethod
    def _log_dead_letter(
        topic_route: TopicRoute,
        record: Record,
        failure: Failure,
        headers: Mapping[str, str] | None,
        trace: RequestTrace | None = None,
    ) -> None:
        error = failure.error
        log.error(
            "%s: %s failed at %s after %d tries, dead-lettered: %s",
            topic_route.route.scenario.identifier,
            where(record),
            failure.stage.value,
            failure.attempts,
            encodable(redact(f"{error_class_name(error)}: {error}", failure.secrets)),
            extra=log_extra(topic_route.route, record, headers or {}, "dead_letter", trace),
        )

    async def _produce_dead_letter(
        self, dead: Record, original: Record, producer: Producer
    ) -> asyncio.Future[Any]:
        """Produce ``dead``; if it is refused (too large), its reduced form instead.

        The future is of whichever was delivered: a dead letter is never given up on
        for its size.
        """
        reduced = reduced_dead_letter(dead, original)
        try:
            sent = await producer.produce(dead)
        except DeliveryError as exc:  # refused before it left (larger than the producer takes)
            _log_reduced(dead, exc)
            return await producer.produce(reduced)
        return asyncio.ensure_future(_delivered_or_reduced(sent, dead, reduced, producer))


async def _delivered_or_reduced(
    sent: asyncio.Future[Any], dead: Record, reduced: Record, producer: Producer
) -> Any:
    try:
        return await sent
    except DeliveryError as exc:  # the broker refused it
        _log_reduced(dead, exc)
        return await (await producer.produce(reduced))


def _log_reduced(dead: Record, error: DeliveryError) -> None:
    log.warning(
        "dead letter of %d bytes refused (%s); sending it reduced",
        len(dead.value),
        error,
        extra={"event": "dead_letter_reduced", "topic": dead.topic},
    )


def where(record: Record) -> str:
    """``topic[partition]@offset`` of ``record``, for messages."""
    return f"{record.topic}[{record.partition}]@{record.offset}"
