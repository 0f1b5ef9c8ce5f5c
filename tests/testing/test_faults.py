"""FaultyTransport: deliveries that fail, hang or lag per topic, and commits that fail."""

from __future__ import annotations

import asyncio

import pytest

from flowintegrations.errors import DeliveryError, TransportClosedError, TransportError
from flowintegrations.testing import CHECKS, CommitAttempt, FaultyTransport, check_transport
from flowintegrations.transport import InMemoryBroker, InMemoryTransport, Record, TopicPartition

T0 = TopicPartition("t", 0)


async def started() -> tuple[FaultyTransport, InMemoryTransport]:
    """A running FaultyTransport and the in-memory transport it wraps."""
    inner = InMemoryTransport()
    transport = FaultyTransport(inner)
    await transport.start()
    return transport, inner


def values(inner: InMemoryTransport, topic: str = "t") -> list[bytes]:
    """The values written to ``topic``, in order."""
    return [record.value for record in inner.records(topic)]


@pytest.mark.parametrize("name", list(CHECKS))
def test_a_faulty_transport_without_faults_conforms(name: str) -> None:
    """Without faults, the wrapper passes every conformance check."""
    broker = InMemoryBroker()
    check_transport(
        lambda: FaultyTransport(InMemoryTransport(broker=broker)), only=[name], timeout=5.0
    )


def test_a_failed_delivery_is_not_written_and_its_future_fails() -> None:
    """A delivery made to fail raises DeliveryError from its future and writes nothing."""

    async def main() -> tuple[BaseException | None, list[bytes], tuple[Record, ...]]:
        transport, inner = await started()
        transport.fail_deliveries("t")
        future = await transport.produce(Record("t", value=b"lost"))
        return future.exception(), values(inner), transport.failed_deliveries

    error, written, failed = asyncio.run(main())
    assert isinstance(error, DeliveryError)
    assert str(error) == "delivery to topic 't' failed (injected fault)"
    assert (written, [r.value for r in failed]) == ([], [b"lost"])


def test_deliveries_fail_as_many_times_as_asked() -> None:
    """fail_deliveries(times=2) fails the next two deliveries; the third is written."""

    async def main() -> tuple[list[bool], list[bytes]]:
        transport, inner = await started()
        transport.fail_deliveries("t", times=2)
        futures = [await transport.produce(Record("t", value=b"%d" % i)) for i in range(3)]
        return [f.exception() is None for f in futures], values(inner)

    assert asyncio.run(main()) == ([False, False, True], [b"2"])


def test_deliveries_fail_until_cleared_without_a_count() -> None:
    """fail_deliveries(times=None) fails every delivery until times=0 ends it."""

    async def main() -> tuple[int, list[bytes]]:
        transport, inner = await started()
        transport.fail_deliveries("t", times=None)
        for i in range(5):
            await transport.produce(Record("t", value=b"%d" % i))
        transport.fail_deliveries("t", times=0)
        await transport.send(Record("t", value=b"ok"))
        return len(transport.failed_deliveries), values(inner)

    assert asyncio.run(main()) == (5, [b"ok"])


def test_faults_of_one_topic_leave_other_topics_alone() -> None:
    """A topic without faults is delivered at once while another one fails and hangs."""

    async def main() -> Record:
        transport, _ = await started()
        transport.fail_deliveries("t", times=None)
        transport.hang_deliveries("t")
        return await transport.send(Record("other", value=b"v"))

    assert asyncio.run(main()).offset == 0


def test_a_hung_delivery_stays_pending_and_unwritten_until_released() -> None:
    """A hung record's future is pending and nothing is written until release()."""

    async def main() -> tuple[bool, int, list[bytes], list[bytes], Record]:
        transport, inner = await started()
        transport.hang_deliveries("t")
        future = await transport.produce(Record("t", value=b"v"))
        await asyncio.sleep(0.01)
        before = (future.done(), transport.held("t"), values(inner))
        transport.release("t")
        written = await future
        return (*before, values(inner), written)

    pending, held, before, after, written = asyncio.run(main())
    assert (pending, held, before, after) == (False, 1, [], [b"v"])
    assert (written.topic, written.offset) == ("t", 0)


