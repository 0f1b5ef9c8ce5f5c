"""InMemoryTransport passes the transport conformance checks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import pytest

from flowintegrations.errors import DeliveryError
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


class EarlyBatchTransport(InMemoryTransport):
    """A broken transport: a batch's future resolves before the last record is written."""

    async def produce_batch(self, records: Sequence[Record]) -> asyncio.Future[None]:
        """Write all records but the last, and say the batch is delivered."""
        return await super().produce_batch(records[:-1])


class SilentBatchTransport(InMemoryTransport):
    """A broken transport: a batch's future never reports a record it could not deliver."""

    async def produce_batch(self, records: Sequence[Record]) -> asyncio.Future[None]:
        """Write the records that can be written; resolve the batch's future anyway."""
        for record in records:
            with contextlib.suppress(DeliveryError):  # the broken part: failures are lost
                self.broker.write(record)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def test_a_batch_resolved_too_early_fails_the_delivery_check() -> None:
    """A batch future that resolves before every record is written fails its check."""
    broker = InMemoryBroker()
    with pytest.raises(
        ConformanceError,
        match=r"^transport check 'batch_resolves_after_delivery' failed: reading a delivered "
        r"batch: expected 100 records within 1\.0 s, got 99$",
    ):
        check_transport(
            lambda: EarlyBatchTransport(broker=broker),
            only=["batch_resolves_after_delivery"],
            timeout=1.0,
        )


def test_a_batch_hiding_a_failure_fails_the_failure_check() -> None:
    """A batch future that resolves although a record was not delivered fails its check."""
    broker = InMemoryBroker()
    with pytest.raises(
        ConformanceError,
        match=r"^transport check 'batch_reports_a_failed_record' failed: a batch with a record "
        r"for a missing partition must fail, but it resolved$",
    ):
        check_transport(
            lambda: SilentBatchTransport(broker=broker), only=["batch_reports_a_failed_record"]
        )
