"""InMemoryTransport passes the transport conformance checks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import pytest

from flowintegrations.errors import DeliveryError
from flowintegrations.testing import CHECKS, ConformanceError, ConformanceReport, check_transport
from flowintegrations.testing.conformance import NEEDS
from flowintegrations.transport import (
    Capability,
    InMemoryBroker,
    InMemoryTransport,
    Record,
    limitations_of,
)


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


TRANSACTION_CHECKS = [name for name in CHECKS if NEEDS.get(name) is Capability.TRANSACTIONS]


def test_checks_of_a_capability_a_transport_lacks_are_reported_not_run() -> None:
    """Without SupportsTransactions the transaction checks are not run, and the report says why."""
    broker = InMemoryBroker()
    report = check_transport(
        lambda: InMemoryTransport(broker=broker), only=["round_trip", *TRANSACTION_CHECKS]
    )
    why = "needs transactions: InMemoryTransport does not implement SupportsTransactions"
    assert report.passed == ("round_trip",)
    assert dict(report.not_run) == dict.fromkeys(TRANSACTION_CHECKS, why)


class LonelyTransport(InMemoryTransport):
    """An in-memory transport that declares it cannot rebalance."""

    def limitations(self) -> dict[Capability, str]:
        """Rebalancing is what it lacks."""
        return {Capability.REBALANCE: "every member reads every partition"}


def test_a_declared_limitation_keeps_its_checks_from_running() -> None:
    """A transport declaring no REBALANCE gets the group checks reported, with its reason."""
    broker = InMemoryBroker()
    names = [name for name in CHECKS if NEEDS.get(name) is Capability.REBALANCE]
    report = check_transport(lambda: LonelyTransport(broker=broker), only=names)
    assert report.passed == ()
    assert dict(report.not_run) == dict.fromkeys(
        names, "needs rebalance: every member reads every partition"
    )
    assert names == ["group_shares_partitions", "pause_ends_with_its_assignment"]


def test_a_report_reads_as_a_summary_with_one_line_per_check_not_run() -> None:
    """str(report) counts the checks and names each one not run."""
    report = ConformanceReport(("round_trip",), {"same_transactional_id_fences": "needs x"})
    assert str(report) == (
        "1 checks passed; 1 not run\n  not run: same_transactional_id_fences: needs x"
    )


def test_limitations_of_a_transport_with_transactions_are_what_it_declares() -> None:
    """A transport that has transactions lacks only what it declares."""

    class Transactional(InMemoryTransport):
        async def transactional_producer(self, subscription: object, tid: str) -> None:
            """Stands in for the real thing: only its presence is looked at."""

    assert limitations_of(Transactional()) == {}
    assert limitations_of(LonelyTransport()) == {
        Capability.REBALANCE: "every member reads every partition",
        Capability.TRANSACTIONS: "LonelyTransport does not implement SupportsTransactions",
    }
