"""Test helpers: the test client, fault injection, and a conformance checker for transports."""

from flowintegrations.testing.client import TestClient
from flowintegrations.testing.conformance import (
    CHECKS,
    ConformanceError,
    ConformanceReport,
    check_transport,
    check_transport_async,
)
from flowintegrations.testing.faults import CommitAttempt, FaultySubscription, FaultyTransport

__all__ = [
    "CHECKS",
    "CommitAttempt",
    "ConformanceError",
    "ConformanceReport",
    "FaultySubscription",
    "FaultyTransport",
    "TestClient",
    "check_transport",
    "check_transport_async",
]
