"""JetStreamTransport passes the transport conformance checks on the real NATS server."""

from __future__ import annotations

import pytest

from flowintegrations.testing import CHECKS, check_transport
from flowintegrations.testing.conformance import NEEDS
from flowintegrations.transport import Capability
from support.jetstream import nats_transport

NO_TRANSACTIONS = (
    "needs transactions: JetStream has no transactions: a reply cannot be published and its "
    "request acknowledged all or nothing"
)


@pytest.mark.parametrize(
    "name", [name for name in CHECKS if NEEDS.get(name) is not Capability.TRANSACTIONS]
)
def test_jetstream_transport_passes(nats_servers: str, name: str) -> None:
    """Every check that needs no transactions passes on JetStreamTransport."""
    report = check_transport(lambda: nats_transport(create_topics=False), only=[name], timeout=20)
    assert report.passed == (name,)


def test_jetstream_transport_reports_the_transaction_checks_as_not_run(nats_servers: str) -> None:
    """The transaction checks are reported not run, with the transport's reason."""
    names = [name for name in CHECKS if NEEDS.get(name) is Capability.TRANSACTIONS]
    report = check_transport(lambda: nats_transport(create_topics=False), only=names)
    assert report.passed == ()
    assert dict(report.not_run) == dict.fromkeys(names, NO_TRANSACTIONS)
    assert len(names) == 3
