"""KafkaTransport passes the transport conformance checks on a real broker."""

from __future__ import annotations

import pytest

from flowintegrations.testing import CHECKS, check_transport
from flowintegrations.testing.broker import TANSU_TEST_CONFIG
from flowintegrations.transport import KafkaTransport


@pytest.mark.kafka
@pytest.mark.parametrize("name", list(CHECKS))
def test_kafka_transport_conforms(kafka_bootstrap: str, name: str) -> None:
    """Every conformance check passes on KafkaTransport."""
    check_transport(
        lambda: KafkaTransport(kafka_bootstrap, config=TANSU_TEST_CONFIG),
        only=[name],
        timeout=30.0,
    )
