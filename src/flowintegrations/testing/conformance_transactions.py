"""The transaction checks of the conformance suite (transports with SupportsTransactions).

Part of :mod:`flowintegrations.testing.conformance`, which runs them only on transports
that have :attr:`~flowintegrations.transport.Capability.TRANSACTIONS`, and reports them as
not run on the others.
"""

from __future__ import annotations

import asyncio
from typing import Any

from flowintegrations.errors import TransportBrokenError
from flowintegrations.testing.conformance_kit import Run, send_all
from flowintegrations.transport.base import (
    Record,
    Subscription,
    SupportsTransactions,
    TopicPartition,
    Transport,
)

__all__ = [
    "check_aborted_transaction_is_invisible",
    "check_same_transactional_id_fences",
    "check_transaction_commits_records_and_offsets",
]


def seen(future: asyncio.Future[Any]) -> None:
    """Retrieve the outcome of a send whose failure is expected (it is not checked)."""
    if not future.cancelled():
        future.exception()


async def transactional(run: Run) -> tuple[SupportsTransactions, Transport, Subscription] | None:
    """A started transport with transactions and a member of a fresh group, or None."""
    transport = await run.transport()
    if not isinstance(transport, SupportsTransactions):
        return None
    source = await run.topic_with(transport, 1, "source")
    await send_all(transport, [Record(source, value=b"%d" % i) for i in range(3)])
    member = await transport.subscribe([source], group_id=run.group())
    await run.read(member, 3, "the member reading the source")
    return transport, transport, member


async def check_transaction_commits_records_and_offsets(run: Run) -> None:
    """A committed transaction shows its records and moves its group's offsets with them."""
    made = await transactional(run)
    if made is None:
        return
    transactions, transport, member = made
    source, target = run.topic("source"), await run.topic_with(transport, 1, "target")
    producer = await transactions.transactional_producer(member, run.group("txn"))
    await producer.begin()
    sent = [await producer.produce(Record(target, value=v)) for v in (b"a", b"b")]
    await producer.commit({TopicPartition(source, 0): 3})
    await asyncio.gather(*sent)
    await producer.close()
    reader = await transport.subscribe([target], group_id=run.group("reader"))
    got = await run.read(reader, 2, "reading the committed transaction")
    run.expect([b"a", b"b"], [r.value for r in got], "records of the committed transaction")
    group = member.group_id
    await member.close()
    again = await transport.subscribe([source], group_id=group)
    await run.nothing_more(again, "the group after its offsets were committed in a transaction")


async def check_aborted_transaction_is_invisible(run: Run) -> None:
    """Records of an aborted transaction are never read; those of the next one are."""
    made = await transactional(run)
    if made is None:
        return
    transactions, transport, member = made
    target = await run.topic_with(transport, 1, "target")
    producer = await transactions.transactional_producer(member, run.group("txn"))
    await producer.begin()
    aborted = await producer.produce(Record(target, value=b"aborted"))
    aborted.add_done_callback(seen)
    await producer.abort()
    await producer.begin()
    committed = await producer.produce(Record(target, value=b"committed"))
    await producer.commit({})
    await committed
    await producer.close()
    reader = await transport.subscribe([target], group_id=run.group("reader"))
    got = await run.read(reader, 1, "reading after an aborted and a committed transaction")
    run.expect([b"committed"], [r.value for r in got], "records visible to a reader")
    await run.nothing_more(reader, "a reader after the committed transaction")


async def check_same_transactional_id_fences(run: Run) -> None:
    """A second producer with the same transactional id fences the first."""
    made = await transactional(run)
    if made is None:
        return
    transactions, transport, member = made
    target = await run.topic_with(transport, 1, "target")
    zombie = await transactions.transactional_producer(member, run.group("txn"))
    successor = await transactions.transactional_producer(member, run.group("txn"))
    try:
        await zombie.begin()
        sent = await zombie.produce(Record(target, value=b"zombie"))
        sent.add_done_callback(seen)
        await zombie.commit({})
    except TransportBrokenError:
        pass
    else:
        msg = "the first producer committed after a second one took its transactional id"
        raise run.fail(msg)
    finally:
        await zombie.close()
        await successor.close()
