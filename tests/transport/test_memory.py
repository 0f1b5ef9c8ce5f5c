"""InMemoryTransport: partitioning, groups, rebalances, redelivery, and its test helpers."""

from __future__ import annotations

import asyncio
import threading
import zlib

import pytest

from flowintegrations.errors import (
    DeliveryError,
    TopicNotFoundError,
    TransportClosedError,
    TransportError,
)
from flowintegrations.transport import InMemoryBroker, InMemoryTransport, Record, TopicPartition
from flowintegrations.transport.base import RebalanceListener, Subscription, Transport
from flowintegrations.transport.memory import DEFAULT_MAX_MESSAGE_BYTES, record_size

T0 = TopicPartition("t", 0)
T1 = TopicPartition("t", 1)


async def started(**options: object) -> InMemoryTransport:
    """A running transport."""
    transport = InMemoryTransport(**options)  # type: ignore[arg-type]
    await transport.start()
    return transport


async def drain(subscription: Subscription, expected: int) -> list[Record]:
    """Read until ``expected`` records arrived (bounded, so a bug fails instead of hanging)."""
    got: list[Record] = []
    for _ in range(20):
        got += await subscription.getmany(timeout=0.05)
        if len(got) >= expected:
            break
    return got


class Journal:
    """A rebalance listener that writes down what it is told."""

    def __init__(self, name: str, events: list[tuple[str, str, frozenset[TopicPartition]]]) -> None:
        self.name = name
        self.events = events
        self.subscription: Subscription | None = None
        self.commit_on_revoke: dict[TopicPartition, int] = {}

    async def on_partitions_revoked(self, partitions: frozenset[TopicPartition]) -> None:
        """Write down the revocation, committing first if asked to."""
        self.events.append((self.name, "revoked", partitions))
        if self.commit_on_revoke and self.subscription is not None:
            await self.subscription.commit(self.commit_on_revoke)

    async def on_partitions_assigned(self, partitions: frozenset[TopicPartition]) -> None:
        """Write down the assignment."""
        self.events.append((self.name, "assigned", partitions))


def test_implements_the_protocols() -> None:
    """InMemoryTransport and its subscriptions satisfy the runtime-checkable protocols."""

    async def main() -> None:
        transport = await started()
        subscription = await transport.subscribe(["t"], group_id="g")
        assert isinstance(transport, Transport)
        assert isinstance(subscription, Subscription)
        assert isinstance(Journal("a", []), RebalanceListener)

    asyncio.run(main())


def test_send_returns_the_record_as_written() -> None:
    """send() returns the record with its partition, offset and the clock's timestamp."""

    async def main() -> Record:
        transport = await started(clock=lambda: 1700000000.5)
        await transport.send(Record("t", value=b"first"))
        return await transport.send(Record("t", key=b"k", value=b"v", headers=(("h", b"x"),)))

    written = asyncio.run(main())
    assert written == Record("t", b"k", b"v", (("h", b"x"),), 0, 1, 1700000000500)


def test_a_timestamp_given_by_the_sender_is_kept() -> None:
    """A record sent with a timestamp keeps it (Kafka's CreateTime)."""

    async def main() -> Record:
        transport = await started()
        return await transport.send(Record("t", value=b"v", timestamp=42))

    assert asyncio.run(main()).timestamp == 42


def test_produce_returns_a_resolved_future() -> None:
    """produce() acknowledges on write: its future is already done."""

    async def main() -> asyncio.Future[Record]:
        transport = await started()
        return await transport.produce(Record("t", value=b"v"))

    future = asyncio.run(main())
    assert future.done()
    assert future.result().offset == 0


def test_keyed_records_go_to_the_crc32_partition() -> None:
    """A key always lands on crc32(key) % partitions, like librdkafka's consistent partitioner."""
    keys = [f"key-{i}".encode() for i in range(20)]

    async def main() -> list[int | None]:
        transport = await started(partitions=4)
        return [(await transport.send(Record("t", key=key))).partition for key in keys]

    assert asyncio.run(main()) == [zlib.crc32(key) % 4 for key in keys]


