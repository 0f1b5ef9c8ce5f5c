"""Running example exchanges against handlers: comparison with matchers, readable mismatches."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from flowintegrations import (
    App,
    DataModel,
    Example,
    Integration,
    Property,
    Scenario,
    TopicBinding,
)
from flowintegrations.testing import TestClient
from flowintegrations.testing.examples import (
    ExampleCase,
    ExampleMismatchError,
    check_example,
    compare,
    example_cases,
)

LOOKUP = Scenario(
    "Look up",
    "lookup",
    topics=[
        TopicBinding("ai.flowx.test.plugin.lookup.v1", "ai.flowx.test.engine.receive.lookup.v1")
    ],
    output_model=DataModel([Property.string("id", mandatory=True)]),
    input_model=DataModel(
        [Property.string("id"), Property.number("score"), Property.string("error")]
    ),
    error_reply=True,
)
PLUGIN = Integration("Plugin", "plugin", scenarios=[LOOKUP])


def lookup_app() -> App:
    """An app whose handler echoes the id with a score, fails for id "boom", no reply for "-"."""
    app = App(PLUGIN)

    @app.handler(LOOKUP)
    def lookup(request: dict[str, Any]) -> dict[str, Any] | None:
        if request["id"] == "boom":
            msg = "lookup service down"
            raise RuntimeError(msg)
        if request["id"] == "-":
            return None
        return {"id": request["id"], "score": 3}

    return app


def run(example: Example) -> None:
    """Check ``example`` (as example 1 of LOOKUP) against a fresh lookup app."""
    case = ExampleCase(PLUGIN, attrs.evolve(LOOKUP, examples=(example,)), example, 1)
    with TestClient(lookup_app()) as client:
        check_example(client, case)


# compare ---------------------------------------------------------------------------------


def test_equal_payloads_have_no_differences() -> None:
    """Identical JSON values compare equal, and 1 equals 1.0."""
    assert (
        compare({"a": [1, "x", None], "b": {"c": True}}, {"a": [1.0, "x", None], "b": {"c": True}})
        == []
    )


def test_every_difference_is_listed_with_its_path() -> None:
    """A changed value, a missing key and an unexpected key are each one line."""
    assert compare({"a": 1, "b": "x"}, {"a": 2, "c": [1]}) == [
        "$.a: expected 1, got 2",
        '$.b: expected "x", but it is missing',
        "$.c: not expected, got [1]",
    ]


def test_a_boolean_is_not_a_number() -> None:
    """JSON true and 1 differ, although Python says True == 1."""
    assert compare({"a": 1}, {"a": True}) == ["$.a: expected 1, got true"]


def test_arrays_of_different_lengths_differ() -> None:
    """Extra items of an array are shown."""
    assert compare([1], [1, 2]) == ["$: expected 1 items, got 2 ([2])"]


def test_a_matcher_that_does_not_match_says_what_it_accepts() -> None:
    """A failed matcher names what it accepts and what it got."""
    expected = {"at": {"$match": "iso-timestamp"}, "id": {"$match": "regex", "pattern": "^otp-"}}
    assert compare(expected, {"at": "soon", "id": "otp-1"}) == [
        '$.at: expected an ISO-8601 timestamp, got "soon"'
    ]


# check_example ---------------------------------------------------------------------------


def test_an_expected_reply_passes() -> None:
    """A reply equal to the expected one (matchers matching) passes."""
    run(Example(name="ok", request={"id": "7"}, reply={"id": "7", "score": {"$match": "any"}}))


def test_a_different_reply_fails_with_a_readable_diff() -> None:
    """The mismatch lists each difference, then both payloads."""
    example = Example(name="wrong", request={"id": "7"}, reply={"id": "8", "score": 3})
    with pytest.raises(ExampleMismatchError) as caught:
        run(example)
    assert str(caught.value) == (
        "example plugin/lookup/example-1-wrong: the reply differs from the expected one\n"
        '  $.id: expected "8", got "7"\n'
        "expected reply:\n"
        "  {\n"
        '    "id": "8",\n'
        '    "score": 3\n'
        "  }\n"
        "actual reply:\n"
        "  {\n"
        '    "id": "7",\n'
        '    "score": 3\n'
        "  }"
    )


def test_an_expected_error_reply_passes() -> None:
    """A failing handler answers with the error the example expects."""
    run(Example(name="down", request={"id": "boom"}, error="lookup service down"))


def test_an_error_instead_of_a_reply_fails_naming_the_dead_letter() -> None:
    """When a reply was expected, the error reply and the dead letter are both shown."""
    with pytest.raises(
        ExampleMismatchError,
        match=r"^example plugin/lookup/example-1-down: expected a reply, got reply "
        r'\{"error": "lookup service down"\}; dead-lettered at stage \'handler\': '
        r"lookup service down$",
    ):
        run(Example(name="down", request={"id": "boom"}, reply={"id": "boom"}))


def test_an_expected_dead_letter_passes() -> None:
    """An invalid request is dead-lettered at stage 'request', as the example says."""
    run(Example(name="invalid", request={"id": 5}, dead_letter="request"))


def test_a_dead_letter_at_another_stage_fails() -> None:
    """The stage of the dead letter must be the one expected."""
    with pytest.raises(
        ExampleMismatchError,
        match=r"^example plugin/lookup/example-1-down: expected a dead letter at stage "
        r"'request', got reply",
    ):
        run(Example(name="down", request={"id": "boom"}, dead_letter="request"))


def test_an_example_without_an_outcome_expects_no_reply() -> None:
    """A handler that returns None passes an example that expects nothing."""
    run(Example(name="quiet", request={"id": "-"}))


def test_a_reply_where_nothing_was_expected_fails() -> None:
    """A reply to an example that expects nothing is a mismatch."""
    with pytest.raises(
        ExampleMismatchError,
        match=r"^example plugin/lookup/example-1-quiet: expected no reply and no dead letter, "
        r'got reply \{"id": "7", "score": 3\}$',
    ):
        run(Example(name="quiet", request={"id": "7"}))


def test_example_cases_cover_handled_scenarios_only() -> None:
    """Only scenarios with a handler give cases, numbered from 1 within their scenario."""
    other = Scenario("Other", "other", examples=[Example(name="x", request={})])
    lookup = attrs.evolve(
        LOOKUP,
        examples=(Example(name="a", request={"id": "1"}), Example(name="b", request={"id": "2"})),
    )
    app = App(Integration("Plugin", "plugin", scenarios=[lookup, other]))
    app.handler(lookup)(lambda request: None)
    assert [case.id for case in example_cases(app)] == [
        "plugin/lookup/example-1-a",
        "plugin/lookup/example-2-b",
    ]
