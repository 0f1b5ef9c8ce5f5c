"""What handling one request comes to: a :class:`Stage` enum and the outcome values.

The handling pipeline (:mod:`flowintegrations.runtime.pipeline`) never raises for a bad
request or a failing handler: it returns one of :class:`Replied`, :class:`ErrorReplied`,
:class:`DeadLettered`, :class:`LeftForRedelivery` or :class:`Deferred`, and whoever fed it
the request (the Kafka delivery loop, the Flow service, a test) turns that into records or
an HTTP answer.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from flowintegrations.errors import ValidationError
from flowintegrations.runtime.deferred import DeferredReply
from flowintegrations.validation import Violation
from flowintegrations.vocabulary import encodable, redact

__all__ = [
    "DeadLettered",
    "Deferred",
    "ErrorReplied",
    "Failure",
    "LeftForRedelivery",
    "Origin",
    "Outcome",
    "Replied",
    "Stage",
]


class Stage(str, enum.Enum):
    """Where handling a request failed (the ``flowintegrations.error.stage`` header)."""

    HEADERS = "headers"
    """A mandatory header is missing or a header value is not UTF-8."""
    DECODE = "decode"
    """The value is not JSON (or too large, or nested too deeply)."""
    REQUEST = "request"
    """The request violates the scenario's output model (or its handler's attrs class)."""
    HANDLER = "handler"
    """The handler raised."""
    REPLY = "reply"
    """The handler's reply violates the input model, or is not JSON."""
    INTERNAL = "internal"
    """The SDK itself failed on this request (a bug): it is dead-lettered, never stuck."""

    def __str__(self) -> str:
        return self.value


@attrs.frozen(kw_only=True)
class Origin:
    """Where a request came from, as its :class:`~flowintegrations.Context` tells it.

    A consumed Kafka record gives its topic, partition, offset and key; other sources (an
    HTTP call) name themselves in ``topic`` and leave the rest at their defaults.
    ``configuration`` is what the handler sees as ``ctx.configuration`` (a Flow service's
    settings; ``None``: none); ``secrets`` are values never to be logged (its passwords).
    """

    topic: str
    partition: int = 0
    offset: int = 0
    key: bytes | None = None
    configuration: Mapping[str, Any] | None = attrs.field(default=None, kw_only=True, repr=False)
    secrets: tuple[str, ...] = attrs.field(default=(), kw_only=True, repr=False)


@attrs.frozen(kw_only=True)
class Failure:
    """Why a request was not answered normally: the stage, the error, the tries made.

    ``secrets`` (values of the request's secret headers) are removed from :attr:`message`;
    they never appear in the repr.
    """

    stage: Stage
    error: BaseException
    attempts: int
    secrets: tuple[str, ...] = attrs.field(default=(), repr=False, eq=False)

    @property
    def violations(self) -> tuple[Violation, ...]:
        """Every violation, for a validation failure (empty otherwise)."""
        error = self.error
        return error.violations if isinstance(error, ValidationError) else ()

    @property
    def message(self) -> str:
        """The error's message, secrets redacted, safe to encode as UTF-8."""
        return encodable(redact(str(self.error), self.secrets))


@attrs.frozen(kw_only=True)
class Replied:
    """The handler answered: ``payload`` is the validated reply (``None``: no reply).

    ``value`` is the reply encoded as JSON bytes (``None`` with no reply).
    """

    payload: Any
    value: bytes | None
    attempts: int = 1


@attrs.frozen(kw_only=True)
class ErrorReplied:
    """The request failed and its scenario asks for an error reply: ``{"error": message}``.

    The request is dead-lettered too, so that nothing about the failure is lost.
    """

    payload: dict[str, str]
    value: bytes
    failure: Failure


@attrs.frozen(kw_only=True)
class DeadLettered:
    """The request failed for good: it goes to the dead-letter topic."""

    failure: Failure


@attrs.frozen(kw_only=True)
class LeftForRedelivery:
    """A stop cut the request's retries short: it is left unanswered, to be handled again."""

    failure: Failure


@attrs.frozen(kw_only=True)
class Deferred:
    """The handler deferred its answer (``ctx.defer()``) and returned ``None``.

    Nothing is sent now and the request is done (Kafka: committed; Flow: ``WAIT``);
    ``deferred`` is answered later with ``App.reply_later``.
    """

    deferred: DeferredReply
    attempts: int = 1


Outcome = Replied | ErrorReplied | DeadLettered | LeftForRedelivery | Deferred
"""What handling one request came to."""
