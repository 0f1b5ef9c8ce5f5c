"""A FlowService (not an App) for the CLI tests: one action that sleeps."""

from __future__ import annotations

import asyncio
from typing import Any

from flowintegrations import App, DataModel, Integration, Property, Scenario
from flowintegrations.flow import FlowService

SLOW = Scenario(
    "Slow",
    "slow",
    output_model=DataModel((Property.number("seconds", mandatory=True),)),
    input_model=DataModel((Property.string("status"),)),
)
app = App(Integration("Slow", "slow", scenarios=(SLOW,)))


@app.handler(SLOW)
async def slow(payload: dict[str, Any]) -> dict[str, Any]:
    """Sleep as long as asked, then answer done."""
    await asyncio.sleep(payload["seconds"])
    return {"status": "done"}


service = FlowService(app, path="/fs/slow")
