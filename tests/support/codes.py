"""An integration whose system ('CRM') has its own codes for the engine's country values."""

from __future__ import annotations

from typing import Any

from flowintegrations import (
    App,
    DataModel,
    Enumeration,
    Integration,
    Property,
    PropertyType,
    Scenario,
    TopicBinding,
)

COUNTRY = Enumeration("country", ["RO", "DE"], codes={"CRM": {"RO": "ROU", "DE": "DEU"}})

LOOKUP = Scenario(
    "Look up a customer",
    "lookup",
    topics=[TopicBinding("ai.flowx.crm.lookup.out", "ai.flowx.engine.receive.crm.lookup")],
    output_model=DataModel(
        [
            Property("country", PropertyType.ENUM, enumeration="country", mandatory=True),
            Property(
                "visited",
                PropertyType.ARRAY,
                item_type=PropertyType.ENUM,
                enumeration="country",
            ),
        ]
    ),
    input_model=DataModel(
        [
            Property(
                "address",
                PropertyType.OBJECT,
                properties=(Property("country", PropertyType.ENUM, enumeration="country"),),
            )
        ]
    ),
)

CRM = Integration("CRM", "crm", system_name="CRM", scenarios=[LOOKUP], enumerations=[COUNTRY])


def echo_app(integration: Integration = CRM, **options: Any) -> tuple[App, list[Any]]:
    """An app whose handler records each request and answers with its country as address."""
    seen: list[Any] = []
    app = App(integration, **options)

    @app.handler(integration.scenario("lookup"))
    def lookup(payload: dict[str, Any]) -> dict[str, Any]:
        seen.append(payload)
        return {"address": {"country": payload["country"]}}

    return app, seen
