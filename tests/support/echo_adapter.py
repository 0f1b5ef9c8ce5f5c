"""An adapter for the subprocess tests: it echoes a request's ``n`` back, a little slowly.

Run as ``python -m flowintegrations run tests/support/echo_adapter.py:app --bootstrap ...``.
Its topics and consumer group come from the environment, so that every test uses fresh
ones: ``ECHO_OUT_TOPIC``, ``ECHO_IN_TOPIC`` and ``ECHO_GROUP_ID`` (environment ``prod`` uses
those topics with ``.prod`` appended). ``ECHO_DELAY`` (seconds,
default 0.002) slows each request, and only about ``ECHO_MAX_IN_FLIGHT`` (default 400)
records are fetched ahead, 100 at a time, so that a stop mid-stream leaves work for the next
run: a stopping app finishes every record it has fetched. ``ECHO_EXACTLY_ONCE=1`` runs it
with ``exactly_once=True``.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from flowintegrations import (
    App,
    DataModel,
    Header,
    Integration,
    Property,
    Scenario,
    TopicBinding,
)

OUT_TOPIC = os.environ.get("ECHO_OUT_TOPIC", "ai.flowx.test.plugin.echo.v1")
IN_TOPIC = os.environ.get("ECHO_IN_TOPIC", "ai.flowx.test.engine.receive.echo.v1")
DELAY = float(os.environ.get("ECHO_DELAY", "0.002"))
MAX_IN_FLIGHT = int(os.environ.get("ECHO_MAX_IN_FLIGHT", "400"))

ECHO = Scenario(
    "Echo",
    "echo",
    topics=(
        TopicBinding(OUT_TOPIC, IN_TOPIC),
        TopicBinding(f"{OUT_TOPIC}.prod", f"{IN_TOPIC}.prod", environment="prod"),
    ),
    output_model=DataModel((Property.number("n", mandatory=True),)),
    input_model=DataModel((Property.number("n", mandatory=True),)),
    headers=(Header("processInstanceId", mandatory=True), Header("jwt", secret=True)),
)

ECHO_INTEGRATION = Integration("Echo plugin", "echo", scenarios=(ECHO,))

app = App(
    ECHO_INTEGRATION,
    group_id=os.environ.get("ECHO_GROUP_ID"),
    max_in_flight=MAX_IN_FLIGHT,
    max_batch=100,
    exactly_once=os.environ.get("ECHO_EXACTLY_ONCE") == "1",
)


@app.handler(ECHO)
async def echo(payload: dict[str, Any]) -> dict[str, Any]:
    """Answer ``{"n": n}`` after ``DELAY`` seconds."""
    await asyncio.sleep(DELAY)
    return {"n": payload["n"]}
