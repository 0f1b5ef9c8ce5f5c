"""User code for the developer-experience additions, which must type-check strictly.

Never run by pytest: dead-lettered requests in tests, and strategies of a scenario with
its integration.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given

from flowintegrations import (
    App,
    DataModel,
    Enumeration,
    Integration,
    Property,
    RequestDeadLetteredError,
    Scenario,
    TopicBinding,
    Violation,
)
from flowintegrations.testing import TestClient
from flowintegrations.testing.broker import TANSU_TEST_CONFIG, LocalBroker
from flowintegrations.testing.strategies import headers, invalid_payloads, payloads

PAY = Scenario(
    "Pay",
    "pay",
    topics=[TopicBinding("ai.flowx.dev.plugin.pay.v1", "ai.flowx.dev.engine.receive.pay.v1")],
    output_model=DataModel([Property.enum("currency", enumeration="currency", mandatory=True)]),
)
PAYMENTS = Integration(
    "Payments", "payments", scenarios=[PAY], enumerations=[Enumeration("currency", ["RON"])]
)
app = App(PAYMENTS)


def dead_letter_reasons() -> tuple[str, str, str, tuple[Violation, ...], int]:
    """What a dead-lettered request tells a test."""
    with TestClient(app) as client:
        try:
            client.request(PAY, {"currency": "RON"})
        except RequestDeadLetteredError as error:
            return (
                error.stage,
                error.error_class,
                error.error_message,
                error.violations,
                error.attempts,
            )
    return "", "", "", (), 0


@given(payloads(PAY, PAYMENTS))
def test_requests(request: dict[str, Any]) -> None:
    """Requests of a scenario, names resolved by its integration."""
    assert request["currency"] == "RON"


@given(payloads(PAY.output_model, enumerations=PAYMENTS.enumerations))
def test_enumeration_objects(request: dict[str, Any]) -> None:
    """Enumeration objects are accepted as they are."""
    assert request


@given(invalid_payloads(PAY, integration=PAYMENTS), headers("pay", PAYMENTS))
def test_invalid(case: tuple[Any, Any], drawn: dict[str, str]) -> None:
    """Invalid payloads and headers take the integration too."""
    assert drawn["processInstanceId"]
    assert case


def local_broker_settings() -> tuple[bool, int | str]:
    """A development broker's state and one of its client settings."""
    broker = LocalBroker(port=9092)
    return broker.running, TANSU_TEST_CONFIG["session.timeout.ms"]
