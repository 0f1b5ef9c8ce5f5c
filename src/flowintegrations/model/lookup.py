"""Finding a scenario among integrations: the one lookup App, EngineClient and tests use."""

from __future__ import annotations

from collections.abc import Iterable

from flowintegrations.errors import ScenarioNotFoundError
from flowintegrations.model.integration import Integration, Scenario

__all__ = ["find_scenario"]


def find_scenario(
    integrations: Iterable[Integration], scenario: Scenario | str, *, owner: str = "these"
) -> tuple[Integration, Scenario]:
    """The (integration, scenario) that ``scenario`` names among ``integrations``.

    ``scenario`` is a :class:`Scenario` of one of them, its identifier, or
    ``"integration/scenario"`` (needed when two integrations have a scenario of that
    identifier). ``owner`` names who is asking, for the message (``"this app"``). Raises
    :class:`~flowintegrations.errors.ScenarioNotFoundError` (a ``LookupError``) when none
    or more than one matches.
    """
    integrations = tuple(integrations)
    if isinstance(scenario, Scenario):
        for integration in integrations:
            if scenario in integration.scenarios:
                return integration, scenario
        known = ", ".join(repr(i.identifier) for i in integrations) or "none"
        msg = (
            f"scenario {scenario.identifier!r} belongs to none of {owner}'s integrations "
            f"({known}); pass its integration to {owner}"
        )
        raise ScenarioNotFoundError(msg)
    wanted_integration, _, wanted = scenario.rpartition("/")
    matches = [
        (i, s)
        for i in integrations
        for s in i.scenarios
        if s.identifier == wanted and wanted_integration in ("", i.identifier)
    ]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        msg = f"no integration of {owner} has a scenario {scenario!r}"
    else:
        msg = f"scenario {scenario!r} is ambiguous; write it as 'integration/scenario'"
    raise ScenarioNotFoundError(msg)