def test_keyless_records_go_round_robin() -> None:
    """Records without a key are spread over the partitions in turn, starting at 0."""

    async def main() -> list[int | None]:
        transport = await started(partitions=3)
        return [(await transport.send(Record("t"))).partition for _ in range(5)]

    assert asyncio.run(main()) == [0, 1, 2, 0, 1]


def test_an_explicit_partition_is_used() -> None:
    """A record that names its partition is written there."""

    async def main() -> Record:
        transport = await started(partitions=3)
        return await transport.send(Record("t", key=b"k", partition=2))

    assert asyncio.run(main()).partition == 2


def test_a_partition_out_of_range_fails_delivery() -> None:
    """Producing to a partition the topic does not have fails the future with DeliveryError."""

    async def main() -> None:
        transport = await started(partitions=2)
        future = await transport.produce(Record("t", partition=2))
        await future

    with pytest.raises(DeliveryError, match=r"cannot deliver to 't'\[2\]: it has 2 partitions"):
        asyncio.run(main())


def test_a_value_that_is_not_bytes_is_a_type_error() -> None:
    """A str value is rejected, as Kafka's serializer-less producer would."""

    async def main() -> None:
        transport = await started()
        await transport.send(Record("t", value="text"))  # type: ignore[arg-type]

    with pytest.raises(TypeError, match="a record's value must be bytes"):
        asyncio.run(main())


def test_create_topic_sets_the_partition_count() -> None:
    """create_topics() and create_topic() make topics with the partition count asked for."""

    async def main() -> InMemoryTransport:
        transport = await started()
        await transport.create_topics(["a", "b"], partitions=3)
        transport.create_topic("c", partitions=2)
        await transport.ensure_topics(["d"])
        return transport

    transport = asyncio.run(main())
    assert [transport.partitions(name) for name in transport.topics()] == [3, 3, 2, 1]


def test_ensure_topics_names_the_missing_ones_without_auto_create() -> None:
    """With auto_create_topics=False, ensure_topics raises naming every missing topic."""

    async def main() -> None:
        transport = await started(auto_create_topics=False)
        transport.create_topic("here")
        await transport.ensure_topics(["here", "zeta", "alpha"])

    with pytest.raises(TopicNotFoundError, match="topics do not exist: alpha, zeta"):
        asyncio.run(main())


def test_producing_to_a_missing_topic_fails_without_auto_create() -> None:
    """With auto_create_topics=False, a record for a missing topic fails with DeliveryError."""

    async def main() -> None:
        transport = await started(auto_create_topics=False)
        await transport.send(Record("nowhere"))

    with pytest.raises(DeliveryError, match="cannot deliver to topic 'nowhere'"):
        asyncio.run(main())


def test_records_lists_a_topic_in_write_order() -> None:
    """records() lists every partition's records in the order written; count() counts them."""

    async def main() -> InMemoryTransport:
        transport = await started(partitions=2)
        for value in (b"a", b"b", b"c"):
            await transport.send(Record("t", value=value))
        return transport

    transport = asyncio.run(main())
    assert [(r.value, r.partition, r.offset) for r in transport.records("t")] == [
        (b"a", 0, 0),
        (b"b", 1, 0),
        (b"c", 0, 1),
    ]
    assert [r.value for r in transport.records("t", partition=0)] == [b"a", b"c"]
    assert (transport.count("t"), transport.count(), transport.count("other")) == (3, 3, 0)
    assert transport.end_offsets("t") == {T0: 2, T1: 1}
    assert transport.records("other") == []


def test_getmany_returns_each_partition_in_offset_order() -> None:
    """A lone member gets every partition, each in offset order, at most max_records at once."""

    async def main() -> list[list[Record]]:
        transport = await started(partitions=2)
        for i in range(6):
            await transport.send(Record("t", key=None, value=b"%d" % i))
        subscription = await transport.subscribe(["t"], group_id="g")
        return [await subscription.getmany(max_records=4, timeout=0) for _ in range(3)]

    batches = asyncio.run(main())
    assert [len(batch) for batch in batches] == [4, 2, 0]
    everything = batches[0] + batches[1]
    for partition in (0, 1):
        offsets = [r.offset for r in everything if r.partition == partition]
        assert offsets == [0, 1, 2]


