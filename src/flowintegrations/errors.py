"""The exception hierarchy of flowintegrations.

Every exception the library raises on purpose derives from :class:`FlowIntegrationsError`.
Leaves also derive from the builtin a caller would naturally catch (``ValueError`` for bad
data, ``LookupError`` for a missing name, ``TimeoutError`` for a timeout), so code that knows
nothing about this library still does the right thing.

Messages say where, what and why. They never contain secrets: header values marked secret,
SASL passwords and tokens are redacted before an error is built.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowintegrations.validation.violations import Violation

__all__ = [
    "CatalogError",
    "CatalogProblem",
    "CodecError",
    "DeferredReplyError",
    "DeferredReplyUsedError",
    "DeliveryError",
    "FlowIntegrationsError",
    "FlowIntegrationsWarning",
    "HandlerRegistrationError",
    "InvalidDeferredReplyError",
    "MissingTopicError",
    "RequestDeadLetteredError",
    "RequestTimeoutError",
    "ScenarioNotFoundError",
    "TopicNotFoundError",
    "TransportBrokenError",
    "TransportClosedError",
    "TransportError",
    "ValidationError",
]


class FlowIntegrationsError(Exception):
    """Root of every error this library raises on purpose."""


class FlowIntegrationsWarning(UserWarning):
    """Root of every warning this library emits."""


class CatalogProblem:
    """One structural problem in a catalog or model: where (a JSON path) and what.

    Kept as a plain value so that :class:`CatalogError` can report every problem of a
    catalog file at once.
    """

    __slots__ = ("message", "path", "value")

    def __init__(self, path: str, message: str, value: object = None) -> None:
        self.path = path
        self.message = message
        self.value = value

    def __repr__(self) -> str:
        return f"CatalogProblem(path={self.path!r}, message={self.message!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CatalogProblem):
            return NotImplemented
        return (self.path, self.message) == (other.path, other.message)

    def __hash__(self) -> int:
        return hash((self.path, self.message))

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class CatalogError(FlowIntegrationsError, ValueError):
    """A catalog, integration, scenario or data model is structurally wrong.

    ``problems`` lists every problem found, each with the JSON path of the offending
    element (``$.integrations[0].scenarios[1].topics[0].out``) and a sentence naming the
    offending value. ``source`` names the file they are in, when there is one.
    """

    def __init__(
        self,
        problems: Iterable[CatalogProblem] | str,
        path: str = "$",
        *,
        source: str | None = None,
    ) -> None:
        if isinstance(problems, str):
            problems = (CatalogProblem(path, problems),)
        self.problems: tuple[CatalogProblem, ...] = tuple(problems)
        self.source = source
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"{self.source}: " if self.source else ""
        if len(self.problems) == 1:
            return f"{where}{self.problems[0]}"
        lines = [f"{where}{len(self.problems)} problems:"]
        lines.extend(f"  {problem}" for problem in self.problems)
        return "\n".join(lines)

    def prefixed(self, prefix: str) -> CatalogError:
        """Return the same error with every path re-rooted under ``prefix``.

        ``$.name`` under ``$.integrations[2]`` becomes ``$.integrations[2].name``.
        """
        return CatalogError(
            CatalogProblem(prefix + p.path[1:], p.message, p.value) for p in self.problems
        )


class ValidationError(FlowIntegrationsError, ValueError):
    """A payload or a set of headers does not match its model.

    ``violations`` holds *every* violation found, each with a JSON path, the rule broken,
    a sentence and the offending value.
    """

    def __init__(self, violations: Iterable[Violation], *, subject: str = "payload") -> None:
        self.violations: tuple[Violation, ...] = tuple(violations)
        self.subject = subject
        super().__init__(self._render())

    def _render(self) -> str:
        count = len(self.violations)
        noun = "violation" if count == 1 else "violations"
        lines = [f"invalid {self.subject} ({count} {noun}):"]
        lines.extend(f"  {v.path}: {v.message}" for v in self.violations)
        return "\n".join(lines)


class CodecError(FlowIntegrationsError, ValueError):
    """Message bytes could not be turned into a JSON value (or a value into bytes)."""


class HandlerRegistrationError(FlowIntegrationsError, ValueError):
    """A handler cannot be registered (unknown scenario, registered twice, bad signature)."""


class ScenarioNotFoundError(FlowIntegrationsError, LookupError):
    """No integration at hand has the scenario asked for (or the name is ambiguous)."""


class RequestTimeoutError(FlowIntegrationsError, TimeoutError):
    """No reply arrived for a request within its timeout."""


class RequestDeadLetteredError(FlowIntegrationsError):
    """The adapter dead-lettered a request instead of replying to it.

    Raised by the test client's ``request`` as soon as the dead letter is written (rather
    than after the timeout), with what the dead letter's headers say: ``stage`` (``decode``,
    ``headers``, ``request``, ``handler``, ``reply`` or ``internal``), ``error_class``,
    ``error_message``, ``violations`` (for validation failures, else empty), ``attempts``,
    and the dead-letter ``record`` itself.
    """

    def __init__(
        self,
        request: str,
        *,
        stage: str,
        error_class: str,
        error_message: str,
        violations: Iterable[Violation] = (),
        attempts: int = 0,
        record: object = None,
    ) -> None:
        self.request = request
        self.stage = stage
        self.error_class = error_class
        self.error_message = error_message
        self.violations: tuple[Violation, ...] = tuple(violations)
        self.attempts = attempts
        self.record = record
        tries = "" if attempts == 0 else f" after {attempts} {'try' if attempts == 1 else 'tries'}"
        first, *rest = error_message.splitlines() or [""]
        lines = [
            f"{request} was dead-lettered at stage {stage!r}{tries}: {error_class}: {first}",
            *rest,
        ]
        if self.violations and not rest:
            lines.extend(f"  {v.path}: {v.message}" for v in self.violations)
        super().__init__("\n".join(lines))


class TransportError(FlowIntegrationsError):
    """Root of the errors a transport raises.

    Backend exceptions (confluent-kafka's, for instance) never cross the transport's API:
    they are translated into a subclass of this one, with the original kept as
    ``__cause__``.
    """


class TransportClosedError(TransportError, RuntimeError):
    """The transport (or subscription) was used after it was stopped by its owner."""


class TransportBrokenError(TransportError, ConnectionError):
    """The transport can no longer work (broker unreachable, fatal client error)."""


class TopicNotFoundError(TransportError, LookupError):
    """One or more topics the transport must use do not exist; ``topics`` names them."""

    def __init__(self, topics: Iterable[str]) -> None:
        self.topics: tuple[str, ...] = tuple(sorted(topics))
        super().__init__(f"topics do not exist: {', '.join(self.topics)}")


class DeliveryError(TransportError):
    """The broker did not acknowledge a record (it was not, or may not have been, written)."""


class DeferredReplyError(FlowIntegrationsError, ValueError):
    """A deferred reply cannot be made or sent (no signing secret, no in topic, ...).

    The root of the errors about ``ctx.defer()`` and ``App.reply_later``.
    """


class InvalidDeferredReplyError(DeferredReplyError):
    """A deferred reply token is malformed, truncated, of an unknown version, or tampered with.

    Tampered with means its signature does not match its content under the app's secret
    (which is also what a token signed with another secret looks like).
    """


class DeferredReplyUsedError(DeferredReplyError):
    """The deferred reply was answered already: a second answer is refused."""


class MissingTopicError(HandlerRegistrationError, DeferredReplyError, CatalogError, LookupError):
    """A scenario has no in (or out) topic in this environment: the one error for the rule.

    Raised by :meth:`~flowintegrations.Scenario.topic` wherever a topic is needed: a
    handler's out topic at start, an engine request's topics, a deferred reply's or a sent
    message's in topic. It is each of the errors those places raised before (a
    :class:`HandlerRegistrationError`, :class:`DeferredReplyError`, :class:`CatalogError`,
    and a :class:`LookupError`), so that existing ``except`` clauses still catch it.
    ``scenario``, ``side`` (``"in"`` or ``"out"``) and ``environment`` say which.
    """

    def __init__(self, scenario: str, side: str, environment: str | None) -> None:
        self.scenario = scenario
        self.side = side
        self.environment = environment
        self.message = f"scenario {scenario!r} has no {side} topic in environment {environment!r}"
        CatalogError.__init__(self, self.message, "$.topics")

    def __str__(self) -> str:
        return self.message