def test_released_records_are_written_in_the_order_produced() -> None:
    """Records held by a hang are written in produce order once released."""

    async def main() -> list[bytes]:
        transport, inner = await started()
        transport.hang_deliveries("t")
        futures = [await transport.produce(Record("t", value=b"%d" % i)) for i in range(5)]
        transport.release()
        await asyncio.gather(*futures)
        return values(inner)

    assert asyncio.run(main()) == [b"0", b"1", b"2", b"3", b"4"]


def test_a_delayed_delivery_is_not_written_at_once() -> None:
    """A delayed record is pending right after produce and written later, resolving its future."""

    async def main() -> tuple[bool, list[bytes], Record, list[bytes]]:
        transport, inner = await started()
        transport.delay_deliveries("t", 0.05)
        future = await transport.produce(Record("t", value=b"v"))
        done, before = future.done(), values(inner)
        written = await future
        return done, before, written, values(inner)

    done, before, written, after = asyncio.run(main())
    assert (done, before, written.offset, after) == (False, [], 0, [b"v"])


def test_a_record_behind_a_delayed_one_keeps_its_order() -> None:
    """A record produced without delay behind a delayed one is written after it."""

    async def main() -> list[bytes]:
        transport, inner = await started()
        transport.delay_deliveries("t", 0.05)
        first = await transport.produce(Record("t", value=b"first"))
        transport.delay_deliveries("t", 0)
        second = await transport.produce(Record("t", value=b"second"))
        await asyncio.gather(first, second)
        return values(inner)

    assert asyncio.run(main()) == [b"first", b"second"]


def test_commits_fail_as_many_times_as_asked_and_commit_nothing() -> None:
    """fail_commits(2): two commits raise TransportError and change nothing; the third works."""

    async def main() -> tuple[list[str], dict[TopicPartition, int], tuple[CommitAttempt, ...]]:
        transport, inner = await started()
        await transport.send(Record("t", value=b"v"))
        subscription = await transport.subscribe(["t"], group_id="g")
        await subscription.getmany(timeout=0)
        transport.fail_commits(2)
        outcomes = []
        for _ in range(3):
            try:
                await subscription.commit({T0: 1})
                outcomes.append("ok")
            except TransportError as exc:
                outcomes.append(str(exc))
        return outcomes, inner.committed("g"), transport.commits

    outcomes, committed, commits = asyncio.run(main())
    failure = "commit of group 'g' failed (injected fault)"
    assert outcomes == [failure, failure, "ok"]
    assert committed == {T0: 1}
    assert [c.failed for c in commits] == [True, True, False]
    assert commits[-1] == CommitAttempt(group_id="g", offsets={T0: 1})


def test_stop_fails_the_records_still_held() -> None:
    """Stopping the transport fails the futures of held records with DeliveryError."""

    async def main() -> BaseException | None:
        transport, _ = await started()
        transport.hang_deliveries("t")
        future = await transport.produce(Record("t", value=b"v"))
        await transport.stop()
        return future.exception()

    error = asyncio.run(main())
    assert isinstance(error, DeliveryError)
    assert str(error) == "the transport stopped before a record to 't' was delivered"


def test_produce_after_stop_is_a_closed_error() -> None:
    """After stop(), producing to a faulty topic raises TransportClosedError."""

    async def main() -> None:
        transport, _ = await started()
        transport.hang_deliveries("t")
        await transport.stop()
        await transport.produce(Record("t", value=b"v"))

    with pytest.raises(TransportClosedError, match=r"^the transport was stopped$"):
        asyncio.run(main())


def test_clear_ends_every_fault() -> None:
    """clear() writes held records and lets later deliveries and commits through."""

    async def main() -> tuple[list[bytes], dict[TopicPartition, int]]:
        transport, inner = await started()
        transport.hang_deliveries("t")
        held = await transport.produce(Record("t", value=b"held"))
        transport.fail_deliveries("t", times=None)
        transport.fail_commits(5)
        transport.clear()
        await held
        await transport.send(Record("t", value=b"after"))
        subscription = await transport.subscribe(["t"], group_id="g")
        await subscription.getmany(timeout=0)
        await subscription.commit({T0: 2})
        return values(inner), inner.committed("g")

    assert asyncio.run(main()) == ([b"held", b"after"], {T0: 2})
