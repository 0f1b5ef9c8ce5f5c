"""Example exchanges of a scenario: a request and what the adapter must answer.

An :class:`Example` is data, in code or in the catalog file (a scenario's ``examples``):
the request payload and headers the engine sends, and exactly one expectation:

* ``reply``: the reply payload the adapter sends back; values that change from run to run
  are written as *matchers* (below);
* ``error``: the message of the error reply ``{"error": "..."}`` (a string, or a matcher),
  for scenarios with ``error_reply``;
* ``dead_letter``: the stage at which the request is dead-lettered (``"headers"``,
  ``"decode"``, ``"request"``, ``"handler"`` or ``"reply"``);
* none of them: the request is handled without a reply and without a dead letter.

A matcher is a JSON object with a ``"$match"`` key, so that it can live in a JSON file:

=======================================================  ==================================
``{"$match": "any"}``                                    any value
``{"$match": "any-string"}``                             any string
``{"$match": "iso-timestamp"}``                          a string holding an ISO-8601 date
                                                         and time (``2026-11-22T15:00:00Z``)
``{"$match": "regex", "pattern": "^otp-"}``              a string in which the regular
                                                         expression finds a match
=======================================================  ==================================

This module checks an example's *structure* (one expectation, known stages, well-formed
matchers); checking its payloads against the scenario's models is the validation layer's
job (:func:`flowintegrations.validation.example_problems`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import attrs

from flowintegrations.errors import CatalogError, CatalogProblem
from flowintegrations.model.datamodel import FrozenDict, JSONValue, json_path_step

__all__ = [
    "DEAD_LETTER_STAGES",
    "MATCHER_KINDS",
    "MATCH_KEY",
    "Example",
    "Matcher",
    "find_matchers",
    "is_iso_timestamp",
]

MATCH_KEY = "$match"
"""The key that makes a JSON object in an expected payload a matcher."""

MATCHER_KINDS = ("any", "any-string", "iso-timestamp", "regex")
"""The values ``"$match"`` may take."""

DEAD_LETTER_STAGES = ("headers", "decode", "request", "handler", "reply")
"""Where a request can fail before it is dead-lettered (the ``error.stage`` header)."""

_ISO_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)


def is_iso_timestamp(value: object) -> bool:
    """Whether ``value`` is a string holding a valid ISO-8601 date and time."""
    if not isinstance(value, str) or not _ISO_TIMESTAMP.fullmatch(value):
        return False
    text = value.upper()
    text = text[:-1] + "+00:00" if text.endswith("Z") else text
    fraction = re.search(r"\.(\d+)", text)
    if fraction is not None:  # Python before 3.11 reads 3 or 6 digits of a second only
        digits = (fraction.group(1) + "000000")[:6]
        text = text[: fraction.start(1)] + digits + text[fraction.end(1) :]
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


@attrs.frozen
class Matcher:
    """A placeholder in an expected payload that accepts a family of values.

    Built from its JSON form with :meth:`from_json`; ``kind`` is one of
    :data:`MATCHER_KINDS` and ``pattern`` is the regular expression of a ``regex`` matcher.
    """

    kind: str
    pattern: str | None = attrs.field(default=None, kw_only=True)

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Matcher:
        """The matcher a ``{"$match": ...}`` object describes; raises :class:`CatalogError`."""
        problems = list(_matcher_problems(value, "$"))
        if problems:
            raise CatalogError(problems)
        return cls(value[MATCH_KEY], pattern=value.get("pattern"))

    def matches(self, value: object) -> bool:
        """Whether ``value`` is one of the values this matcher accepts."""
        if self.kind == "any":
            return True
        if self.kind == "any-string":
            return isinstance(value, str)
        if self.kind == "iso-timestamp":
            return is_iso_timestamp(value)
        assert self.pattern is not None
        return isinstance(value, str) and re.search(self.pattern, value) is not None

    def describe(self) -> str:
        """What the matcher accepts, as the end of a sentence ("any string")."""
        if self.kind == "any":
            return "any value"
        if self.kind == "any-string":
            return "any string"
        if self.kind == "iso-timestamp":
            return "an ISO-8601 timestamp"
        return f"a string matching the regular expression {self.pattern!r}"

    def to_json(self) -> dict[str, str]:
        """The matcher's JSON form."""
        data = {MATCH_KEY: self.kind}
        if self.pattern is not None:
            data["pattern"] = self.pattern
        return data


def _matcher_problems(value: Mapping[str, Any], path: str) -> Iterator[CatalogProblem]:
    kind = value.get(MATCH_KEY)
    if kind not in MATCHER_KINDS:
        known = ", ".join(repr(k) for k in MATCHER_KINDS)
        yield CatalogProblem(
            f"{path}{json_path_step(MATCH_KEY)}",
            f"unknown matcher {kind!r} (known: {known})",
            kind,
        )
        return
    allowed = {MATCH_KEY, "pattern"} if kind == "regex" else {MATCH_KEY}
    for key in sorted(set(value) - allowed, key=str):
        yield CatalogProblem(
            f"{path}{json_path_step(key)}", f"the {kind!r} matcher has no key {key!r}", key
        )
    if kind != "regex":
        return
    pattern = value.get("pattern")
    if not isinstance(pattern, str):
        yield CatalogProblem(
            f"{path}.pattern",
            f"a 'regex' matcher needs a 'pattern' string, got {pattern!r}",
            pattern,
        )
        return
    try:
        re.compile(pattern)
    except re.error as exc:
        yield CatalogProblem(
            f"{path}.pattern", f"invalid regular expression {pattern!r}: {exc}", pattern
        )