def test_getmany_returns_empty_when_nothing_arrives() -> None:
    """getmany() returns an empty list once its timeout passed without records."""

    async def main() -> list[Record]:
        transport = await started()
        subscription = await transport.subscribe(["t"], group_id="g")
        return await subscription.getmany(timeout=0.01)

    assert asyncio.run(main()) == []


def test_a_waiting_getmany_wakes_when_a_record_arrives() -> None:
    """A getmany() waiting for data returns the record produced while it waits."""

    async def main() -> list[bytes]:
        transport = await started()
        subscription = await transport.subscribe(["t"], group_id="g")
        await subscription.getmany(timeout=0)
        waiting = asyncio.create_task(subscription.getmany(timeout=30))
        await asyncio.sleep(0)
        await transport.send(Record("t", value=b"late"))
        return [r.value for r in await waiting]

    assert asyncio.run(main()) == [b"late"]


def test_a_record_from_another_event_loop_wakes_a_waiting_getmany() -> None:
    """Records produced on one loop (a test thread) wake a member waiting on another loop."""
    transport = InMemoryTransport()
    ready = threading.Event()

    async def consume() -> list[bytes]:
        await transport.start()
        subscription = await transport.subscribe(["t"], group_id="g")
        await subscription.getmany(timeout=0)
        waiting = asyncio.create_task(subscription.getmany(timeout=30))
        await asyncio.sleep(0)
        ready.set()
        return [r.value for r in await waiting]

    result: list[list[bytes]] = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(consume())))
    thread.start()
    assert ready.wait(10)
    asyncio.run(transport.send(Record("t", value=b"cross")))
    thread.join(10)
    assert result == [[b"cross"]]


def test_commit_is_visible_in_committed() -> None:
    """committed(group) shows the offsets a member committed, per partition."""

    async def main() -> InMemoryTransport:
        transport = await started(partitions=2)
        subscription = await transport.subscribe(["t"], group_id="g")
        await subscription.getmany(timeout=0)
        await subscription.commit({T0: 3, T1: 1})
        return transport

    transport = asyncio.run(main())
    assert transport.committed("g") == {T0: 3, T1: 1}
    assert transport.committed("unknown") == {}
    assert transport.groups() == ["g"]


def test_a_new_member_resumes_after_the_committed_offset() -> None:
    """After a member committed and left, the next member starts at the committed offset."""

    async def main() -> list[int | None]:
        transport = await started()
        for i in range(5):
            await transport.send(Record("t", value=b"%d" % i))
        first = await transport.subscribe(["t"], group_id="g")
        await first.getmany(timeout=0)
        await first.commit({T0: 3})
        await first.close()
        second = await transport.subscribe(["t"], group_id="g")
        return [r.offset for r in await second.getmany(timeout=0)]

    assert asyncio.run(main()) == [3, 4]


def test_a_crashed_member_s_uncommitted_records_are_delivered_again() -> None:
    """crash() leaves without callbacks; the survivor gets the partitions and the records again."""
    events: list[tuple[str, str, frozenset[TopicPartition]]] = []

    async def main() -> list[tuple[int | None, int | None]]:
        transport = await started(partitions=2)
        for i in range(4):
            await transport.send(Record("t", value=b"%d" % i))
        a = await transport.subscribe(["t"], group_id="g", listener=Journal("a", events))
        b = await transport.subscribe(["t"], group_id="g", listener=Journal("b", events))
        assert len(await a.getmany(timeout=0)) == 2
        assert len(await b.getmany(timeout=0)) == 2
        await b.commit({T1: 1})
        b.crash()
        return [(r.partition, r.offset) for r in await drain(a, 1)]

    assert asyncio.run(main()) == [(1, 1)]
    assert events == [
        ("a", "assigned", frozenset({T0})),
        ("b", "assigned", frozenset({T1})),
        ("a", "assigned", frozenset({T1})),
    ]


