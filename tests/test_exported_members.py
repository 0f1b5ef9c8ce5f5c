"""The public namespaces export exactly their documented names (DESIGN.md, The public surface)."""

from __future__ import annotations

import importlib
import re

import pytest

CONTRACT = {
    "flowintegrations": {
        "PropertyType",
        "Property",
        "DataModel",
        "Header",
        "TopicBinding",
        "Scenario",
        "Integration",
        "Catalog",
        "ValidationError",
        "Violation",
        "CatalogError",
        "FlowIntegrationsError",
        "App",
        "Context",
        "EngineClient",
        "Reply",
        "Retry",
    },
    "flowintegrations.transport": {"Record", "Transport", "InMemoryTransport", "KafkaTransport"},
    "flowintegrations.testing": {"TestClient", "FaultyTransport"},
    "flowintegrations.flow": {"FlowService"},
    # What the module flowintegrations.transport.kafka exported before it became a package.
    "flowintegrations.transport.kafka": {
        "ENV_PREFIX",
        "ENV_SETTINGS",
        "KafkaSubscription",
        "KafkaTransport",
        "is_secret_setting",
        "translate_error",
    },
}

PACKAGES = [
    "flowintegrations",
    "flowintegrations.model",
    "flowintegrations.validation",
    "flowintegrations.transport",
    "flowintegrations.runtime",
    "flowintegrations.transport.kafka",
    "flowintegrations.testing",
    "flowintegrations.flow",
    "flowintegrations.observability",
]


@pytest.mark.parametrize("package", sorted(CONTRACT))
def test_contract_names_are_exported(package: str) -> None:
    """Every name DESIGN.md promises is importable from its package and listed in __all__."""
    module = importlib.import_module(package)
    assert CONTRACT[package] <= set(module.__all__)
    for name in CONTRACT[package]:
        assert getattr(module, name) is not None


def _isort_key(name: str) -> tuple[int, str]:
    """Ruff's (isort's) order: CONSTANTS, then Classes, then functions."""
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return (kind, name)


@pytest.mark.parametrize("package", PACKAGES)
def test_all_is_sorted_and_complete(package: str) -> None:
    """__all__ is sorted, and every public attribute of the package is in it."""
    module = importlib.import_module(package)
    assert module.__all__ == sorted(module.__all__, key=_isort_key)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, type(importlib))
    }
    public -= {"annotations"}
    assert public == set(module.__all__)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_object_has_a_docstring(package: str) -> None:
    """Every exported class and function documents itself."""
    module = importlib.import_module(package)
    undocumented = [
        name
        for name in module.__all__
        if callable(getattr(module, name)) and not (getattr(module, name).__doc__ or "").strip()
    ]
    assert undocumented == []


# Names flowintegrations.flow exported before its __all__ was trimmed to what a service's
# author uses: old imports keep working (module __getattr__), from the modules they live in.
FORMERLY_FLOW = {
    "DEFAULT_MAX_BODY_BYTES": "flowintegrations.flow.http",
    "DEFAULT_MAX_UPLOAD_BYTES": "flowintegrations.flow.file_resources",
    "DEFAULT_PAGE_SIZE": "flowintegrations.flow.query",
    "FILE_TYPE": "flowintegrations.flow.files",
    "MAX_PAGE_SIZE": "flowintegrations.flow.query",
    "Action": "flowintegrations.flow.types",
    "CallbackSender": "flowintegrations.flow.callbacks",
    "ContentType": "flowintegrations.flow.types",
    "DataType": "flowintegrations.flow.data",
    "Field": "flowintegrations.flow.types",
    "FieldKind": "flowintegrations.flow.types",
    "FlowValueError": "flowintegrations.flow.values",
    "Shape": "flowintegrations.flow.types",
    "UploadError": "flowintegrations.flow.files",
    "UploadTooLarge": "flowintegrations.flow.files",
    "build_actions": "flowintegrations.flow.types",
    "describe_answer": "flowintegrations.flow.describe",
    "engine_values": "flowintegrations.flow.values",
    "payload_from_values": "flowintegrations.flow.values",
}


@pytest.mark.parametrize("name", sorted(FORMERLY_FLOW))
def test_names_flow_exported_before_still_import(name: str) -> None:
    """`from flowintegrations.flow import NAME` gives the object its module defines."""
    flow = importlib.import_module("flowintegrations.flow")
    home = importlib.import_module(FORMERLY_FLOW[name])
    assert (getattr(flow, name) is getattr(home, name), name in flow.__all__) == (True, False)


def test_an_unknown_flow_name_is_an_attribute_error() -> None:
    """A name flow never exported raises AttributeError naming it."""
    flow = importlib.import_module("flowintegrations.flow")
    expected = "module 'flowintegrations.flow' has no attribute 'Nope'"
    with pytest.raises(AttributeError, match=re.escape(expected)):
        getattr(flow, "Nope")  # noqa: B009 - the attribute is looked up on purpose
