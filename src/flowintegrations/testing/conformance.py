"""A conformance checker for :class:`~flowintegrations.transport.Transport` implementations.

Any transport, ours or a third party's, can prove that it honours the contract of
:mod:`flowintegrations.transport.base`::

    from flowintegrations.testing import check_transport

    def test_my_transport_conforms():
        check_transport(lambda: MyTransport("broker:9092"))

``factory`` returns a fresh, *unstarted* transport each time it is called (it may also be
a coroutine function); every transport it returns must talk to the same cluster, since
some checks write with one and read with another. The checker starts and stops the
transports itself and uses fresh, uniquely named topics and groups for every check (created
with :meth:`~flowintegrations.transport.Transport.create_topics`), so it can run against a
shared cluster. A check that fails raises :class:`ConformanceError` (an
``AssertionError``) naming the check and what went wrong.

The checks are in :data:`CHECKS` (name -> coroutine function), so a test suite can run them
one by one, e.g. with ``pytest.mark.parametrize("name", sorted(CHECKS))`` and
``check_transport(factory, only=[name])``. This module does not need pytest.

Some checks need a :class:`~flowintegrations.transport.Capability` (:data:`NEEDS`). A
transport that lacks one (it declares so with ``limitations()``, see
:mod:`flowintegrations.transport.capabilities`; a transport without
:class:`~flowintegrations.transport.SupportsTransactions` lacks transactions) does not
fail those checks, nor pass them silently: they are not run, and the
:class:`ConformanceReport` that :func:`check_transport` returns names them and says why::

    report = check_transport(lambda: MyTransport("broker:9092"))
    print(report)  # "16 checks passed; 3 not run: ..." and one line per check not run
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping

import attrs

from flowintegrations.errors import DeliveryError
from flowintegrations.testing.conformance_kit import (
    ConformanceError,
    Journal,
    Run,
    TransportFactory,
    expect_closed,
    poll_until,
    send_all,
    where,
)
from flowintegrations.testing.conformance_transactions import (
    check_aborted_transaction_is_invisible,
    check_same_transactional_id_fences,
    check_transaction_commits_records_and_offsets,
)
from flowintegrations.transport.base import Headers, Record, TopicPartition
from flowintegrations.transport.capabilities import Capability, limitations_of

__all__ = [
    "CHECKS",
    "NEEDS",
    "ConformanceError",
    "ConformanceReport",
    "TransportFactory",
    "check_transport",
    "check_transport_async",
]

# The checks -----------------------------------------------------------------------------------

ODD_HEADERS: Headers = (
    ("processInstanceId", b"1001"),
    ("binary", b"\xff\xfe\x00\x80"),
    ("dup", b"first"),
    ("dup", b"second"),
    ("empty", b""),
    ("dup", b"third"),
)


async def _check_round_trip(run: Run) -> None:
    """Keys, values and headers come back byte for byte; send() says where a record went."""
    transport = await run.transport()
    topic = await run.topic_with(transport, 1)
    sent = [
        Record(topic, key=b"key-1", value=b'{"a": 1}', headers=ODD_HEADERS),
        Record(topic, key=None, value=b"no key"),
        Record(topic, key=b"\x00\xff binary key", value=b"\x00\x01\xfe\xff", headers=()),
        Record(topic, key=b"k", value=b"", headers=(("only", b"x"),)),
    ]
    written = [await transport.send(record) for record in sent]
    for record, acknowledged in zip(sent, written, strict=True):
        run.expect(record.topic, acknowledged.topic, "send() result topic")
        run.expect(record.value, acknowledged.value, "send() result value")
        if acknowledged.partition is None or acknowledged.offset is None:
            msg = f"send() must return the record with partition and offset, got {acknowledged!r}"
            raise run.fail(msg)
    offsets = [r.offset for r in written]
    run.expect(sorted(offsets), offsets, "offsets of records sent one after another")  # type: ignore[type-var]
    subscription = await transport.subscribe([topic], group_id=run.group())
    received = await run.read(subscription, len(sent), "reading back what was sent")
    for before, after, acknowledged in zip(sent, received, written, strict=True):
        run.expect(before.key, after.key, f"key of {where(after)}")
        run.expect(before.value, after.value, f"value of {where(after)}")
        run.expect(before.headers, after.headers, f"headers of {where(after)}")
        run.expect(topic, after.topic, "topic of a consumed record")
        run.expect(
            (acknowledged.partition, acknowledged.offset),
            (after.partition, after.offset),
            "partition and offset of a consumed record vs. its send() result",
        )
        if after.timestamp is None:
            msg = f"consumed record {where(after)} has no timestamp"
            raise run.fail(msg)


async def _check_partition_order(run: Run) -> None:
    """Many records in flight over two partitions: each partition reads back in send order."""
    transport = await run.transport()
    topic = await run.topic_with(transport, 2)
    keys = [b"k%d" % (i % 7) for i in range(200)]
    records = [Record(topic, key=key, value=b"%d" % i) for i, key in enumerate(keys)]
    written = await send_all(transport, records)
    await transport.flush()
    by_key: dict[bytes | None, set[int | None]] = {}
    for record in written:
        by_key.setdefault(record.key, set()).add(record.partition)
    spread = {key: parts for key, parts in by_key.items() if len(parts) != 1}
    run.expect({}, spread, "partitions of records with the same key")
    subscription = await transport.subscribe([topic], group_id=run.group())
    received = await run.read(subscription, len(records), "reading 200 records back")
    for partition in (0, 1):
        sent_values = [r.value for r in written if r.partition == partition]
        got_values = [r.value for r in received if r.partition == partition]
        run.expect(sent_values, got_values, f"values of partition {partition}, in order")
        got_offsets = [r.offset for r in received if r.partition == partition]
        run.expect(
            sorted(got_offsets),  # type: ignore[type-var]
            got_offsets,
            f"offsets of partition {partition}",
        )
    for key in set(keys):
        sent_order = [r.value for r in records if r.key == key]
        got_order = [r.value for r in received if r.key == key]
        run.expect(sent_order, got_order, f"order of records with key {key!r}")


async def _check_batch_keeps_order(run: Run) -> None:
    """Batches over two partitions: each key and each partition read back in batch order."""
    transport = await run.transport()
    topic = await run.topic_with(transport, 2)
    records = [Record(topic, key=b"k%d" % (i % 7), value=b"%d" % i) for i in range(200)]
    batches = [await transport.produce_batch(records[i : i + 50]) for i in range(0, 200, 50)]
    results = await asyncio.wait_for(asyncio.gather(*batches), run.timeout)
    run.expect([None] * 4, results, "results of the batch futures")
    subscription = await transport.subscribe([topic], group_id=run.group())
    received = await run.read(subscription, len(records), "reading 200 batched records back")
    by_partition: dict[int | None, list[Record]] = {}
    for record in received:
        by_partition.setdefault(record.partition, []).append(record)
    for key in sorted({r.key for r in records}):  # type: ignore[type-var]
        sent_order = [r.value for r in records if r.key == key]
        got_order = [r.value for r in received if r.key == key]
        run.expect(sent_order, got_order, f"order of batched records with key {key!r}")
        partitions = {r.partition for r in received if r.key == key}
        run.expect(1, len(partitions), f"partitions of batched records with key {key!r}")
    for partition, got in by_partition.items():
        keys = {r.key for r in got}
        sent_values = [r.value for r in records if r.key in keys]
        run.expect(sent_values, [r.value for r in got], f"values of partition {partition}")


async def _check_batch_resolves_after_delivery(run: Run) -> None:
    """Once a batch's future resolved, every record of it can be read by a new group."""
    transport = await run.transport()
    topic = await run.topic_with(transport, 1)
    records = [Record(topic, value=b"%d" % i) for i in range(100)]
    batch = await transport.produce_batch(records)
    await asyncio.wait_for(asyncio.shield(batch), run.timeout)
    subscription = await transport.subscribe([topic], group_id=run.group())
    received = await run.read(subscription, len(records), "reading a delivered batch")
    run.expect([r.value for r in records], [r.value for r in received], "records of the batch")
    run.expect(
        list(range(100)), [r.offset for r in received], "offsets of a batch on a fresh topic"
    )


