"""What a handler knows about the message it handles: :class:`Context`."""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping
from types import MappingProxyType
from typing import Any

import attrs

from flowintegrations.errors import DeferredReplyError
from flowintegrations.model import Integration, Scenario
from flowintegrations.runtime.deferred import Deferrals, DeferredReply
from flowintegrations.vocabulary import REDACTED

__all__ = ["NO_CONFIGURATION", "Context", "MessageLogger", "redact_headers"]

NO_CONFIGURATION: Mapping[str, Any] = MappingProxyType({})
"""The configuration a handler sees when its request comes with none."""


def redact_headers(headers: Mapping[str, str], secret: frozenset[str]) -> dict[str, str]:
    """A copy of ``headers`` with the values of ``secret`` ones replaced by ``<redacted>``."""
    return {k: (REDACTED if k in secret else v) for k, v in headers.items()}


class MessageLogger(logging.LoggerAdapter[logging.Logger]):
    """A logger whose records carry the message's ``processInstanceId`` and scenario."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        """Merge the message's fields into the record's ``extra``."""
        extra = dict(self.extra or {})
        extra.update(kwargs.get("extra") or {})
        kwargs["extra"] = extra
        return msg, kwargs


class _DeferredCell:
    """The one mutable cell of a :class:`Context`: the reply its handler deferred.

    A slot of a base class, outside the attrs fields, so that making a context does not pay
    for it: it is set only by :meth:`Context.defer`, and read only when a handler returned
    ``None``.
    """

    __slots__ = ("_deferred",)


@attrs.frozen(repr=False)
class Context(_DeferredCell):
    """Everything about the request being handled, besides its payload.

    ``headers`` are the request's headers decoded as text (the last of a repeated name
    wins); ``process_instance_id`` is the ``processInstanceId`` header; ``attempt`` counts
    tries of this request, from 1. ``logger`` stamps every record with the process
    instance. The repr never shows header values: some are secrets.

    ``source`` is what the request came from (the consumed record, or an origin) and
    ``deferrals`` what signs deferred replies; the pipeline fills both in.
    ``configuration`` holds the settings of a Flow service, filled in by the Flow builder
    (typed by ``FlowService(configuration=...)``; empty on Kafka); its repr hides secrets.
    """

    headers: Mapping[str, str]
    process_instance_id: str | None
    integration: Integration
    scenario: Scenario
    environment: str | None
    topic: str
    partition: int
    offset: int
    key: bytes | None
    attempt: int = 1
    logger: MessageLogger = attrs.field(
        factory=lambda: MessageLogger(logging.getLogger("flowintegrations.handler"), {}),
        eq=False,
    )
    source: Any = attrs.field(default=None, eq=False, kw_only=True)
    deferrals: Deferrals | None = attrs.field(default=None, eq=False, kw_only=True)
    configuration: Mapping[str, Any] = attrs.field(default=NO_CONFIGURATION, eq=False, kw_only=True)

    def defer(self) -> DeferredReply:
        """Answer this request later: the token to answer it with; then return ``None``.

        The request is committed and no reply is sent now; ``App.reply_later(deferred,
        payload)`` sends the answer, from any process, with the headers and key an
        immediate reply would have (secret headers left out unless the scenario sets
        ``defer_secret_headers``). Calling it again returns the same deferred reply. A
        handler that defers and still returns a reply sends that reply: do not.

        Raises :class:`~flowintegrations.errors.DeferredReplyError` when the app has no
        signing secret, or the scenario no in topic.
        """
        deferred = self.deferred
        if deferred is None:
            if self.deferrals is None:
                msg = "this context was not made by an app's pipeline: it cannot defer"
                raise DeferredReplyError(msg)
            deferred = self.deferrals.defer(self)
            object.__setattr__(self, "_deferred", deferred)  # frozen, but this cell is ours
        return deferred

    @property
    def deferred(self) -> DeferredReply | None:
        """The deferred reply :meth:`defer` made, or ``None`` when the handler did not defer."""
        deferred: DeferredReply | None = getattr(self, "_deferred", None)  # unset until defer()
        return deferred

    def __repr__(self) -> str:
        return (
            f"Context(scenario={self.scenario.identifier!r}, "
            f"process_instance_id={self.process_instance_id!r}, topic={self.topic!r}, "
            f"partition={self.partition}, offset={self.offset}, attempt={self.attempt}, "
            f"headers={sorted(self.headers)!r})"
        )
