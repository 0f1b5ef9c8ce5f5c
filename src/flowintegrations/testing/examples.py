"""Run a scenario's example exchanges against an app's handler, with readable differences.

:func:`check_example` sends an :class:`~flowintegrations.model.Example`'s request through a
running :class:`~flowintegrations.testing.TestClient` exactly as the engine would (the
request is not validated first, so examples of invalid requests can be sent), waits until
the app has handled it, and compares what the app did with what the example expects. A
mismatch raises :class:`ExampleMismatchError` (an ``AssertionError``) that lists every
difference with its JSON path, then the expected and the actual payloads::

    example notifications/generate-otp/example-1-login-code: the reply differs
      $.otpId: expected a string matching the regular expression '^otp-', got 'x-1'
      $.extra: not expected, got 1

:func:`example_cases` lists the examples of an app's handlers; the pytest plugin makes one
test of each.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import attrs

from flowintegrations.app import App
from flowintegrations.deadletter import ERROR_MESSAGE, ERROR_STAGE
from flowintegrations.model import Example, Integration, Matcher, Scenario, json_path_step
from flowintegrations.model.examples import MATCH_KEY
from flowintegrations.testing.client import TestClient
from flowintegrations.transport import Record
from flowintegrations.validation import DEFAULT_EXAMPLE_HEADERS
from flowintegrations.vocabulary import PROCESS_INSTANCE_UUID

__all__ = ["ExampleCase", "ExampleMismatchError", "check_example", "compare", "example_cases"]

_UUID = PROCESS_INSTANCE_UUID


class ExampleMismatchError(AssertionError):
    """What the app did differs from what an example expects (the message says how)."""


@attrs.frozen
class ExampleCase:
    """One example of one scenario an app handles, with its test id.

    ``id`` reads ``<integration>/<scenario>/example-<n>-<name>`` (``n`` counts from 1).
    """

    integration: Integration
    scenario: Scenario
    example: Example
    number: int

    @property
    def id(self) -> str:
        """``notifications/generate-otp/example-1-login-code``."""
        return (
            f"{self.integration.identifier}/{self.scenario.identifier}/"
            f"example-{self.number}-{self.example.name}"
        )


def example_cases(app: App) -> list[ExampleCase]:
    """The examples of every scenario the app has a handler for, in declaration order."""
    handled = set(app.handlers)
    return [
        ExampleCase(integration, scenario, example, number)
        for integration in app.integrations
        for scenario in integration.scenarios
        if (integration.identifier, scenario.identifier) in handled
        for number, example in enumerate(scenario.examples, start=1)
    ]


def compare(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Every difference between an expected payload (matchers allowed) and an actual one.

    Each difference is a line ``<json path>: <what was expected>, got <what there is>``.
    Objects must have the same keys, arrays the same length; numbers compare by value
    (``1 == 1.0``) but a boolean is never a number.
    """
    if isinstance(expected, dict) and MATCH_KEY in expected:
        matcher = Matcher.from_json(expected)
        if matcher.matches(actual):
            return []
        return [f"{path}: expected {matcher.describe()}, got {_show(actual)}"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {_show(actual)}"]
        lines: list[str] = []
        for key, value in expected.items():
            here = f"{path}{json_path_step(str(key))}"
            if key not in actual:
                lines.append(f"{here}: expected {_describe(value)}, but it is missing")
            else:
                lines.extend(compare(value, actual[key], here))
        lines.extend(
            f"{path}{json_path_step(str(key))}: not expected, got {_show(actual[key])}"
            for key in actual
            if key not in expected
        )
        return lines
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected an array, got {_show(actual)}"]
        lines = []
        for index, (want, got) in enumerate(zip(expected, actual, strict=False)):
            lines.extend(compare(want, got, f"{path}[{index}]"))
        if len(expected) != len(actual):
            lines.append(
                f"{path}: expected {len(expected)} items, got {len(actual)} "
                f"({_show(actual[len(expected) :]) if len(actual) > len(expected) else 'fewer'})"
            )
        return lines
    if _same_scalar(expected, actual):
        return []
    return [f"{path}: expected {_show(expected)}, got {_show(actual)}"]


def _same_scalar(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return expected == actual
    return type(expected) is type(actual) and bool(expected == actual)


def _describe(expected: Any) -> str:
    if isinstance(expected, dict) and MATCH_KEY in expected:
        return Matcher.from_json(expected).describe()
    return _show(expected)


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=False)


def _pretty(value: Any) -> str:
    return "\n".join("  " + line for line in json.dumps(value, indent=2).splitlines())


def check_example(client: TestClient, case: ExampleCase, *, timeout: float = 10.0) -> None:
    """Send the example's request through ``client`` and check the outcome it expects.

    Raises :class:`ExampleMismatchError` describing every difference.
    """
    example, scenario = case.example, case.scenario
    correlation = f"example-{uuid.uuid4()}"
    headers = {**DEFAULT_EXAMPLE_HEADERS, _UUID: correlation, **example.headers}
    binding = scenario.binding(client.app.environment)
    if binding.out_topic is None:
        msg = f"scenario {scenario.identifier!r} has no out topic: its examples cannot be sent"
        raise ValueError(msg)
    request = Record(
        topic=binding.out_topic,
        key=headers[_UUID].encode("utf-8"),
        value=json.dumps(example.request).encode("utf-8"),
        headers=tuple((name, value.encode("utf-8")) for name, value in headers.items()),
    )
    client.send_raw(request, timeout=timeout)
    replies = [
        r for r in _replies(client, binding.in_topic) if r.header(_UUID) == request.header(_UUID)
    ]
    dead = [r for r in client.dead_letters if r.header(_UUID) == request.header(_UUID)]
    problems = list(_outcome_problems(case, replies, dead))
    if problems:
        raise ExampleMismatchError("\n".join([f"example {case.id}: {problems[0]}", *problems[1:]]))


def _replies(client: TestClient, in_topic: str | None) -> list[Record]:
    return [] if in_topic is None else client.transport.records(in_topic)


def _outcome_problems(
    case: ExampleCase, replies: list[Record], dead: list[Record]
) -> Iterator[str]:
    example = case.example
    payloads = [json.loads(r.value) for r in replies]
    why = [_dead_letter_reason(r) for r in dead]
    if example.expects == "reply":
        if dead or len(payloads) != 1:
            yield _unexpected("a reply", payloads, why)
            return
        differences = compare(example.reply, payloads[0])
        if differences:
            yield "the reply differs from the expected one"
            yield from (f"  {line}" for line in differences)
            yield "expected reply:"
            yield _pretty(example.reply)
            yield "actual reply:"
            yield _pretty(payloads[0])
    elif example.expects == "error":
        errors = [p for p in payloads if isinstance(p, dict) and set(p) == {"error"}]
        if len(errors) != 1 or len(payloads) != 1:
            yield _unexpected("an error reply", payloads, why)
            return
        differences = compare(example.error, errors[0]["error"], "$.error")
        if differences:
            yield "the error reply differs from the expected one"
            yield from (f"  {line}" for line in differences)
    elif example.expects == "dead_letter":
        stages = [r.header(ERROR_STAGE) for r in dead]
        allowed_replies = 1 if case.scenario.error_reply else 0
        if stages != [(example.dead_letter or "").encode()] or len(payloads) > allowed_replies:
            yield _unexpected(f"a dead letter at stage {example.dead_letter!r}", payloads, why)
    elif payloads or dead:
        yield _unexpected("no reply and no dead letter", payloads, why)


def _dead_letter_reason(record: Record) -> str:
    stage = (record.header(ERROR_STAGE) or b"?").decode("utf-8", "replace")
    message = (record.header(ERROR_MESSAGE) or b"").decode("utf-8", "replace")
    return f"dead-lettered at stage {stage!r}: {message}"


def _unexpected(wanted: str, payloads: list[Any], why: list[str]) -> str:
    seen = [f"reply {_show(p)}" for p in payloads] + why
    got = "; ".join(seen) if seen else "no reply and no dead letter"
    return f"expected {wanted}, got {got}"