async def _check_empty_batch_is_done(run: Run) -> None:
    """An empty batch returns a future that is already resolved to None."""
    transport = await run.transport()
    batch = await transport.produce_batch([])
    run.expect(True, batch.done(), "an empty batch's future is done")
    run.expect(None, batch.result(), "an empty batch's result")


async def _check_batch_reports_a_failed_record(run: Run) -> None:
    """A record for a partition that does not exist makes the batch fail with DeliveryError."""
    transport = await run.transport()
    topic = await run.topic_with(transport, 1)
    records = [Record(topic, value=b"ok"), Record(topic, value=b"lost", partition=7)]
    try:
        batch = await transport.produce_batch(records)
        await asyncio.wait_for(asyncio.shield(batch), run.timeout)
    except DeliveryError:
        return
    except asyncio.TimeoutError as exc:
        msg = f"the failed batch was not reported within {run.timeout} s"
        raise run.fail(msg) from exc
    except Exception as exc:
        msg = f"a failed batch must raise DeliveryError, raised {type(exc).__name__}: {exc}"
        raise run.fail(msg) from exc
    msg = "a batch with a record for a missing partition must fail, but it resolved"
    raise run.fail(msg)


async def _check_a_refused_record_leaves_the_transport_working(run: Run) -> None:
    """A record too large to send fails with DeliveryError; the next record is delivered.

    2 MiB is over Kafka's default ``message.max.bytes`` and the in-memory transport's
    ``max_message_bytes``. The refusal may come from ``produce()`` itself or from its
    future; either way it is a DeliveryError and the transport goes on working.
    """
    transport = await run.transport()
    topic = await run.topic_with(transport, 1)
    try:
        sent = await transport.produce(Record(topic, value=b"x" * (2 * 1024 * 1024)))
        await asyncio.wait_for(asyncio.shield(sent), run.timeout)
    except DeliveryError:
        pass
    except asyncio.TimeoutError as exc:
        msg = f"a record too large was not reported within {run.timeout} s"
        raise run.fail(msg) from exc
    except Exception as exc:
        msg = f"a record too large must raise DeliveryError, raised {type(exc).__name__}: {exc}"
        raise run.fail(msg) from exc
    else:
        msg = "a record of 2 MiB must be refused with DeliveryError, but it was delivered"
        raise run.fail(msg)
    written = await asyncio.wait_for(transport.send(Record(topic, value=b"next")), run.timeout)
    run.expect(b"next", written.value, "the record sent after a refused one")


