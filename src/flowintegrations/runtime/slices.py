"""A run's answer, slice by slice: the :class:`Slice` values :meth:`Pipeline.handle_run` gives.

A slice is what the requests of one time slice came to, in order. The fast path (every
request answered at its first try) carries the encoded replies alone, with no outcome
object per request; anything else is a slice of one request and its outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from flowintegrations.runtime.outcome import Outcome, Replied
from flowintegrations.runtime.route import Source

if TYPE_CHECKING:
    from flowintegrations.runtime.telemetry import RequestTrace

__all__ = ["S", "Slice", "Traces"]

S = TypeVar("S", bound=Source)

Traces = list["RequestTrace | None"] | None
"""Each request's trace, in the order of the requests (``None``: telemetry is off)."""


class Slice(Generic[S]):
    """What a time slice of a run came to: consecutive requests, in order, and their outcomes.

    Either every request of :attr:`sources` was answered at its first try, and
    :attr:`replies` holds each one's ``(payload, encoded reply)`` (the fast path: no outcome
    object per request), or :attr:`sources` is one request and :attr:`outcome` what it came
    to (a failure, retried or not, or a deferred answer). :attr:`headers` are that request's
    decoded headers when they were readable; :attr:`traces` the requests' traces, when
    telemetry is on.
    """

    __slots__ = ("headers", "outcome", "replies", "sources", "traces")

    def __init__(
        self,
        sources: list[S],
        replies: list[tuple[Any, bytes | None]],
        outcome: Outcome | None = None,
        headers: Mapping[str, str] | None = None,
        traces: Traces = None,
    ) -> None:
        self.sources = sources
        self.replies = replies
        self.outcome = outcome
        self.headers = headers
        self.traces = traces

    def __repr__(self) -> str:
        what = f"outcome={self.outcome!r}" if self.outcome is not None else "answered"
        return f"Slice({len(self.sources)} requests, {what})"

    def outcomes(self) -> list[Outcome]:
        """Each request's outcome, in order."""
        if self.outcome is not None:
            return [self.outcome]
        return [Replied(payload=payload, value=value) for payload, value in self.replies]
