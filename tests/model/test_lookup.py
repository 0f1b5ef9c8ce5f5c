"""find_scenario: the one scenario lookup of App, EngineClient, TestClient and the pipeline."""

from __future__ import annotations

import pytest

from flowintegrations import Integration, Scenario
from flowintegrations.errors import ScenarioNotFoundError
from flowintegrations.model import find_scenario

PING = Scenario("Ping", "ping")
PING_TOO = Scenario("Ping", "ping")
PONG = Scenario("Pong", "pong")
FIRST = Integration("First", "first", scenarios=(PING, PONG))
SECOND = Integration("Second", "second", scenarios=(PING_TOO,))


def test_a_scenario_object_is_found_in_its_integration() -> None:
    """A Scenario given as itself is found with the integration that holds it."""
    assert find_scenario((FIRST,), PONG) == (FIRST, PONG)


def test_an_identifier_is_found_when_only_one_integration_has_it() -> None:
    """A bare identifier names the scenario when it is unique."""
    assert find_scenario((FIRST, SECOND), "pong") == (FIRST, PONG)


def test_integration_slash_scenario_picks_among_equal_identifiers() -> None:
    """'integration/scenario' resolves an identifier two integrations share."""
    assert find_scenario((FIRST, SECOND), "second/ping") == (SECOND, PING_TOO)


def test_an_ambiguous_identifier_is_refused() -> None:
    """An identifier two integrations have is refused, saying how to write it."""
    with pytest.raises(
        ScenarioNotFoundError,
        match=r"^scenario 'ping' is ambiguous; write it as 'integration/scenario'$",
    ):
        find_scenario((FIRST, SECOND), "ping")


def test_an_unknown_identifier_names_who_asked() -> None:
    """An identifier nobody has is a LookupError naming the owner."""
    with pytest.raises(LookupError, match=r"^no integration of this app has a scenario 'x'$"):
        find_scenario((FIRST,), "x", owner="this app")


def test_a_scenario_of_another_integration_is_refused() -> None:
    """A Scenario object none of the integrations holds is refused, listing them."""
    with pytest.raises(
        ScenarioNotFoundError,
        match=r"^scenario 'pong' belongs to none of this client's integrations \('second'\)",
    ):
        find_scenario((SECOND,), PONG, owner="this client")
