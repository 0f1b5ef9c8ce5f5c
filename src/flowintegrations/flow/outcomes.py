"""Outcomes of a message action: :class:`ActionOutcome` and :class:`Outcomes`.

In Flow a message action may end on one of several declared outcomes (``approved``,
``rejected``), each a path the flow can follow. The service declares them per action
(``FlowService(app, outcomes={"approve-loan": Outcomes("approved", "rejected",
by="decision")})``): describe lists them as the action's ``serviceActionOutcomes``
(``id``, ``developerName``, ``label``, ``order``), and each FORWARD answer names the one
chosen by its id in ``selectedOutcomeId``.

Ids: the platform holds an outcome's id as a UUID, so each outcome has one: the ``id``
given to :class:`ActionOutcome`, or a UUID derived from the action's uriPart and the
outcome's name (version 5, the same on every run and every machine, so that what Flow
stored when it installed the service still matches).

The handler stays a plain handler: it picks the outcome through its reply, which is the
same on Kafka. ``by`` is the name of a property of the reply (a STRING or an ENUM of the
scenario's reply model) whose value names the outcome, or a function of the reply payload
returning the outcome's name. No outcome (``None``, an absent property) answers
``selectedOutcomeId: null``; a name that is not declared is the handler's bug, answered
500 and never sent as a choice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from flowintegrations.errors import HandlerRegistrationError
from flowintegrations.model import PropertyType, Scenario

__all__ = ["OUTCOME_NAMESPACE", "ActionOutcome", "OutcomeError", "Outcomes", "Selector"]

Selector = Callable[[Mapping[str, Any]], "str | None"]
"""A function of a reply payload naming the outcome it chose (``None``: none)."""


OUTCOME_NAMESPACE = uuid.UUID("5b0c3c55-6a57-4f5e-9a86-2f4b8c1f0a11")
"""The namespace of the outcome ids derived from an action's uriPart and an outcome's name."""


class OutcomeError(ValueError):
    """A reply chose an outcome its action does not declare (the handler's bug: a 500)."""


def _not_empty(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value:
        msg = f"an outcome's {attribute.name} must be non-empty text, got {value!r}"
        raise ValueError(msg)


def _uuid_text(instance: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is None:
        return
    try:
        uuid.UUID(str(value))
    except ValueError:
        msg = f"an outcome's id is a UUID (the platform holds it as one), got {value!r}"
        raise ValueError(msg) from None


@attrs.frozen
class ActionOutcome:
    """One outcome of an action: its ``name`` (Flow's developerName), ``label`` and ``id``.

    ``id`` (UUID text) is derived from the action and the name when not given.
    """

    name: str = attrs.field(validator=_not_empty)
    label: str | None = attrs.field(default=None, kw_only=True)
    id: str | None = attrs.field(default=None, kw_only=True, validator=_uuid_text)

    def id_in(self, uri_part: str) -> str:
        """This outcome's id in the action at ``uri_part``."""
        if self.id is not None:
            return str(uuid.UUID(self.id))
        return str(uuid.uuid5(OUTCOME_NAMESPACE, f"{uri_part}\n{self.name}"))

    def describe(self, uri_part: str, order: int) -> dict[str, Any]:
        """This outcome as a ``serviceActionOutcomes`` entry of the action at ``uri_part``."""
        return {
            "id": self.id_in(uri_part),
            "developerName": self.name,
            "label": self.label or self.name,
            "order": order,
        }


def _outcomes(values: tuple[ActionOutcome | str, ...]) -> tuple[ActionOutcome, ...]:
    return tuple(v if isinstance(v, ActionOutcome) else ActionOutcome(v) for v in values)


@attrs.frozen(init=False)
class Outcomes:
    """The outcomes an action declares, in order, and how its reply chooses one (``by``)."""

    outcomes: tuple[ActionOutcome, ...]
    by: str | Selector

    def __init__(self, *outcomes: ActionOutcome | str, by: str | Selector) -> None:
        declared = _outcomes(outcomes)
        names = [o.name for o in declared]
        if not declared or len(set(names)) != len(names):
            msg = f"an action declares one or more outcomes, each named once, got {names!r}"
            raise ValueError(msg)
        self.__attrs_init__(declared, by)

    @property
    def names(self) -> tuple[str, ...]:
        """The declared outcomes' names, in order."""
        return tuple(o.name for o in self.outcomes)

    def describe(self, uri_part: str) -> list[dict[str, Any]]:
        """The ``serviceActionOutcomes`` of the action at ``uri_part``."""
        return [outcome.describe(uri_part, order) for order, outcome in enumerate(self.outcomes)]

    def check(self, scenario: Scenario) -> None:
        """Raise HandlerRegistrationError when ``by`` names no text property of the reply."""
        if not isinstance(self.by, str):
            return
        found = next((p for p in scenario.input_model.properties if p.name == self.by), None)
        if found is None or found.type not in (PropertyType.STRING, PropertyType.ENUM):
            msg = (
                f"the outcomes of {scenario.identifier!r} are chosen by {self.by!r}, which "
                "must be a STRING or ENUM property of its reply model"
            )
            raise HandlerRegistrationError(msg)

    def select(self, reply: Mapping[str, Any] | None, uri_part: str) -> str | None:
        """The id of the outcome ``reply`` chose (``None``: none) in the action at ``uri_part``.

        Raises :class:`OutcomeError` when the reply names an outcome not declared.
        """
        payload = reply or {}
        chosen = payload.get(self.by) if isinstance(self.by, str) else self.by(payload)
        if chosen is None:
            return None
        for outcome in self.outcomes:
            if outcome.name == chosen:
                return outcome.id_in(uri_part)
        shown = repr(chosen)[:100]
        msg = f"the reply chose the outcome {shown}, not one of {', '.join(self.names)}"
        raise OutcomeError(msg)
