"""Adapters the Flow service tests serve: the example catalog's, and one with every type."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from flowintegrations import (
    App,
    Catalog,
    Context,
    DataModel,
    Integration,
    Property,
    PropertyType,
    Retry,
    Scenario,
)

ROOT = Path(__file__).resolve().parents[2]
CATALOG = Catalog.load(ROOT / "examples" / "catalog.json")


def catalog_app() -> App:
    """Every scenario of ``examples/catalog.json`` with a simple handler."""
    app = App(*CATALOG.integrations, retry=Retry(attempts=1))

    @app.handler("generate-otp")
    def generate_otp(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return {"otpId": f"otp-{ctx.process_instance_id}", "expiresAt": "2026-11-22T15:00:00Z"}

    @app.handler("send-email")
    async def send_email(payload: dict[str, Any]) -> dict[str, Any]:
        return {"notificationId": f"ntf-{len(payload['recipients'])}", "status": "QUEUED"}

    @app.handler("generate-document")
    def generate_document(payload: dict[str, Any]) -> dict[str, Any]:
        city = payload["address"]["city"]
        return {"documentId": "doc-1", "downloadPath": f"/docs/{city}.pdf", "pages": 2}

    @app.handler("search-customer")
    def search_customer(payload: dict[str, Any]) -> dict[str, Any]:
        return {"customers": [], "total": 0}

    return app


ADDRESS = DataModel(
    (
        Property.string("street", mandatory=True),
        Property.number("number"),
    )
)
EVERYTHING = DataModel(
    (
        Property.string("text", mandatory=True),
        Property.number("count"),
        Property.number("ratio"),
        Property.boolean("flag"),
        Property.enum("color", ("RED", "GREEN")),
        Property.string("when"),
        Property.object(
            "box", (Property.string("label"), Property.object("inner", (Property.number("n"),)))
        ),
        Property.object_ref("home", "address"),
        Property.array_ref("places", "address"),
        Property.array("tags", PropertyType.STRING),
        Property.array("scores", PropertyType.NUMBER),
        Property.array("switches", PropertyType.BOOLEAN),
        Property.array("items", PropertyType.OBJECT, properties=(Property.string("sku"),)),
    ),
    additional_properties=False,
)
SLOW = DataModel((Property.number("seconds", mandatory=True),))
DONE = DataModel((Property.string("status"), Property.string("error")))

KITCHEN = Integration(
    "Kitchen sink",
    "kitchen",
    definitions={"address": ADDRESS},
    scenarios=(
        Scenario(
            "Echo",
            "echo",
            description="Answers with what it was sent.",
            output_model=EVERYTHING,
            input_model=EVERYTHING,
        ),
        Scenario("Slow", "slow", output_model=SLOW, input_model=DONE),
        Scenario("Broken", "broken", output_model=SLOW, input_model=DONE),
        Scenario(
            "Broken politely",
            "broken-politely",
            output_model=SLOW,
            input_model=DONE,
            error_reply=True,
        ),
        Scenario("Bad reply", "bad-reply", output_model=SLOW, input_model=EVERYTHING),
        Scenario("Flaky", "flaky", output_model=DataModel(), input_model=DONE),
    ),
)


def kitchen_app() -> App:
    """Handlers for every kitchen scenario: echo, sleep, fail, fail politely, reply badly."""
    app = App(KITCHEN, retry=Retry(attempts=2, backoff=0.0))

    @app.handler("echo")
    def echo(payload: dict[str, Any]) -> dict[str, Any]:
        return payload

    @app.handler("slow")
    async def slow(payload: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(payload["seconds"])
        return {"status": "done"}

    @app.handler("broken")
    def broken(payload: dict[str, Any]) -> dict[str, Any]:
        msg = "the printer is on fire"
        raise RuntimeError(msg)

    @app.handler("broken-politely")
    def broken_politely(payload: dict[str, Any]) -> dict[str, Any]:
        msg = "no paper left"
        raise RuntimeError(msg)

    @app.handler("flaky")
    def flaky(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
        if ctx.attempt == 1:
            msg = "busy, try again"
            raise ConnectionError(msg)
        return {"status": f"attempt {ctx.attempt} for {ctx.process_instance_id}"}

    @app.handler("bad-reply")
    def bad_reply(payload: dict[str, Any]) -> dict[str, Any]:
        return {"count": "not a number"}

    return app