async def _check_commit_then_restart_resumes(run: Run) -> None:
    """A new member of the group starts right after the offset the previous one committed."""
    transport = await run.transport()
    topic = await run.topic_with(transport, 1)
    await send_all(transport, [Record(topic, value=b"%d" % i) for i in range(10)])
    group = run.group()
    first = await transport.subscribe([topic], group_id=group)
    received = await run.read(first, 10, "first member reading")
    await first.commit({TopicPartition(topic, 0): received[6].offset + 1})  # type: ignore[operator]
    await first.close()
    second = await transport.subscribe([topic], group_id=group)
    resumed = await run.read(second, 3, "second member reading after the commit")
    run.expect(
        [b"7", b"8", b"9"],
        [r.value for r in resumed],
        "records after the committed offset",
    )
    await run.nothing_more(second, "second member after the commit")


async def _check_no_commit_redelivers(run: Run) -> None:
    """Records a member read but did not commit are delivered again to the next member."""
    transport = await run.transport()
    topic = await run.topic_with(transport, 1)
    await send_all(transport, [Record(topic, value=b"%d" % i) for i in range(5)])
    group = run.group()
    first = await transport.subscribe([topic], group_id=group)
    await run.read(first, 5, "first member reading")
    await first.close()
    second = await transport.subscribe([topic], group_id=group)
    again = await run.read(second, 5, "second member reading uncommitted records again")
    run.expect([b"0", b"1", b"2", b"3", b"4"], [r.value for r in again], "redelivered records")


