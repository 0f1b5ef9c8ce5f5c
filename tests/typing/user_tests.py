"""Realistic tests of an adapter, as its author writes them, that must type-check strictly.

Never run by pytest (the file name does not start with ``test_``): it keeps the testing kit
(fixtures, example exchanges, Kafka runs) pleasant to use from a strictly typed code base.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from flowintegrations import (
    App,
    DataModel,
    Example,
    Integration,
    Property,
    Reply,
    Scenario,
    TopicBinding,
)
from flowintegrations.testing import TestClient
from flowintegrations.testing.examples import (
    ExampleCase,
    ExampleMismatchError,
    check_example,
    example_cases,
)
from flowintegrations.testing.plugin import kafka_test_transport

QUOTE = Scenario(
    "Quote",
    "quote",
    topics=[TopicBinding("ai.flowx.dev.plugin.quote.v1", "ai.flowx.dev.engine.receive.quote.v1")],
    output_model=DataModel([Property.number("amount", mandatory=True)]),
    input_model=DataModel([Property.string("quoteId", mandatory=True)]),
    examples=[
        Example(
            name="small",
            request={"amount": 10},
            headers={"processInstanceId": "9"},
            reply={"quoteId": {"$match": "regex", "pattern": "^q-"}},
        ),
        Example(name="not-a-number", request={"amount": "ten"}, dead_letter="request"),
    ],
)
QUOTES = Integration("Quotes", "quotes", scenarios=[QUOTE])
app = App(QUOTES)


@app.handler(QUOTE)
def quote(request: dict[str, Any]) -> dict[str, Any]:
    """Quote an amount."""
    return {"quoteId": f"q-{request['amount']}"}


def test_quote(fi_test_client: Callable[..., TestClient]) -> None:
    """A test using the plugin's client factory."""
    reply: Reply = fi_test_client(app).request(QUOTE, {"amount": 1})
    assert reply.payload == {"quoteId": "q-1"}


@pytest.mark.fi_kafka
def test_quote_on_kafka(fi_kafka_app: Callable[..., TestClient], fi_kafka_bootstrap: str) -> None:
    """The same on Kafka."""
    client = fi_kafka_app(app)
    assert client.request(QUOTE, {"amount": 2}).payload == {"quoteId": "q-2"}
    assert fi_kafka_bootstrap


def every_example_passes(bootstrap: str | None) -> list[str]:
    """Run each example by hand, in memory or on Kafka; return the ids of the failures."""
    factory = kafka_test_transport(bootstrap) if bootstrap else None
    failures: list[str] = []
    with TestClient(app, transport_factory=factory) as client:
        for case in example_cases(app):
            known: ExampleCase = case
            try:
                check_example(client, known)
            except ExampleMismatchError:
                failures.append(case.id)
    return failures
