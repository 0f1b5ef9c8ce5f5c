"""TopicBinding: legal Kafka topic names, environments, and how a scenario picks its binding."""

from __future__ import annotations

import attrs
import pytest

from flowintegrations import CatalogError, Scenario, TopicBinding
from flowintegrations.errors import CatalogProblem
from flowintegrations.model import topic_name_problem
from support.exact import exactly


def test_binding_defaults() -> None:
    """A binding names the out topic; the in topic and the environment default to None."""
    binding = TopicBinding("ai.flowx.dev.plugin.otp.v1")
    assert (
        binding.out_topic,
        binding.in_topic,
        binding.environment,
    ) == ("ai.flowx.dev.plugin.otp.v1", None, None)


def test_binding_is_frozen() -> None:
    """A TopicBinding cannot be changed once built."""
    binding = TopicBinding("out")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        binding.out_topic = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    "name", ["a", "ai.flowx.dev.plugin.v1", "A-Z_0-9", "...", "x" * 249, "-", "_"]
)
def test_legal_topic_names(name: str) -> None:
    """Letters, digits, '.', '_' and '-' up to 249 characters make a legal topic name."""
    assert topic_name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "a topic name must be a non-empty string, got ''"),
        (None, "a topic name must be a non-empty string, got None"),
        (".", "'.' is not a legal topic name"),
        ("..", "'..' is not a legal topic name"),
        ("x" * 250, "topic name is 250 characters long, the limit is 249"),
        (
            "a b/c",
            "topic name 'a b/c' has illegal characters ' /' "
            "(only letters, digits, '.', '_' and '-')",
        ),
        (
            "ünï",
            "topic name 'ünï' has illegal characters 'ïü' (only letters, digits, '.', '_' and '-')",
        ),
    ],
)
def test_illegal_topic_names(name: str | None, problem: str) -> None:
    """An illegal topic name is explained: empty, '.', '..', too long, illegal characters."""
    assert problem == topic_name_problem(name)


def test_illegal_out_topic_is_rejected() -> None:
    """A binding with an illegal out topic is a CatalogError at $.out."""
    message = "$.out: '..' is not a legal topic name"
    with pytest.raises(CatalogError, match=exactly(message)):
        TopicBinding("..")


def test_illegal_in_topic_is_rejected() -> None:
    """A binding with an illegal in topic is a CatalogError at $.in."""
    message = "$.in: topic name is 250 characters long, the limit is 249"
    with pytest.raises(CatalogError, match=exactly(message)):
        TopicBinding("out", "x" * 250)


def test_both_illegal_topics_are_reported() -> None:
    """Both topics of a binding are checked, and both problems reported with the value."""
    with pytest.raises(CatalogError) as caught:
        TopicBinding(".", "a b")
    expected = [
        ("$.out", "'.' is not a legal topic name", "."),
        (
            "$.in",
            "topic name 'a b' has illegal characters ' ' (only letters, digits, '.', '_' and '-')",
            "a b",
        ),
    ]
    assert expected == [(p.path, p.message, p.value) for p in caught.value.problems]


def test_empty_environment_is_rejected() -> None:
    """An environment is a non-empty string, or None for every environment."""
    message = (
        "$.environment: an environment is a non-empty string or None (every environment), got ''"
    )
    with pytest.raises(CatalogError, match=exactly(message)):
        TopicBinding("out", environment="")


# Scenario.binding ------------------------------------------------------------------------

DEFAULT = TopicBinding("out.default", "in.default")
DEV = TopicBinding("out.dev", "in.dev", environment="dev")
PROD = TopicBinding("out.prod", "in.prod", environment="prod")


def test_exact_environment_wins_over_the_default() -> None:
    """The binding of the asked environment is chosen even when a default comes first."""
    scenario = Scenario("S", "s", topics=(DEFAULT, DEV, PROD))
    assert scenario.binding("dev") == DEV


def test_default_binding_serves_other_environments() -> None:
    """The environment=None binding serves an environment without its own binding."""
    scenario = Scenario("S", "s", topics=(DEV, DEFAULT))
    assert scenario.binding("uat") == DEFAULT


def test_default_binding_serves_no_environment() -> None:
    """Scenario.binding(None) is the default binding."""
    scenario = Scenario("S", "s", topics=(DEV, DEFAULT))
    assert scenario.binding(None) == DEFAULT


def test_no_fitting_binding_names_the_scenario_and_its_environments() -> None:
    """Without an exact or default binding, the error names the scenario and what it has."""
    scenario = Scenario("S", "otp", topics=(DEV, PROD))
    message = "$.topics: scenario 'otp' has no topics for environment 'uat' (it has: 'dev', 'prod')"
    with pytest.raises(CatalogError, match=exactly(message)):
        scenario.binding("uat")


def test_no_binding_at_all() -> None:
    """A scenario without bindings says it has none."""
    message = "$.topics: scenario 'otp' has no topics for environment None (it has: none)"
    with pytest.raises(CatalogError, match=exactly(message)):
        Scenario("S", "otp").binding(None)


def test_two_bindings_for_one_environment_are_rejected() -> None:
    """An environment has one binding per scenario."""
    message = "$.topics[1].environment: two topic bindings for 'dev' in scenario 's'"
    with pytest.raises(CatalogError, match=exactly(message)):
        Scenario("S", "s", topics=(DEV, TopicBinding("other", environment="dev")))


def test_two_default_bindings_are_rejected() -> None:
    """A scenario has at most one default (environment=None) binding."""
    with pytest.raises(CatalogError) as caught:
        Scenario("S", "s", topics=(DEFAULT, DEV, TopicBinding("other")))
    expected = (
        CatalogProblem(
            "$.topics[2].environment",
            "two topic bindings for every environment (None) in scenario 's'",
        ),
    )
    assert expected == caught.value.problems


def test_a_binding_may_have_an_in_topic_only() -> None:
    """A binding without an out topic (a receive task's in topic) is allowed."""
    binding = TopicBinding(in_topic="ai.flowx.dev.engine.receive.signed.v1")
    assert (binding.out_topic, binding.in_topic) == (None, "ai.flowx.dev.engine.receive.signed.v1")


def test_a_binding_needs_a_topic() -> None:
    """A binding with neither an out nor an in topic is a CatalogError."""
    with pytest.raises(CatalogError) as caught:
        TopicBinding(environment="dev")
    assert str(caught.value) == (
        "$.out: a topic binding needs an out topic, an in topic, or both; it has neither"
    )
