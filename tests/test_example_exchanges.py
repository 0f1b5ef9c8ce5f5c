"""Example exchanges as data: their structure, matchers, catalog form and model checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from flowintegrations import (
    Catalog,
    CatalogError,
    DataModel,
    Example,
    Header,
    Integration,
    Property,
    Scenario,
    TopicBinding,
)
from flowintegrations.cli import main
from flowintegrations.model import Matcher
from flowintegrations.model.examples import is_iso_timestamp
from flowintegrations.validation import example_problems

ROOT = Path(__file__).resolve().parents[1]


def catalog_with(example: dict[str, Any], **scenario: Any) -> dict[str, Any]:
    """A catalog whose one scenario has ``example`` (and the other scenario keys given)."""
    return {
        "integrations": [
            {
                "name": "N",
                "identifier": "n",
                "scenarios": [{"name": "S", "identifier": "s", "examples": [example], **scenario}],
            }
        ]
    }


# Structure -------------------------------------------------------------------------------


def test_an_example_expects_one_outcome() -> None:
    """An example that gives both a reply and a dead-letter stage is a structural error."""
    with pytest.raises(
        CatalogError,
        match=r"^\$\.deadLetter: an example expects one outcome, but gives reply and deadLetter$",
    ):
        Example(name="a", request={}, reply={"x": 1}, dead_letter="request")


def test_an_unknown_dead_letter_stage_is_named_with_the_known_ones() -> None:
    """A dead-letter stage must be one where the runtime can fail."""
    with pytest.raises(
        CatalogError,
        match=r"^\$\.deadLetter: unknown dead-letter stage 'later' \(known: 'headers', "
        r"'decode', 'request', 'handler', 'reply'\)$",
    ):
        Example(name="a", request={}, dead_letter="later")


def test_an_unknown_matcher_is_reported_at_its_path() -> None:
    """A "$match" of an unknown kind is reported with the path of its key."""
    with pytest.raises(
        CatalogError,
        match=r"^\$\.reply\.x\['\$match'\]: unknown matcher 'anything' \(known: 'any', "
        r"'any-string', 'iso-timestamp', 'regex'\)$",
    ):
        Example(name="a", request={}, reply={"x": {"$match": "anything"}})


def test_a_regex_matcher_needs_a_pattern() -> None:
    """A regex matcher without a pattern is reported inside arrays too."""
    with pytest.raises(
        CatalogError,
        match=r"^\$\.reply\.x\[0\]\.pattern: a 'regex' matcher needs a 'pattern' string, got None$",
    ):
        Example(name="a", request={}, reply={"x": [{"$match": "regex"}]})


def test_an_invalid_regular_expression_is_a_load_time_error() -> None:
    """A pattern that does not compile is reported when the example is made."""
    with pytest.raises(
        CatalogError,
        match=r"^\$\.reply\.x\.pattern: invalid regular expression '\(': missing \), "
        r"unterminated subpattern at position 0$",
    ):
        Example(name="a", request={}, reply={"x": {"$match": "regex", "pattern": "("}})


def test_a_matcher_takes_only_its_own_keys() -> None:
    """A key a matcher does not know is an error, not silently ignored."""
    with pytest.raises(
        CatalogError,
        match=r"^\$\.reply\.x\.pattern: the 'any-string' matcher has no key 'pattern'$",
    ):
        Example(name="a", request={}, reply={"x": {"$match": "any-string", "pattern": "x"}})


def test_an_expected_error_is_a_string_or_a_matcher() -> None:
    """An expected error given as a plain object is rejected."""
    with pytest.raises(
        CatalogError,
        match=r"^\$\.error: an expected error is a message string or a matcher, got an object "
        r"without '\$match'$",
    ):
        Example(name="a", request={}, error={"message": "x"})


def test_example_names_are_unique_within_a_scenario() -> None:
    """Two examples of one scenario with the same name are reported with both places."""
    with pytest.raises(
        CatalogError,
        match=r"^\$\.examples\[1\]\.name: duplicate example 'a' \(first at index 0\)$",
    ):
        Scenario("S", "s", examples=[Example(name="a", request={}), Example(name="a", request={})])


def test_an_error_example_needs_a_scenario_with_error_replies() -> None:
    """Expecting an error reply from a scenario that never sends one is an error."""
    with pytest.raises(
        CatalogError,
        match=r"^\$\.examples\[0\]\.error: example 'a' expects an error reply, but scenario "
        r"'s' does not send error replies \(errorReply is false\)$",
    ):
        Scenario("S", "s", examples=[Example(name="a", request={}, error="boom")])


def test_expects_names_the_outcome() -> None:
    """`expects` says which outcome an example describes."""
    expected = ["reply", "error", "dead_letter", "nothing"]
    actual = [
        Example(name="a", request={}, reply={}).expects,
        Example(name="a", request={}, error="boom").expects,
        Example(name="a", request={}, dead_letter="handler").expects,
        Example(name="a", request={}).expects,
    ]
    assert expected == actual


# Matchers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-22T15:00:00Z",
        "2026-11-22T15:00:00+02:00",
        "2026-11-22T15:00",
        "2026-11-22 15:00:00.123456789",
    ],
)
def test_iso_timestamps_are_recognised(value: str) -> None:
    """Dates with times, with or without seconds, fractions and offsets, are timestamps."""
    assert is_iso_timestamp(value) is True


@pytest.mark.parametrize("value", ["2026-11-22", "2026-13-01T00:00:00Z", "tomorrow", 1700000000])
def test_other_values_are_not_iso_timestamps(value: object) -> None:
    """A bare date, an impossible month, prose and a number are not timestamps."""
    assert is_iso_timestamp(value) is False


def test_a_regex_matcher_searches_strings_only() -> None:
    """A regex matcher finds its pattern anywhere in a string and never matches a number."""
    matcher = Matcher.from_json({"$match": "regex", "pattern": "[0-9]+$"})
    expected = [True, False, False]
    actual = [matcher.matches("otp-42"), matcher.matches("42x"), matcher.matches(42)]
    assert expected == actual


# The catalog file ------------------------------------------------------------------------


def test_examples_round_trip_through_the_catalog_file() -> None:
    """Dumping a catalog with examples and loading it back gives the same catalog."""
    example = Example(
        name="login",
        request={"recipient": "ana@example.com"},
        headers={"processInstanceId": "7"},
        reply={"otpId": {"$match": "regex", "pattern": "^otp-"}},
        description="why",
    )
    catalog = Catalog([Integration("N", "n", scenarios=[Scenario("S", "s", examples=[example])])])
    assert Catalog.load(catalog.dump()) == catalog
    assert catalog.dump()["integrations"][0]["scenarios"][0]["examples"] == [
        {
            "name": "login",
            "request": {"recipient": "ana@example.com"},
            "headers": {"processInstanceId": "7"},
            "reply": {"otpId": {"$match": "regex", "pattern": "^otp-"}},
            "description": "why",
        }
    ]


def test_the_catalog_file_spells_dead_letter_in_camel_case() -> None:
    """The wire key of ``dead_letter`` is ``deadLetter``."""
    catalog = Catalog.load(catalog_with({"name": "e", "request": {}, "deadLetter": "request"}))
    assert catalog.integration("n").scenario("s").examples[0].dead_letter == "request"


def test_example_header_values_are_strings_in_the_file() -> None:
    """A header value that is not a string is reported with its catalog path."""
    data = catalog_with({"name": "e", "request": {}, "headers": {"a": 1}})
    with pytest.raises(
        CatalogError,
        match=r"^\$\.integrations\[0\]\.scenarios\[0\]\.examples\[0\]\.headers\.a: expected a "
        r"string, got the number 1$",
    ):
        Catalog.load(data)


def test_an_example_without_a_request_is_reported() -> None:
    """The request is required."""
    with pytest.raises(
        CatalogError,
        match=r"^\$\.integrations\[0\]\.scenarios\[0\]\.examples\[0\]\.request: a required key "
        r"is missing$",
    ):
        Catalog.load(catalog_with({"name": "e"}))


# Checking examples against their models --------------------------------------------------

CHECKED = Scenario(
    "S",
    "s",
    topics=[TopicBinding("o", "ai.flowx.dev.engine.receive.i")],
    output_model=DataModel([Property.string("name", mandatory=True)]),
    input_model=DataModel(
        [Property.number("count", mandatory=True), Property.enum("kind", ["A", "B"])]
    ),
    headers=[Header("processInstanceId", mandatory=True), Header("tenant", mandatory=True)],
)


def problems_of(*examples: Example) -> list[str]:
    """The problems ``example_problems`` finds in CHECKED with these examples."""
    scenario = attrs.evolve(CHECKED, examples=examples)
    return [str(p) for p in example_problems(Integration("I", "i", scenarios=[scenario]))]


def test_a_valid_example_has_no_problems() -> None:
    """Request, headers and reply that fit their models (matchers included) pass."""
    example = Example(
        name="ok",
        request={"name": "x"},
        headers={"tenant": "t"},
        reply={"count": {"$match": "any"}, "kind": {"$match": "regex", "pattern": "A"}},
    )
    assert problems_of(example) == []


def test_an_invalid_request_is_a_problem() -> None:
    """A request that breaks the output model is reported under the example's request."""
    example = Example(name="e", request={"name": 3}, headers={"tenant": "t"}, reply={"count": 1})
    assert problems_of(example) == [
        "$.scenarios[0].examples[0].request.name: the request breaks the scenario's output "
        "model: must be a string, got 3"
    ]


