"""The PostgreSQL example takes its Flow credentials from the environment."""

from __future__ import annotations

import pytest

from flowintegrations.loading import load_module_file
from support.flowdata import ROOT

EXAMPLE = ROOT / "examples" / "flow_customers_postgres.py"


def test_the_credentials_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """FLOW_CUSTOMERS_USERNAME and FLOW_CUSTOMERS_TOKEN set: the service requires them."""
    monkeypatch.setenv("FLOW_CUSTOMERS_USERNAME", "flow")
    monkeypatch.setenv("FLOW_CUSTOMERS_TOKEN", "a-long-enough-token")
    module = load_module_file(EXAMPLE, "example_postgres_with_credentials")
    shown = repr(module.service)
    assert (module.service.requires_credentials, module.service.username) == (True, "flow")
    assert "a-long-enough-token" not in shown


def test_without_them_the_service_is_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither set: no credentials (serve then refuses a public host without --no-auth)."""
    monkeypatch.delenv("FLOW_CUSTOMERS_USERNAME", raising=False)
    monkeypatch.delenv("FLOW_CUSTOMERS_TOKEN", raising=False)
    module = load_module_file(EXAMPLE, "example_postgres_without_credentials")
    assert module.service.requires_credentials is False