async def _check_group_shares_partitions(run: Run) -> None:
    """Two members of one group split the partitions and each record goes to one of them."""
    transport = await run.transport()
    topic = await run.topic_with(transport, 2)
    everything = {TopicPartition(topic, 0), TopicPartition(topic, 1)}
    group = run.group()
    journals = [Journal(), Journal()]
    members = [
        await transport.subscribe([topic], group_id=group, listener=journal) for journal in journals
    ]
    await poll_until(
        run,
        members,
        lambda: all(m.assignment() for m in members),
        "both members getting partitions",
    )
    for index, (member, journal) in enumerate(zip(members, journals, strict=True)):
        run.expect(
            member.assignment(),
            frozenset(journal.assignment),
            f"member {index}'s assignment vs. what its listener was told ({journal.events})",
        )
    first, second = (m.assignment() for m in members)
    run.expect(frozenset(), first & second, "partitions held by both members")
    run.expect(frozenset(everything), first | second, "partitions held by the group")
    sent = await send_all(transport, [Record(topic, value=b"%d" % i) for i in range(40)])
    received: list[list[Record]] = [[], []]

    def all_read() -> bool:
        return sum(len(batch) for batch in received) >= len(sent)

    for index, batch in enumerate(
        await poll_until(run, members, all_read, "reading 40 records with two members", received)
    ):
        received[index] = batch
    for index, member in enumerate(members):
        foreign = [
            where(r) for r in received[index] if r.topic_partition not in member.assignment()
        ]
        run.expect([], foreign, f"records member {index} got from partitions it does not hold")
    values = sorted(r.value for batch in received for r in batch)
    run.expect(sorted(r.value for r in sent), values, "records read by the group")


async def _check_pause_ends_with_its_assignment(run: Run) -> None:
    """A partition paused when it is revoked is read again once it is assigned again."""
    transport = await run.transport()
    topic = await run.topic_with(transport, 2)
    both = frozenset({TopicPartition(topic, 0), TopicPartition(topic, 1)})
    await send_all(transport, [Record(topic, value=b"%d" % i, partition=i % 2) for i in range(6)])
    group = run.group()
    first = await transport.subscribe([topic], group_id=group)
    await poll_until(run, [first], lambda: first.assignment() == both, "one member joining")
    first.pause(both)  # nothing is committed: whoever reads a partition starts at 0
    # A second member joins and takes a paused partition from the first, then leaves: the
    # partition comes back to the first member, which never resumed it.
    second = await transport.subscribe([topic], group_id=group)
    await poll_until(
        run, [first, second], lambda: bool(second.assignment()), "a second member joining"
    )
    moved = second.assignment()
    await second.close()
    got: list[list[Record]] = [[]]

    def moved_partition_read() -> bool:
        return len([r for r in got[0] if r.topic_partition in moved]) >= 3

    await poll_until(
        run, [first], moved_partition_read, "reading a partition paused before it moved", got
    )
    offsets = [r.offset for r in got[0] if r.topic_partition in moved]
    run.expect([0, 1, 2], offsets, f"offsets read of {sorted(moved)} once it came back")