def test_an_invalid_request_is_fine_when_it_is_expected_to_be_dead_lettered() -> None:
    """An example of an invalid request that expects the dead letter is consistent."""
    example = Example(name="e", request={}, headers={"tenant": "t"}, dead_letter="request")
    assert problems_of(example) == []


def test_a_valid_request_expected_to_be_dead_lettered_at_request_is_a_problem() -> None:
    """Expecting a request-stage dead letter for a valid request cannot come true."""
    example = Example(
        name="e", request={"name": "x"}, headers={"tenant": "t"}, dead_letter="request"
    )
    assert problems_of(example) == [
        "$.scenarios[0].examples[0].deadLetter: example 'e' expects a dead letter at stage "
        "'request', but its request is valid"
    ]


def test_a_missing_mandatory_header_is_a_problem() -> None:
    """Declared mandatory headers must be in the example (processInstanceId is added)."""
    example = Example(name="e", request={"name": "x"}, reply={"count": 2})
    assert problems_of(example) == [
        "$.scenarios[0].examples[0].headers.tenant: the header is mandatory but missing"
    ]


def test_an_expected_reply_that_breaks_the_input_model_is_a_problem() -> None:
    """An expected reply with a value the input model forbids is reported at its path."""
    example = Example(
        name="e", request={"name": "x"}, headers={"tenant": "t"}, reply={"count": 2, "kind": "C"}
    )
    assert problems_of(example) == [
        "$.scenarios[0].examples[0].reply.kind: the expected reply breaks the scenario's "
        "input model: must be one of 'A', 'B'; got 'C'"
    ]