def test_a_joining_member_waits_for_the_old_owner_to_revoke() -> None:
    """A moved partition is revoked from its owner (who may commit) before the joiner gets it."""
    events: list[tuple[str, str, frozenset[TopicPartition]]] = []

    async def main() -> tuple[list[int | None], frozenset[TopicPartition]]:
        transport = await started(partitions=2)
        for i in range(4):
            await transport.send(Record("t", key=None, value=b"%d" % i))
        journal_a = Journal("a", events)
        a = await transport.subscribe(["t"], group_id="g", listener=journal_a)
        journal_a.subscription = a
        assert len(await a.getmany(timeout=0)) == 4
        journal_a.commit_on_revoke = {T1: 1}
        b = await transport.subscribe(["t"], group_id="g", listener=Journal("b", events))
        before = await b.getmany(timeout=0)  # a has not given up partition 1 yet
        assert before == []
        await a.getmany(timeout=0)
        return [r.offset for r in await b.getmany(timeout=0)], b.assignment()

    offsets, assignment = asyncio.run(main())
    assert offsets == [1]
    assert assignment == frozenset({T1})
    assert events == [
        ("a", "assigned", frozenset({T0, T1})),
        ("a", "revoked", frozenset({T1})),
        ("b", "assigned", frozenset({T1})),
    ]


def test_range_assignment_spreads_partitions_in_join_order() -> None:
    """Three partitions over two members: the first member gets two, the second one."""

    async def main() -> list[frozenset[TopicPartition]]:
        transport = await started(partitions=3)
        a = await transport.subscribe(["t"], group_id="g")
        b = await transport.subscribe(["t"], group_id="g")
        await a.getmany(timeout=0)
        await b.getmany(timeout=0)
        return [a.assignment(), b.assignment()]

    assert asyncio.run(main()) == [
        frozenset({T0, T1}),
        frozenset({TopicPartition("t", 2)}),
    ]


def test_two_groups_each_see_every_record() -> None:
    """Every group reads the whole topic independently."""

    async def main() -> tuple[int, int]:
        transport = await started(partitions=2)
        for i in range(4):
            await transport.send(Record("t", value=b"%d" % i))
        a = await transport.subscribe(["t"], group_id="one")
        b = await transport.subscribe(["t"], group_id="two")
        return len(await a.getmany(timeout=0)), len(await b.getmany(timeout=0))

    assert asyncio.run(main()) == (4, 4)


def test_paused_partitions_yield_nothing_until_resumed() -> None:
    """pause() holds a partition's records back; resume() continues where reading left off."""

    async def main() -> tuple[list[int | None], list[int | None]]:
        transport = await started(partitions=2)
        subscription = await transport.subscribe(["t"], group_id="g")
        await subscription.getmany(timeout=0)
        subscription.pause([T1])
        for _ in range(4):
            await transport.send(Record("t"))
        while_paused = [r.partition for r in await subscription.getmany(timeout=0)]
        assert subscription.paused() == frozenset({T1})
        subscription.resume([T1])
        return while_paused, [r.partition for r in await subscription.getmany(timeout=0)]

    assert asyncio.run(main()) == ([0, 0], [1, 1])


def test_committing_a_partition_not_held_is_an_error() -> None:
    """A member cannot commit a partition it does not hold."""

    async def main() -> None:
        transport = await started(partitions=2)
        a = await transport.subscribe(["t"], group_id="g")
        b = await transport.subscribe(["t"], group_id="g")
        await a.getmany(timeout=0)
        await b.getmany(timeout=0)
        await a.commit({T1: 1})

    with pytest.raises(TransportError, match=r"not assigned to 'g-member-1': t\[1\]"):
        asyncio.run(main())


def test_stop_wakes_a_waiting_getmany_with_closed_error() -> None:
    """Stopping the transport makes a waiting getmany() raise TransportClosedError."""

    async def main() -> None:
        transport = await started()
        subscription = await transport.subscribe(["t"], group_id="g")
        waiting = asyncio.create_task(subscription.getmany(timeout=30))
        await asyncio.sleep(0)
        await transport.stop()
        await waiting

    with pytest.raises(TransportClosedError, match="is closed"):
        asyncio.run(main())


def test_use_before_start_is_an_error() -> None:
    """Sending on a transport that was never started raises TransportError."""
    with pytest.raises(TransportError, match="not started"):
        asyncio.run(InMemoryTransport().send(Record("t")))


def test_start_after_stop_is_a_closed_error() -> None:
    """A stopped transport cannot be started again."""

    async def main() -> None:
        transport = await started()
        await transport.stop()
        await transport.stop()
        await transport.start()

    with pytest.raises(TransportClosedError, match="cannot be started again"):
        asyncio.run(main())


