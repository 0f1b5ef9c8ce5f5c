"""Action outcomes: declared in describe, chosen by the handler's reply, answered by name."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

import pytest

from flowintegrations import (
    App,
    DataModel,
    HandlerRegistrationError,
    Integration,
    Property,
    Retry,
    Scenario,
)
from flowintegrations.flow import ActionOutcome, FlowService, Outcomes
from flowintegrations.flow.outcomes import OUTCOME_NAMESPACE
from support.asgi import session

LOANS = Integration(
    "Loans",
    "loans",
    scenarios=(
        Scenario(
            "Approve loan",
            "approve-loan",
            output_model=DataModel((Property.number("amount", mandatory=True),)),
            input_model=DataModel(
                (
                    Property.enum("decision", ("approved", "rejected", "maybe")),
                    Property.string("note"),
                )
            ),
        ),
    ),
)


def loans_app() -> App:
    """Approves up to 1000, rejects above, answers "maybe" at exactly 500, nothing at 0."""
    app = App(LOANS, retry=Retry(attempts=1))

    @app.handler("approve-loan")
    def approve(payload: dict[str, Any]) -> dict[str, Any]:
        amount = payload["amount"]
        if amount == 0:
            return {"note": "nothing asked"}
        if amount == 500:
            return {"decision": "maybe"}
        return {"decision": "approved" if amount <= 1000 else "rejected"}

    return app


def by_decision() -> Outcomes:
    """Two outcomes chosen by the reply's decision property."""
    return Outcomes(ActionOutcome("approved", label="Approved"), "rejected", by="decision")


def ask(amount: int, outcomes: Mapping[str, Outcomes]) -> Any:
    """POST the action with ``amount``; the HTTP answer."""
    service = FlowService(loans_app(), outcomes=outcomes)
    inputs = [
        {"developerName": "amount", "contentType": "ContentNumber", "contentValue": str(amount)}
    ]
    with session(service) as client:
        return client.post("/actions/approve-loan", json={"inputs": inputs})


APPROVED = str(uuid.uuid5(OUTCOME_NAMESPACE, "approve-loan\napproved"))
REJECTED = str(uuid.uuid5(OUTCOME_NAMESPACE, "approve-loan\nrejected"))


def test_describe_lists_the_outcomes_in_order() -> None:
    """serviceActionOutcomes: a stable UUID, developerName, label (the name) and order."""
    service = FlowService(loans_app(), outcomes={"approve-loan": by_decision()})
    (action,) = service.describe()["actions"]
    assert action["serviceActionOutcomes"] == [
        {"id": APPROVED, "developerName": "approved", "label": "Approved", "order": 0},
        {"id": REJECTED, "developerName": "rejected", "label": "rejected", "order": 1},
    ]


def test_an_outcome_may_bring_its_own_id() -> None:
    """ActionOutcome(id=...) is used as given; an id that is not a UUID is a ValueError."""
    own = "0b9d7c2e-27a4-4f6e-8c3b-6d0f6f1e2a10"
    outcomes = Outcomes(ActionOutcome("approved", id=own), by="decision")
    assert outcomes.describe("approve-loan")[0]["id"] == own
    expected = "an outcome's id is a UUID (the platform holds it as one), got 'approved-1'"
    with pytest.raises(ValueError, match=re.escape(expected)):
        ActionOutcome("approved", id="approved-1")


def test_the_reply_chooses_the_outcome() -> None:
    """The outcome the reply's decision names is answered by its id as selectedOutcomeId."""
    approved = ask(100, {"approve-loan": by_decision()}).json()
    rejected = ask(5000, {"approve-loan": by_decision()}).json()
    assert (approved["selectedOutcomeId"], rejected["selectedOutcomeId"]) == (
        APPROVED,
        REJECTED,
    )


def test_a_function_of_the_reply_may_choose() -> None:
    """by= a function of the reply payload."""
    outcomes = Outcomes(
        "small",
        "large",
        by=lambda reply: "small" if reply.get("decision") == "approved" else "large",
    )
    expected = str(uuid.uuid5(OUTCOME_NAMESPACE, "approve-loan\nsmall"))
    assert ask(100, {"approve-loan": outcomes}).json()["selectedOutcomeId"] == expected


def test_a_reply_without_a_choice_selects_none() -> None:
    """No decision in the reply: selectedOutcomeId is null, the answer a FORWARD."""
    answer = ask(0, {"approve-loan": by_decision()}).json()
    assert (answer["invokeType"], answer["selectedOutcomeId"]) == ("FORWARD", None)


def test_an_undeclared_choice_is_a_500() -> None:
    """A decision that names no declared outcome: the handler's bug, 500, never sent."""
    response = ask(500, {"approve-loan": by_decision()})
    assert (response.status_code, response.json()["message"]) == (
        500,
        "the handler of 'approve-loan': the reply chose the outcome 'maybe', not one of "
        "approved, rejected",
    )


def test_an_action_without_outcomes_answers_null() -> None:
    """Plain actions are unchanged: selectedOutcomeId null, serviceActionOutcomes empty."""
    assert ask(100, {}).json()["selectedOutcomeId"] is None
    (action,) = FlowService(loans_app()).describe()["actions"]
    assert action["serviceActionOutcomes"] == []


def test_outcomes_for_an_unknown_action_are_refused() -> None:
    """A key that names no action: HandlerRegistrationError at build, naming the actions."""
    service = FlowService(loans_app(), outcomes={"nope": by_decision()})
    expected = "outcomes for 'nope': no action is called that (actions: approve-loan)"
    with pytest.raises(HandlerRegistrationError, match=re.escape(expected)):
        service.build()


def test_outcomes_chosen_by_a_property_the_reply_lacks_are_refused() -> None:
    """by= must name a STRING or ENUM property of the reply model."""
    service = FlowService(loans_app(), outcomes={"approve-loan": Outcomes("a", by="amount")})
    expected = (
        "the outcomes of 'approve-loan' are chosen by 'amount', which must be a STRING or ENUM "
        "property of its reply model"
    )
    with pytest.raises(HandlerRegistrationError, match=re.escape(expected)):
        service.build()


@pytest.mark.parametrize(
    ("names", "shown"), [((), "[]"), (("a", "a"), "['a', 'a']")], ids=["none", "twice"]
)
def test_outcomes_must_be_named_once_each(names: tuple[str, ...], shown: str) -> None:
    """No outcome, or a name twice: ValueError showing the names."""
    expected = f"an action declares one or more outcomes, each named once, got {shown}"
    with pytest.raises(ValueError, match=re.escape(expected)):
        Outcomes(*names, by="decision")
