"""What a handler knows about the message it handles: :class:`Context`."""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping
from typing import Any

import attrs

from flowintegrations.model import Integration, Scenario
from flowintegrations.validation import REDACTED

__all__ = ["Context", "MessageLogger", "redact_headers"]


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


@attrs.frozen(repr=False)
class Context:
    """Everything about the request being handled, besides its payload.

    ``headers`` are the request's headers decoded as text (the last of a repeated name
    wins); ``process_instance_id`` is the ``processInstanceId`` header; ``attempt`` counts
    tries of this request, from 1. ``logger`` stamps every record with the process
    instance. The repr never shows header values: some are secrets.
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

    def __repr__(self) -> str:
        return (
            f"Context(scenario={self.scenario.identifier!r}, "
            f"process_instance_id={self.process_instance_id!r}, topic={self.topic!r}, "
            f"partition={self.partition}, offset={self.offset}, attempt={self.attempt}, "
            f"headers={sorted(self.headers)!r})"
        )
