"""JetStreamTransport passes the transport conformance checks on the real NATS server."""

from __future__ import annotations

import pytest

from flowintegrations.testing import CHECKS, check_transport
from support.jetstream import nats_transport


@pytest.mark.parametrize("name", list(CHECKS))
def test_jetstream_transport_conforms(nats_servers: str, name: str) -> None:
    """Every conformance check passes on JetStreamTransport (or is reported as not run)."""
    check_transport(lambda: nats_transport(create_topics=False), only=[name], timeout=20.0)
