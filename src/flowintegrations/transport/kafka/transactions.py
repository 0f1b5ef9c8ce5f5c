"""Exactly once on Kafka: :class:`KafkaTransactionalProducer`.

A transactional librdkafka producer whose transactions carry the consumed offsets of a
:class:`~flowintegrations.transport.kafka.KafkaSubscription`'s group
(``send_offsets_to_transaction`` with the consumer's group metadata, KIP-447): the
records produced and the offsets committed become visible together, or not at all, to
readers with ``isolation.level=read_committed`` (the default of every consumer this
package makes).

Zombies are fenced the two ways the protocol intends: a new producer with the same
``transactional.id`` (the App derives it from its group and the partitions assigned)
aborts the open transaction of the old one and fences it at ``init_transactions``; and
the group metadata sent with the offsets lets the coordinator refuse offsets from a
member of an older generation. A fenced producer's calls raise
:class:`~flowintegrations.errors.TransportBrokenError`.

Records are produced and their delivery reports served exactly as by the transport's
own producer (:class:`~flowintegrations.transport.kafka.producer.KafkaProducer`, on the
event loop's thread); the blocking transaction calls run on a thread of their own, only
once every record produced is acknowledged, so that no delivery callback runs there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from flowintegrations.errors import DeliveryError, TransportBrokenError, TransportError
from flowintegrations.transport.base import Record, TopicPartition
from flowintegrations.transport.kafka.clientthread import ClientThread
from flowintegrations.transport.kafka.config import log
from flowintegrations.transport.kafka.errors import (
    KafkaClientError,
    is_fatal,
    translate_error,
    translating,
)
from flowintegrations.transport.kafka.producer import KafkaProducer

if TYPE_CHECKING:
    from flowintegrations.transport.kafka.host import TransportHost
    from flowintegrations.transport.kafka.subscription import KafkaSubscription

__all__ = ["KafkaTransactionalProducer"]


class KafkaTransactionalProducer:
    """A :class:`~flowintegrations.transport.TransactionalProducer` on Kafka.

    Made by :meth:`KafkaTransport.transactional_producer`; see the module docstring.
    """

    def __init__(
        self,
        transport: TransportHost,
        subscription: KafkaSubscription,
        transactional_id: str,
    ) -> None:
        self.transactional_id = transactional_id
        self._transport = transport
        self._subscription = subscription
        self._redact = transport.redactor
        self._timeout = transport.timeout
        self._thread = ClientThread("flowintegrations-kafka-txn")
        self._client: Any = None
        self._producer: KafkaProducer | None = None
        self._failed: TransportBrokenError | None = None
        self._open = False
        self._closed = False

    def __repr__(self) -> str:
        return f"KafkaTransactionalProducer(transactional_id={self.transactional_id!r})"

    def _on_error(self, error: Any) -> None:
        exc = translate_error(
            KafkaClientError(error),
            action=f"transactional producer {self.transactional_id!r}",
            redact=self._redact,
        )
        if is_fatal(error):
            if self._failed is None:
                log.error("%s", exc)
            self._failed = TransportBrokenError(str(exc))
        else:
            self._transport.warn(str(exc))

    async def _blocking(self, action: str, call: Callable[[], Any]) -> Any:
        """Run a blocking librdkafka call on the transaction thread, errors translated."""
        loop = asyncio.get_running_loop()
        with translating(action, redact=self._redact):
            return await loop.run_in_executor(self._thread, call)

    async def start(self) -> None:
        """Create the producer and register its transactional id (fencing older ones)."""
        from confluent_kafka import Producer  # noqa: PLC0415 (the only place it is needed)

        transport = self._transport
        conf = transport.client_config("producer", self._on_error)
        conf["transactional.id"] = self.transactional_id
        conf.setdefault("acks", "all")
        conf.setdefault("enable.idempotence", True)
        with translating("creating a transactional Kafka producer", redact=self._redact):
            self._client = client = Producer(conf)
        timeout = self._timeout
        await self._blocking(
            f"registering transactional id {self.transactional_id!r}",
            lambda: client.init_transactions(timeout),
        )
        loop = asyncio.get_running_loop()
        self._producer = KafkaProducer(
            client,
            loop,
            redact=self._redact,
            check_running=self._check_usable,
            replaceable=False,
            on_failure=self._on_error,
        )
        self._producer.start()

    def _check_usable(self) -> None:
        if self._closed:
            msg = f"the transactional producer {self.transactional_id!r} is closed"
            raise TransportBrokenError(msg)
        if self._failed is not None:
            raise self._failed
        self._transport.check_running()

    async def begin(self) -> None:
        """Start a transaction (a local call: no round trip)."""
        self._check_usable()
        with translating("beginning a transaction", redact=self._redact):
            self._client.begin_transaction()
        self._open = True

    async def produce(self, record: Record) -> asyncio.Future[Record]:
        """Queue ``record`` in the open transaction; a future of the record as written."""
        self._check_usable()
        assert self._producer is not None
        return await self._producer.produce(record)

    async def produce_batch(self, records: Sequence[Record]) -> asyncio.Future[None]:
        """Queue ``records`` in the open transaction; one future of them all."""
        self._check_usable()
        assert self._producer is not None
        return await self._producer.produce_batch(records)

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Wait for the records produced, send ``offsets`` to the transaction, commit it.

        On failure the transaction is aborted and the error raised; a fenced or failed
        producer raises ``TransportBrokenError``.
        """
        self._check_usable()
        assert self._producer is not None
        timeout = self._timeout
        try:
            await self._acknowledged()
            client = self._client
            if offsets:
                parts, metadata = self._subscription.transaction_offsets(offsets)
                await self._blocking(
                    "sending the offsets to the transaction",
                    lambda: client.send_offsets_to_transaction(parts, metadata, timeout),
                )
            await self._blocking(
                "committing the transaction", lambda: client.commit_transaction(timeout)
            )
        except TransportError as exc:
            if self._failed is not None or isinstance(exc, TransportBrokenError):
                self._open = False
                raise self._failed or exc from exc
            await self.abort()
            raise
        self._open = False

    async def _acknowledged(self) -> None:
        """Wait until every record produced is acknowledged; fail as soon as fenced."""
        producer = self._producer
        assert producer is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._transport.flush_timeout
        while True:
            try:
                await producer.wait_idle(0.05)
            except DeliveryError:
                if self._failed is not None:
                    raise self._failed from None
                if loop.time() > deadline:
                    raise
                continue
            return

    async def abort(self) -> None:
        """Abort the open transaction (records in it fail their futures, never visible)."""
        if not self._open or self._client is None:
            return
        self._open = False
        client = self._client
        timeout = self._timeout
        try:
            await self._blocking(
                "aborting the transaction", lambda: client.abort_transaction(timeout)
            )
        except TransportError as exc:
            log.warning("%s", exc)
        if self._producer is not None:
            self._producer.serve()

    async def close(self) -> None:
        """Abort a transaction left open, release the producer. Idempotent."""
        if self._closed:
            return
        try:
            if self._failed is None:
                await self.abort()
        finally:
            self._closed = True
            if self._producer is not None:
                await self._producer.close(0.0)
            self._thread.shutdown(wait=False)