async def _check_groups_are_independent(run: Run) -> None:
    """Two groups reading one topic each get every record."""
    transport = await run.transport()
    topic = await run.topic_with(transport, 2)
    sent = await send_all(transport, [Record(topic, value=b"%d" % i) for i in range(20)])
    for suffix in ("one", "two"):
        member = await transport.subscribe([topic], group_id=run.group(suffix))
        got = await run.read(member, len(sent), f"group {suffix!r} reading")
        run.expect(
            sorted(r.value for r in sent),
            sorted(r.value for r in got),
            f"records read by group {suffix!r}",
        )


async def _check_two_transports_share_the_cluster(run: Run) -> None:
    """What one transport sends, a member on another transport from the factory reads."""
    producer = await run.transport()
    topic = await run.topic_with(producer, 1)
    consumer = await run.transport()
    await producer.send(Record(topic, key=b"k", value=b"across"))
    member = await consumer.subscribe([topic], group_id=run.group())
    got = await run.read(member, 1, "reading from a second transport")
    run.expect([b"across"], [r.value for r in got], "records read from a second transport")


async def _check_stop_is_idempotent(run: Run) -> None:
    """stop() twice is fine; start() after stop() raises TransportClosedError."""
    transport = await run.transport()
    await transport.stop()
    await transport.stop()
    await expect_closed(run, "start() after stop()", transport.start())


async def _check_use_after_stop_raises_closed(run: Run) -> None:
    """After stop(), sending, producing, subscribing and reading raise TransportClosedError."""
    transport = await run.transport()
    topic = await run.topic_with(transport, 1)
    member = await transport.subscribe([topic], group_id=run.group())
    await transport.stop()
    record = Record(topic, value=b"late")
    await expect_closed(run, "send() after stop()", transport.send(record))
    await expect_closed(run, "produce() after stop()", transport.produce(record))
    await expect_closed(run, "produce_batch() after stop()", transport.produce_batch([record]))
    await expect_closed(run, "ensure_topics() after stop()", transport.ensure_topics([topic]))
    await expect_closed(
        run, "subscribe() after stop()", transport.subscribe([topic], group_id=run.group("x"))
    )
    await expect_closed(run, "getmany() after stop()", member.getmany(timeout=0))
    await member.close()


async def _check_closed_subscription_raises_closed(run: Run) -> None:
    """close() is idempotent; getmany() and commit() on a closed subscription raise closed."""
    transport = await run.transport()
    topic = await run.topic_with(transport, 1)
    member = await transport.subscribe([topic], group_id=run.group())
    await member.close()
    await member.close()
    await expect_closed(run, "getmany() after close()", member.getmany(timeout=0))
    await expect_closed(run, "commit() after close()", member.commit({TopicPartition(topic, 0): 0}))
    await transport.send(Record(topic, value=b"still works"))


CHECKS: dict[str, Callable[[Run], Awaitable[None]]] = {
    "round_trip": _check_round_trip,
    "partition_order": _check_partition_order,
    "batch_keeps_order": _check_batch_keeps_order,
    "batch_resolves_after_delivery": _check_batch_resolves_after_delivery,
    "empty_batch_is_done": _check_empty_batch_is_done,
    "batch_reports_a_failed_record": _check_batch_reports_a_failed_record,
    "a_refused_record_leaves_the_transport_working": (
        _check_a_refused_record_leaves_the_transport_working
    ),
    "commit_then_restart_resumes": _check_commit_then_restart_resumes,
    "no_commit_redelivers": _check_no_commit_redelivers,
    "group_shares_partitions": _check_group_shares_partitions,
    "pause_ends_with_its_assignment": _check_pause_ends_with_its_assignment,
    "groups_are_independent": _check_groups_are_independent,
    "two_transports_share_the_cluster": _check_two_transports_share_the_cluster,
    "stop_is_idempotent": _check_stop_is_idempotent,
    "use_after_stop_raises_closed": _check_use_after_stop_raises_closed,
    "closed_subscription_raises_closed": _check_closed_subscription_raises_closed,
    "transaction_commits_records_and_offsets": check_transaction_commits_records_and_offsets,
    "aborted_transaction_is_invisible": check_aborted_transaction_is_invisible,
    "same_transactional_id_fences": check_same_transactional_id_fences,
}
"""Every check, by name, in the order :func:`check_transport` runs them."""

