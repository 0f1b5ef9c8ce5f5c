"""FlowService is built once, explicitly: registration ends there, and a repr builds nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest

from flowintegrations import App, DataModel, HandlerRegistrationError, Property
from flowintegrations.flow import FlowService, Query
from support.asgi import running

CUSTOMER = DataModel((Property.string("id"), Property.string("name")))


def customer_service() -> FlowService:
    """A service of data actions only, on a declared type."""
    return FlowService(App(), types={"customer": CUSTOMER})


def test_a_repr_builds_nothing_and_registration_goes_on() -> None:
    """@service.load after repr(service) registers the handler; the repr says not built."""
    service = customer_service()
    shown = repr(service)

    @service.load("customer")
    def load(query: Query) -> list[dict[str, Any]]:
        return [{"id": "1", "name": "Ana"}]

    assert shown == "FlowService(path='', actions='<not built>', username=None, token=None)"
    assert service.data_types == ("customer",)


def test_registration_after_the_build_is_refused() -> None:
    """Once built (here by describe()), a new data action raises HandlerRegistrationError."""
    service = customer_service()
    service.load("customer")(lambda query: [])
    service.describe()
    with pytest.raises(
        HandlerRegistrationError,
        match=re.escape("register data actions before the service serves its first request"),
    ):
        service.save("customer")(lambda objects: objects)


def test_the_lifespan_builds_the_service() -> None:
    """Starting the ASGI lifespan builds it: the repr then lists the actions."""
    service = customer_service()
    service.load("customer")(lambda query: [])
    with running(service):
        shown = repr(service)
    assert shown == "FlowService(path='', actions=[], username=None, token=None)"


def test_a_service_that_serves_nothing_refuses_to_build() -> None:
    """No handler, no data action, no file handler: build() raises, naming the fix."""
    with pytest.raises(
        HandlerRegistrationError,
        match=re.escape("the app has no handlers: register one with @app.handler(scenario)"),
    ):
        FlowService(App()).build()