def test_a_string_matcher_where_a_number_is_due_is_a_problem() -> None:
    """A matcher that only accepts strings can never match a NUMBER property."""
    example = Example(
        name="e",
        request={"name": "x"},
        headers={"tenant": "t"},
        reply={"count": {"$match": "any-string"}},
    )
    assert problems_of(example) == [
        "$.scenarios[0].examples[0].reply.count: the matcher accepts any string, but the "
        "input model says the value must be a number"
    ]


def test_check_reports_example_problems_with_their_catalog_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`flowintegrations check` exits 1 and lists each example problem with its path."""
    data = catalog_with(
        {"name": "e", "request": {"name": 3}},
        outputModel={"properties": [{"name": "name", "type": "STRING"}]},
    )
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert main(["check", str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{path}: 1 problem(s)",
        "  $.integrations[0].scenarios[0].examples[0].request.name: the request breaks the "
        "scenario's output model: must be a string, got 3",
    ]


def test_the_example_catalog_has_examples_for_every_notifications_scenario() -> None:
    """The shipped catalog documents each notifications scenario with examples."""
    catalog = Catalog.load(ROOT / "examples" / "catalog.json")
    counts = {s.identifier: len(s.examples) for s in catalog.integration("notifications").scenarios}
    assert counts == {"generate-otp": 3, "send-email": 3}