NEEDS: Mapping[str, Capability] = {
    "group_shares_partitions": Capability.REBALANCE,
    "pause_ends_with_its_assignment": Capability.REBALANCE,
    "transaction_commits_records_and_offsets": Capability.TRANSACTIONS,
    "aborted_transaction_is_invisible": Capability.TRANSACTIONS,
    "same_transactional_id_fences": Capability.TRANSACTIONS,
}
"""The capability each check needs; checks not named here need none."""


@attrs.frozen
class ConformanceReport:
    """What :func:`check_transport` found: the checks passed, and those not run and why.

    ``not_run`` maps a check's name to the reason: the capability it needs, and what the
    transport said about lacking it. ``str(report)`` is a summary, one line per check not
    run.
    """

    passed: tuple[str, ...]
    not_run: Mapping[str, str] = attrs.field(factory=dict)

    def __str__(self) -> str:
        lines = [f"{len(self.passed)} checks passed; {len(self.not_run)} not run"]
        lines.extend(f"  not run: {name}: {why}" for name, why in self.not_run.items())
        return "\n".join(lines)


async def _limitations(factory: TransportFactory) -> dict[Capability, str]:
    """What the factory's transports lack (asked of one, never started)."""
    made = factory()
    transport = await made if inspect.isawaitable(made) else made
    try:
        return limitations_of(transport)
    finally:
        await transport.stop()


async def check_transport_async(
    factory: TransportFactory,
    *,
    only: Iterable[str] | None = None,
    timeout: float = 30.0,
) -> ConformanceReport:
    """Run the checks (all, or those named in ``only``) inside a running event loop.

    ``timeout`` bounds each wait for records. Returns a :class:`ConformanceReport`; a check
    whose capability the transport lacks is not run, and the report says why. Raises
    :class:`ConformanceError` listing every check that failed, and ``KeyError`` for a name
    not in :data:`CHECKS`.
    """
    names = list(CHECKS) if only is None else list(only)
    unknown = [name for name in names if name not in CHECKS]
    if unknown:
        msg = f"unknown checks: {', '.join(unknown)} (known: {', '.join(CHECKS)})"
        raise KeyError(msg)
    lacking = await _limitations(factory)
    failures: list[ConformanceError] = []
    passed: list[str] = []
    not_run: dict[str, str] = {}
    for name in names:
        needed = NEEDS.get(name)
        if needed is not None and needed in lacking:
            not_run[name] = f"needs {needed.value}: {lacking[needed]}"
            continue
        run = Run(name, factory, timeout)
        try:
            await CHECKS[name](run)
            passed.append(name)
        except ConformanceError as exc:
            failures.append(exc)
        except Exception as exc:  # noqa: BLE001 (any other error is a failure of this check)
            error = run.fail(f"raised {type(exc).__name__}: {exc}")
            error.__cause__ = exc
            failures.append(error)
        finally:
            await run.close()
    if len(failures) == 1:
        raise failures[0]
    if failures:
        lines = [f"{len(failures)} transport checks failed:"]
        lines.extend(f"  {failure}" for failure in failures)
        error = ConformanceError("\n".join(lines))
        error.__cause__ = failures[0]
        raise error
    return ConformanceReport(tuple(passed), not_run)


def check_transport(
    factory: TransportFactory,
    *,
    only: Iterable[str] | None = None,
    timeout: float = 30.0,
) -> ConformanceReport:
    """Check that the transports ``factory`` makes honour the Transport contract.

    Runs :func:`check_transport_async` in a new event loop (so call it from synchronous
    code, such as a plain test function) and returns its report. See the module docstring.
    """
    return asyncio.run(check_transport_async(factory, only=only, timeout=timeout))
