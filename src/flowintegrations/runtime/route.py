"""A route: a scenario with its handler, and the checks of its requests' headers.

Everything about a scenario that the pipeline needs for each request is computed once,
when the route is built: the compiled validators both ways, which headers are mandatory,
secret or never propagated, the enumeration code translator. A request that passed its
checks is a :class:`Prepared`; where it came from is its :class:`Source`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import attrs

from flowintegrations.model import Integration, Scenario
from flowintegrations.runtime.context import Context
from flowintegrations.runtime.handlers import HandlerSpec
from flowintegrations.transport import Headers
from flowintegrations.validation import (
    CodeTranslator,
    Validator,
    decode_headers,
    scenario_validators,
    translator_for,
)

__all__ = ["Prepared", "Route", "Source", "check_request_headers", "decode_request_headers"]

_join = b"\x00".join
"""Joins header values with NUL, for one UTF-8 check of them all (check_request_headers)."""


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
    """A request that passed its checks, ready for its handler.

    ``headers`` is ``None`` while nothing needed them decoded (a handler without ``ctx``
    on the fast path); ``ctx`` is the first try's context when ``headers`` is known.
    """

    __slots__ = ("argument", "ctx", "headers", "source")

    def __init__(
        self,
        source: Source,
        headers: Mapping[str, str] | None,
        argument: Any,
        ctx: Context | None,
    ) -> None:
        self.source = source
        self.headers = headers
        self.argument = argument
        self.ctx = ctx


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
    if raw:
        try:
            _join([value for _, value in raw]).decode()
        except (UnicodeDecodeError, TypeError, ValueError):
            decode_headers(raw, route.scenario.headers)  # raises, naming every problem
            return
    for name in route.mandatory:
        for header_name, _ in raw:
            if header_name == name:
                break
        else:
            decode_headers(raw, route.scenario.headers)