def find_matchers(expected: JSONValue, path: str = "$") -> Iterator[tuple[str, Matcher]]:
    """Every well-formed matcher in an expected payload, with its JSON path."""
    for where, spec in _matcher_objects(expected, path):
        if not list(_matcher_problems(spec, where)):
            yield where, Matcher.from_json(spec)


def _all_matcher_problems(expected: JSONValue, path: str) -> Iterator[CatalogProblem]:
    for where, spec in _matcher_objects(expected, path):
        yield from _matcher_problems(spec, where)


def _matcher_objects(
    expected: JSONValue, path: str
) -> Iterator[tuple[str, Mapping[str, JSONValue]]]:
    """Every object of an expected payload that holds a matcher key, with its JSON path.

    A matcher object is a leaf: what it contains is its own options, not more payload.
    """
    if isinstance(expected, Mapping):
        if MATCH_KEY in expected:
            yield path, expected
            return
        for key, item in expected.items():
            yield from _matcher_objects(item, f"{path}{json_path_step(str(key))}")
    elif isinstance(expected, (list, tuple)):
        for index, item in enumerate(expected):
            yield from _matcher_objects(item, f"{path}[{index}]")


def _to_headers(value: Mapping[str, str]) -> FrozenDict:
    if isinstance(value, FrozenDict):
        return value
    if not isinstance(value, Mapping):
        raise CatalogError(
            f"example headers are an object of header names to strings, got {value!r}",
            "$.headers",
        )
    return FrozenDict(value)


@attrs.frozen(cache_hash=True)
class Example:
    """One example exchange of a scenario: a request and the expected outcome.

    ``request`` is the payload the engine sends and ``headers`` the headers it adds to the
    ones every request gets (``processInstanceId``, ``processInstanceUuid``). Give at most
    one of ``reply`` (the expected reply payload, matchers allowed), ``error`` (the
    expected error reply's message: a string or a matcher) and ``dead_letter`` (the stage
    at which the request is dead-lettered); with none, the request must be handled with no
    reply and no dead letter. See the module docstring for the matchers.
    """

    name: str = attrs.field(kw_only=True)
    request: JSONValue = attrs.field(kw_only=True, hash=False)
    headers: Mapping[str, str] = attrs.field(
        factory=FrozenDict, kw_only=True, converter=_to_headers, hash=False
    )
    reply: JSONValue = attrs.field(default=None, kw_only=True, hash=False)
    error: JSONValue = attrs.field(default=None, kw_only=True, hash=False)
    dead_letter: str | None = attrs.field(default=None, kw_only=True)
    description: str = attrs.field(default="", kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = list(self._structure_problems())
        if problems:
            raise CatalogError(problems)

    @property
    def expects(self) -> str:
        """The outcome expected: ``"reply"``, ``"error"``, ``"dead_letter"`` or ``"nothing"``."""
        if self.reply is not None:
            return "reply"
        if self.error is not None:
            return "error"
        if self.dead_letter is not None:
            return "dead_letter"
        return "nothing"

    def _structure_problems(self) -> Iterator[CatalogProblem]:
        if not isinstance(self.name, str) or not self.name:
            yield CatalogProblem(
                "$.name", f"an example name must be a non-empty string, got {self.name!r}"
            )
        headers: Mapping[str, object] = self.headers
        for name, value in headers.items():
            if not isinstance(value, str):
                yield CatalogProblem(
                    f"$.headers{json_path_step(str(name))}",
                    f"example header values are strings, got {value!r}",
                    value,
                )
        given = [
            key
            for key, value in (
                ("reply", self.reply),
                ("error", self.error),
                ("deadLetter", self.dead_letter),
            )
            if value is not None
        ]
        if len(given) > 1:
            yield CatalogProblem(
                f"$.{given[1]}",
                f"an example expects one outcome, but gives {' and '.join(given)}",
                given,
            )
        if self.dead_letter is not None and self.dead_letter not in DEAD_LETTER_STAGES:
            known = ", ".join(repr(s) for s in DEAD_LETTER_STAGES)
            yield CatalogProblem(
                "$.deadLetter",
                f"unknown dead-letter stage {self.dead_letter!r} (known: {known})",
                self.dead_letter,
            )
        if self.error is not None and not isinstance(self.error, (str, Mapping)):
            yield CatalogProblem(
                "$.error",
                f"an expected error is a message string or a matcher, got {self.error!r}",
                self.error,
            )
        yield from _all_matcher_problems(self.reply, "$.reply")
        if isinstance(self.error, Mapping):
            if MATCH_KEY in self.error:
                yield from _matcher_problems(self.error, "$.error")
            else:
                yield CatalogProblem(
                    "$.error",
                    "an expected error is a message string or a matcher, got an object "
                    f"without {MATCH_KEY!r}",
                    self.error,
                )
