"""Realistic user code of Flow outcomes and settings: must pass mypy --strict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowintegrations import App, Context, DataModel, Integration, Property, Scenario
from flowintegrations.flow import ActionOutcome, FlowRequest, FlowService, Outcomes, Query

LOANS = Integration(
    "Loans",
    "loans",
    definitions={"loan": DataModel((Property.string("id"), Property.number("amount")))},
    scenarios=(
        Scenario(
            "Approve loan",
            "approve-loan",
            output_model=DataModel((Property.number("amount", mandatory=True),)),
            input_model=DataModel((Property.enum("decision", ("approved", "rejected")),)),
        ),
    ),
)
SETTINGS = DataModel((Property.number("limit", mandatory=True), Property.string("password")))
app = App(LOANS)


@app.handler("approve-loan")
def approve(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """A plain handler: its reply's decision is the outcome Flow follows."""
    limit: Any = ctx.configuration.get("limit", 1000)
    return {"decision": "approved" if payload["amount"] <= limit else "rejected"}


def by_note(reply: Mapping[str, Any]) -> str | None:
    """An outcome chosen by a function of the reply."""
    return "approved" if reply.get("decision") == "approved" else None


decided = Outcomes(ActionOutcome("approved", label="Approved"), "rejected", by="decision")
by_function = Outcomes("approved", by=by_note)
service = FlowService(
    app,
    configuration=SETTINGS,
    secret_configuration={"password"},
    outcomes={"approve-loan": decided},
)


@service.load("loan")
def loans(query: Query, request: FlowRequest) -> list[dict[str, Any]]:
    """Loans up to the configured limit."""
    limit: Any = request.configuration_values.get("limit", 0)
    return [{"id": "l1", "amount": limit}]


names: tuple[str, ...] = decided.names
