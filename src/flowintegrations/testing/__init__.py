"""Test helpers: the test client for adapters and a conformance checker for transports."""

from flowintegrations.testing.client import TestClient
from flowintegrations.testing.conformance import (
    CHECKS,
    ConformanceError,
    check_transport,
    check_transport_async,
)

__all__ = [
    "CHECKS",
    "ConformanceError",
    "TestClient",
    "check_transport",
    "check_transport_async",
]
