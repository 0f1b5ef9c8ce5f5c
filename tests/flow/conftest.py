"""Fixtures of the Flow service tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.flowcontract import FlowHttp


@pytest.fixture(scope="session")
def flow_http() -> Iterator[FlowHttp]:
    """HTTP to Flow services whose every answer is checked against the platform's schemas."""
    http = FlowHttp()
    yield http
    http.close()