def test_records_stay_inspectable_after_stop() -> None:
    """Records and committed offsets survive stop(), for assertions after a test run."""

    async def main() -> InMemoryTransport:
        transport = await started()
        await transport.send(Record("t", value=b"kept"))
        await transport.stop()
        return transport

    transport = asyncio.run(main())
    assert [r.value for r in transport.records("t")] == [b"kept"]
    assert repr(transport) == "InMemoryTransport(state=stopped, topics=1, records=1, groups=0)"


def test_transports_on_one_broker_share_topics_and_groups() -> None:
    """A record sent through one transport is read through another on the same broker."""
    broker = InMemoryBroker(partitions=2)

    async def main() -> list[bytes]:
        sender, reader = InMemoryTransport(broker=broker), InMemoryTransport(broker=broker)
        await sender.start()
        await reader.start()
        await sender.send(Record("t", value=b"shared"))
        await sender.stop()
        subscription = await reader.subscribe(["t"], group_id="g")
        return [r.value for r in await subscription.getmany(timeout=0)]

    assert asyncio.run(main()) == [b"shared"]
    assert broker.partitions("t") == 2


def test_broker_options_are_not_given_twice() -> None:
    """Options of the broker cannot be passed to a transport that is given a broker."""
    with pytest.raises(TypeError, match="belong to the InMemoryBroker passed"):
        InMemoryTransport(broker=InMemoryBroker(), partitions=2)


def test_a_record_larger_than_max_message_bytes_fails_delivery() -> None:
    """A record past max_message_bytes (key, value, header names and values) is refused."""

    async def main() -> tuple[Record, BaseException | None]:
        transport = await started(max_message_bytes=10)
        fits = await transport.send(Record("t", b"k", b"vvvv", (("hh", b"xx"),)))
        refused = await transport.produce(Record("t", b"k", b"vvvv", (("hh", b"xxxx"),)))
        return fits, refused.exception()

    fits, error = asyncio.run(main())
    assert fits.offset == 0
    assert isinstance(error, DeliveryError)
    assert str(error) == (
        "cannot deliver to topic 't': the record is 11 bytes, more than max_message_bytes (10)"
    )


def test_max_message_bytes_is_kafka_s_default() -> None:
    """By default a topic takes records up to 1 MiB, as Kafka's message.max.bytes."""
    assert InMemoryBroker().max_message_bytes == 1024 * 1024 == DEFAULT_MAX_MESSAGE_BYTES


def test_a_lone_surrogate_in_a_header_name_counts_three_bytes() -> None:
    """record_size counts a header name as UTF-8, a lone surrogate as three bytes."""
    assert record_size(Record("t", None, b"", (("\udcff", b""),))) == 3


def test_deleted_records_are_gone_and_offsets_stay() -> None:
    """delete_records drops the records before an offset; the next record keeps its number."""

    async def main() -> tuple[list[Record], Record]:
        transport = await started()
        for i in range(4):
            await transport.send(Record("t", value=b"%d" % i))
        transport.delete_records({T0: 3})
        return transport.records("t"), await transport.send(Record("t", value=b"4"))

    left, written = asyncio.run(main())
    assert [(r.offset, r.value) for r in left] == [(3, b"3")]
    assert written.offset == 4


def test_a_member_before_deleted_records_reads_on_from_the_first_left() -> None:
    """A member positioned before deleted records gets the first record left, then on."""

    async def main() -> list[int | None]:
        transport = await started()
        subscription = await transport.subscribe(["t"], group_id="g")
        await subscription.getmany(timeout=0)
        for i in range(4):
            await transport.send(Record("t", value=b"%d" % i))
        transport.delete_records({T0: 2})
        return [r.offset for r in await subscription.getmany(timeout=0)]

    assert asyncio.run(main()) == [2, 3]


def test_deleting_past_the_end_is_an_error() -> None:
    """delete_records refuses an offset past a partition's end."""

    async def main() -> None:
        transport = await started()
        await transport.send(Record("t", value=b"0"))
        transport.delete_records({T0: 2})

    with pytest.raises(ValueError, match=r"^cannot delete t\[0\] up to 2: it ends at 1$"):
        asyncio.run(main())
