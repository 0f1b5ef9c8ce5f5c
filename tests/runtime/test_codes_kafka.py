"""Enumeration codes at the handler's boundary, on the real broker."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from flowintegrations import EngineClient, Retry
from support.codes import CRM, echo_app
from support.kafka import fresh, integration_on_fresh_topics, kafka_transport

pytestmark = pytest.mark.kafka


def test_request_and_reply_are_translated_on_kafka(kafka_bootstrap: str) -> None:
    """Through Kafka too, the handler speaks CRM's codes and the engine its own values."""
    integration = integration_on_fresh_topics(CRM)

    async def main() -> tuple[list[Any], Any]:
        transport = kafka_transport(kafka_bootstrap)
        app, seen = echo_app(
            integration,
            transport=transport,
            group_id=fresh("crm"),
            retry=Retry(attempts=1, backoff=0.0),
        )
        engine = EngineClient(integration, transport=transport)
        try:
            await transport.start()
            await asyncio.gather(app.start(), engine.start())
            reply = await engine.request(
                "lookup", {"country": "DE"}, headers={"processInstanceId": "1"}, timeout=30
            )
        finally:
            await engine.stop()
            await app.stop()
            await transport.stop()
        return seen, reply.payload

    assert asyncio.run(main()) == ([{"country": "DEU"}], {"address": {"country": "DE"}})
