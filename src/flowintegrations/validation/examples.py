"""Checks of example exchanges against the models of their scenario.

:func:`example_problems` is what ``flowintegrations check`` runs: every example's request
must be valid against the scenario's output model, its headers against the scenario's
headers, and its expected reply against the input model (matchers stand for strings, so
a matcher where the model wants a number is a problem), unless the example expects the
request to be dead-lettered at that very stage.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flowintegrations.errors import CatalogProblem, ValidationError
from flowintegrations.model import Example, Integration, Scenario
from flowintegrations.model.examples import MATCH_KEY, find_matchers
from flowintegrations.validation.headers import decode_headers
from flowintegrations.validation.validator import Validator, scenario_validators

__all__ = ["DEFAULT_EXAMPLE_HEADERS", "example_problems"]

DEFAULT_EXAMPLE_HEADERS = {"processInstanceId": "1", "processInstanceUuid": "example"}
"""Headers every example request gets (as the engine sends them), unless it sets its own."""

_PLACEHOLDER = "\x00matcher"


def example_problems(integration: Integration) -> Iterator[CatalogProblem]:
    """Every problem of the integration's examples, with paths from the integration down.

    A path reads ``$.scenarios[0].examples[1].reply.otpId``.
    """
    for s_index, scenario in enumerate(integration.scenarios):
        if not scenario.examples:
            continue
        request, reply = scenario_validators(integration, scenario)
        for e_index, example in enumerate(scenario.examples):
            where = f"$.scenarios[{s_index}].examples[{e_index}]"
            yield from _request_problems(request, example, where)
            yield from _header_problems(scenario, example, where)
            if example.reply is not None:
                yield from _reply_problems(reply, example.reply, where)


def _request_problems(request: Validator, example: Example, where: str) -> Iterator[Any]:
    violations = request.violations(example.request)
    if example.dead_letter == "request":
        if not violations:
            yield CatalogProblem(
                f"{where}.deadLetter",
                f"example {example.name!r} expects a dead letter at stage 'request', but its "
                "request is valid",
                "request",
            )
        return
    if example.error is not None:  # an invalid request is answered by an error reply too
        return
    for violation in violations:
        yield CatalogProblem(
            f"{where}.request{violation.path[1:]}",
            f"the request breaks the scenario's output model: {violation.message}",
            violation.value,
        )


def _header_problems(scenario: Scenario, example: Example, where: str) -> Iterator[Any]:
    headers = {**DEFAULT_EXAMPLE_HEADERS, **example.headers}
    try:
        decode_headers(headers.items(), scenario.headers)
    except ValidationError as exc:
        if example.dead_letter == "headers" or example.error is not None:
            return
        for violation in exc.violations:
            yield CatalogProblem(
                f"{where}.headers{violation.path[1:]}",
                f"the header {violation.message}",
                violation.value,
            )
    else:
        if example.dead_letter == "headers":
            yield CatalogProblem(
                f"{where}.deadLetter",
                f"example {example.name!r} expects a dead letter at stage 'headers', but its "
                "headers are valid",
                "headers",
            )


def _reply_problems(reply: Validator, expected: Any, where: str) -> Iterator[Any]:
    matchers = dict(find_matchers(expected))
    for violation in reply.violations(_substitute(expected)):
        path = f"{where}.reply{violation.path[1:]}"
        matcher = matchers.get(violation.path)
        if matcher is None:
            yield CatalogProblem(
                path,
                f"the expected reply breaks the scenario's input model: {violation.message}",
                violation.value,
            )
        elif matcher.kind != "any" and violation.rule == "type":
            # Every matcher but "any" accepts strings only: it can never match here.
            wanted = violation.message.split(",")[0]
            yield CatalogProblem(
                path,
                f"the matcher accepts {matcher.describe()}, but the input model says the "
                f"value {wanted}",
                matcher.to_json(),
            )


def _substitute(expected: Any) -> Any:
    """``expected`` with every matcher replaced by a placeholder string."""
    if isinstance(expected, dict):
        if MATCH_KEY in expected:
            return _PLACEHOLDER
        return {key: _substitute(value) for key, value in expected.items()}
    if isinstance(expected, list):
        return [_substitute(item) for item in expected]
    return expected
