"""Realistic adapter-author code that must type-check under ``mypy --strict``.

It is never run by pytest (no ``test_`` prefix); it exists so that the public surface
stays pleasant to use from a strictly typed code base.
"""

from __future__ import annotations

import asyncio
from typing import Any

import attrs

from flowintegrations import (
    App,
    Catalog,
    Context,
    DataModel,
    EngineClient,
    Header,
    Integration,
    Property,
    Reply,
    Retry,
    Scenario,
    TopicBinding,
    ValidationError,
    Violation,
)
from flowintegrations.testing import TestClient
from flowintegrations.transport import InMemoryTransport, KafkaTransport, Record, Transport

LOOKUP = Scenario(
    "Look up a customer",
    "lookup",
    topics=(
        TopicBinding("ai.flowx.dev.plugin.crm.lookup.v1", "ai.flowx.dev.engine.receive.crm.v1"),
    ),
    output_model=DataModel((Property.string("customerId", mandatory=True),)),
    input_model=DataModel(
        (
            Property.string("name"),
            Property.array("tags", "STRING"),
            Property.enum("tier", ("GOLD", "SILVER")),
        )
    ),
    headers=(Header("processInstanceId", mandatory=True), Header("jwt", secret=True)),
)
CRM = Integration("CRM", "crm", scenarios=(LOOKUP,))


@attrs.frozen
class Lookup:
    """A typed request."""

    customerId: str  # noqa: N815 - the engine's field name


def build(transport: Transport | None = None) -> App:
    """An app with one sync and one async handler."""
    app = App(CRM, transport=transport, retry=Retry(attempts=2, backoff=0.1))

    @app.handler(LOOKUP)
    def lookup(request: Lookup, ctx: Context) -> dict[str, Any]:
        ctx.logger.info("looking up %s", request.customerId)
        return {"name": "Ana", "tags": ["vip"], "tier": "GOLD"}

    return app


def violations_of(payload: dict[str, Any]) -> list[str]:
    """Paths of every violation of the lookup request."""
    try:
        LOOKUP.output_model.validate(payload)
    except ValidationError as error:
        found: tuple[Violation, ...] = error.violations
        return [v.path for v in found]
    return []


def test_style() -> str:
    """TestClient from a plain function."""
    with TestClient(build()) as client:
        reply: Reply = client.request(LOOKUP, {"customerId": "c-1"})
        letters: list[Record] = client.dead_letters
        assert letters == []
        return str(reply.payload["name"])


async def engine_side(bootstrap: str | None) -> Reply:
    """The engine's side, on Kafka or in memory."""
    transport: Transport = (
        KafkaTransport(bootstrap, config={"session.timeout.ms": 6000})
        if bootstrap
        else InMemoryTransport()
    )
    async with EngineClient(CRM, transport=transport) as client:
        return await client.request(LOOKUP, {"customerId": "c-1"}, timeout=2.0)


def from_catalog(path: str) -> Scenario:
    """A scenario out of a catalog file."""
    return Catalog.load(path).integration("notifications").scenario("send-email")


if __name__ == "__main__":
    asyncio.run(engine_side(None))
