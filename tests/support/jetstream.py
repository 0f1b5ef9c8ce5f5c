"""Helpers for the tests on NATS JetStream: the shared server, transports, fresh names.

NATS with JetStream runs at ``$FLOWINTEGRATIONS_NATS_SERVERS`` (default
``nats://127.0.0.1:4222``) on every machine of the project and on CI; tests that need it
fail (never skip) when it does not answer.
"""

from __future__ import annotations

import os
import socket
import urllib.parse
from typing import Any

import pytest

from flowintegrations.transport.nats import JetStreamTransport

SERVERS = os.environ.get("FLOWINTEGRATIONS_NATS_SERVERS", "nats://127.0.0.1:4222")
"""The NATS server the tests use."""

TEST_OPTIONS: dict[str, Any] = {
    "create_topics": True,
    "storage": "memory",
    "max_age": 3600.0,
    "heartbeat": 0.2,
}
"""Topics made on demand, in memory for an hour; rebalances looked for five times a second."""


def require_nats() -> str:
    """The servers' URL; fails the test with a clear message when NATS does not answer."""
    url = urllib.parse.urlsplit(SERVERS.split(",")[0])
    host, port = url.hostname or "127.0.0.1", url.port or 4222
    try:
        with socket.create_connection((host, port), timeout=3.0):
            pass
    except OSError as exc:
        pytest.fail(
            f"NATS with JetStream is not reachable at {SERVERS} ({exc}); start it with "
            "`nats-server -js` or set FLOWINTEGRATIONS_NATS_SERVERS",
            pytrace=False,
        )
    return SERVERS


def nats_transport(**options: Any) -> JetStreamTransport:
    """A transport on the test server with :data:`TEST_OPTIONS` (``options`` win)."""
    return JetStreamTransport(SERVERS, **{**TEST_OPTIONS, **options})


def notifications_example() -> Any:
    """The module ``examples/notifications_adapter.py``, loaded from its file, unchanged."""
    import importlib.util  # noqa: PLC0415
    import sys  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    name = "notifications_adapter_example"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parents[2] / "examples" / "notifications_adapter.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
