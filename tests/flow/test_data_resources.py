"""The data resources part on its own: DataAction dispatch, registration, refusals."""

from __future__ import annotations

import re
from typing import Any

import pytest

from flowintegrations import DataModel, HandlerRegistrationError, Integration, Property
from flowintegrations.flow import FlowObject, Query
from flowintegrations.flow.data_resources import DataAction, DataResources
from flowintegrations.flow.http import Gate
from flowintegrations.flow.types import build_actions

CUSTOMER = DataModel((Property.string("id"), Property.string("name")))
TYPES = Integration("Types", "types", definitions={"customer": CUSTOMER})


def resources() -> DataResources:
    """Data resources over the customer type, behind an open gate."""
    return DataResources(lambda: (TYPES,), gate=Gate(username=None, token=None))


def test_each_data_action_names_its_handler() -> None:
    """DataAction.LOAD/SAVE/DELETE are the load/save/delete handlers of a type."""
    data = resources()
    data.register("customer", DataAction.LOAD, lambda query: [])
    data.register("customer", DataAction.DELETE, lambda objects: None)
    customer = data.types["customer"]
    assert (customer.load is not None, customer.save is None, customer.delete is not None) == (
        True,
        True,
        True,
    )
    assert [a.value for a in DataAction] == ["load", "save", "delete"]


def test_an_unknown_type_is_refused_naming_the_types() -> None:
    """A type no integration defines: HandlerRegistrationError listing the known ones."""
    expected = (
        "no type 'order': a type is a definition of the app's integrations or one of "
        "FlowService(types=...) (types: 'customer')"
    )
    with pytest.raises(HandlerRegistrationError, match=re.escape(expected)):
        resources().register("order", DataAction.LOAD, lambda query: [])


def test_registration_ends_when_frozen() -> None:
    """After freeze(), registering on a known type is refused too."""
    data = resources()

    def load(query: Query) -> list[dict[str, Any]]:
        return []

    def save(objects: list[FlowObject]) -> list[FlowObject]:
        return objects

    data.register("customer", DataAction.LOAD, load)
    _, shapes = build_actions([], integrations=(TYPES,))
    data.freeze({shape.type_name: shape for shape in shapes})
    expected = "register data actions before the service serves its first request"
    with pytest.raises(HandlerRegistrationError, match=re.escape(expected)):
        data.register("customer", DataAction.SAVE, save)
    assert data.bound == ["customer"]
