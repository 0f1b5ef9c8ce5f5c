"""InMemoryTransport passes the transport conformance checks."""

from __future__ import annotations

import asyncio

import pytest

from flowintegrations.testing import CHECKS, ConformanceError, check_transport
from flowintegrations.transport import InMemoryBroker, InMemoryTransport, Record


@pytest.mark.parametrize("name", list(CHECKS))
def test_in_memory_transport_conforms(name: str) -> None:
    """Every conformance check passes on transports sharing one in-memory broker."""
    broker = InMemoryBroker()
    check_transport(lambda: InMemoryTransport(broker=broker), only=[name], timeout=5.0)


class HeaderDroppingTransport(InMemoryTransport):
    """A broken transport: it loses every header on the way."""

    async def produce(self, record: Record) -> asyncio.Future[Record]:
        """Produce the record without its headers."""
        return await super().produce(record.replace(headers=()))

    async def send(self, record: Record) -> Record:
        """Send the record without its headers."""
        return await super().send(record.replace(headers=()))


def test_a_broken_transport_fails_with_the_check_named() -> None:
    """The checker reports which check failed and what differed."""
    broker = InMemoryBroker()
    with pytest.raises(
        ConformanceError,
        match=r"^transport check 'round_trip' failed: headers of conformance\.round_trip\.",
    ):
        check_transport(lambda: HeaderDroppingTransport(broker=broker), only=["round_trip"])


def test_every_failing_check_is_listed() -> None:
    """With several failing checks, the error lists each of them."""
    broker = InMemoryBroker()
    with pytest.raises(
        ConformanceError, match=r"^2 transport checks failed:\n  transport check 'round_trip'"
    ):
        check_transport(
            lambda: HeaderDroppingTransport(broker=broker),
            only=["round_trip", "round_trip"],
        )


def test_an_unknown_check_name_is_a_key_error() -> None:
    """Asking for a check that does not exist is a KeyError naming it."""
    with pytest.raises(KeyError, match="unknown checks: nope"):
        check_transport(InMemoryTransport, only=["nope"])
