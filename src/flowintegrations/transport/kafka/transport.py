"""The Kafka transport, on confluent-kafka (librdkafka): :class:`KafkaTransport`.

It implements :class:`~flowintegrations.transport.Transport` out of three parts:

* **Producing** (:mod:`.producer`): one idempotent producer per transport; delivery
  reports are served on the event loop's thread, without a thread of their own.
* **Consuming** (:mod:`.subscription`): every :meth:`~KafkaTransport.subscribe` makes a
  :class:`~flowintegrations.transport.kafka.KafkaSubscription`, one consumer with a thread
  of its own for librdkafka's blocking calls.
* **Topics**: :meth:`~KafkaTransport.ensure_topics` reads the cluster's metadata (bounded
  by ``timeout``) and raises :class:`~flowintegrations.errors.TopicNotFoundError` naming the
  missing topics, or creates them (``num_partitions``, ``replication_factor``) when the
  transport was made with ``create_topics=True``.

**Broker outages** are ridden out: librdkafka reconnects by itself, and its repeated
complaints are logged once per kind and half-minute (:class:`~flowintegrations.repeats.Repeats`).
The producer is replaced (:meth:`KafkaProducer.replace`) when librdkafka declares it failed
for good, or when it has records in flight, no acknowledgement for ``stall_timeout``
seconds, and the cluster answers metadata (an idempotent producer whose broker restarted
without its state waits forever otherwise). Only a producer failing again and again
(``max_replacements`` within a minute) breaks the transport. A broken transport stops at
once: nothing more can be delivered, so :meth:`stop` does not wait for acknowledgements.

Settings are shared out and secrets kept out of text by :mod:`.config`; every
confluent-kafka exception becomes a :class:`~flowintegrations.errors.TransportError`
subclass at the one boundary of :mod:`.errors`, the original kept as ``__cause__``. No
confluent-kafka type crosses this package's API.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from flowintegrations.errors import (
    TopicNotFoundError,
    TransportBrokenError,
    TransportClosedError,
    TransportError,
)
from flowintegrations.repeats import Repeats, kind_of, with_count
from flowintegrations.transport.base import (
    Lifecycle,
    RebalanceListener,
    Record,
    Subscription,
    check_subscription,
)
from flowintegrations.transport.kafka.config import (
    Redactor,
    client_config,
    consumer_config,
    log,
    redacted_settings,
    resolve_settings,
)
from flowintegrations.transport.kafka.errors import (
    MISSING_TOPIC_CODES,
    KafkaClientError,
    error_name,
    is_fatal,
    translate_error,
    translating,
)
from flowintegrations.transport.kafka.poison import state_directory
from flowintegrations.transport.kafka.producer import KafkaProducer
from flowintegrations.transport.kafka.subscription import KafkaSubscription
from flowintegrations.transport.kafka.transactions import KafkaTransactionalProducer
from flowintegrations.transport.waiting import cancel_and_wait

__all__ = ["KafkaTransport"]


_WATCH_EVERY = 1.0
"""Seconds between two looks at whether the producer is stuck."""


class KafkaTransport:
    """A :class:`~flowintegrations.transport.Transport` on a Kafka cluster (confluent-kafka).

    ``bootstrap_servers`` is ``host:port[,host:port...]``. ``config`` holds librdkafka
    settings; each client gets the keys that apply to it. The security settings may also
    be given as keyword arguments or ``FLOWINTEGRATIONS_KAFKA_*`` environment variables
    (read from ``environ``, by default ``os.environ``); see
    :mod:`flowintegrations.transport.kafka.config`. With ``create_topics=True``,
    :meth:`ensure_topics` creates missing topics with ``num_partitions`` partitions and
    ``replication_factor`` replicas (for development); otherwise it raises
    ``TopicNotFoundError``. ``timeout`` bounds every metadata and admin request, and
    ``flush_timeout`` how long :meth:`stop` waits for unacknowledged records. A producer
    with records in flight and no acknowledgement for ``stall_timeout`` seconds while the
    cluster answers is replaced, as is one librdkafka declares failed; more than
    ``max_replacements`` replacements within a minute break the transport.
    ``commit_timeout`` bounds a subscription's commit and its leaving the group: a commit
    that takes longer fails with ``TransportError`` (its records are delivered again), and
    a consumer that does not close in time is left behind, with a warning, instead of
    hanging :meth:`stop` (:mod:`~flowintegrations.transport.kafka.clientthread`).
    ``state_dir`` keeps what must survive a restart: the records that crashed the client
    (:mod:`~flowintegrations.transport.kafka.poison`); by default
    ``$FLOWINTEGRATIONS_STATE_DIR``, else ``~/.local/state/flowintegrations``.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        config: Mapping[str, Any] | None = None,
        security_protocol: str | None = None,
        sasl_mechanism: str | None = None,
        sasl_username: str | None = None,
        sasl_password: str | None = None,
        ssl_ca_location: str | None = None,
        ssl_certificate_location: str | None = None,
        ssl_key_location: str | None = None,
        ssl_key_password: str | None = None,
        create_topics: bool = False,
        num_partitions: int = 1,
        replication_factor: int = 1,
        client_id: str = "flowintegrations",
        timeout: float = 10.0,
        flush_timeout: float = 30.0,
        stall_timeout: float = 5.0,
        commit_timeout: float = 30.0,
        max_replacements: int = 3,
        environ: Mapping[str, str] | None = None,
        state_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if not bootstrap_servers:
            msg = "bootstrap_servers cannot be empty"
            raise ValueError(msg)
        settings = resolve_settings(
            bootstrap_servers,
            config=config,
            arguments={
                "security.protocol": security_protocol,
                "sasl.mechanism": sasl_mechanism,
                "sasl.username": sasl_username,
                "sasl.password": sasl_password,
                "ssl.ca.location": ssl_ca_location,
                "ssl.certificate.location": ssl_certificate_location,
                "ssl.key.location": ssl_key_location,
                "ssl.key.password": ssl_key_password,
            },
            environ=os.environ if environ is None else environ,
            client_id=client_id,
        )
        self.bootstrap_servers = bootstrap_servers
        self.state_dir = Path(state_dir) if state_dir is not None else state_directory(environ)
        self.create_missing_topics = create_topics
        self.num_partitions = num_partitions
        self.replication_factor = replication_factor
        self.timeout = timeout
        self.flush_timeout = flush_timeout
        self.stall_timeout = stall_timeout
        self.commit_timeout = commit_timeout
        self.max_replacements = max_replacements
        self._settings = settings
        self._redact = Redactor(settings)
        self._state = Lifecycle.NEW
        self._loop: asyncio.AbstractEventLoop | None = None
        self._producer: KafkaProducer | None = None
        self._admin: Any = None
        self._subscriptions: list[KafkaSubscription] = []
        self._broken: TransportBrokenError | None = None
        self._repeats = Repeats()
        self._watcher: asyncio.Task[None] | None = None
        self._replacing: asyncio.Task[None] | None = None
        self._replacements: list[float] = []

    def __repr__(self) -> str:
        settings = self._settings
        parts = [f"bootstrap_servers={self.bootstrap_servers!r}", f"state={self._state}"]
        parts.extend(
            f"{key.replace('.', '_')}={settings[key]!r}"
            for key in ("security.protocol", "sasl.mechanism", "sasl.username")
            if key in settings
        )
        return f"KafkaTransport({', '.join(parts)})"

    def settings(self) -> dict[str, Any]:
        """The librdkafka settings in effect, secrets replaced by ``"<redacted>"``."""
        return redacted_settings(self._settings)

    @property
    def redactor(self) -> Redactor:
        """What removes this transport's secrets from text (its clients' errors use it)."""
        return self._redact

    @property
    def broken(self) -> TransportBrokenError | None:
        """Why the transport cannot work any more (``None``: it can)."""
        return self._broken

    def client_config(self, kind: str, error_cb: Callable[[Any], None]) -> dict[str, Any]:
        """The librdkafka configuration of a new ``kind`` client (``"producer"``, ...).

        Secrets included, for the client alone: never log it (:meth:`settings` is the
        redacted view).
        """
        return client_config(self._settings, kind, redactor=self._redact, error_cb=error_cb)

    def _client_config(self, kind: str) -> dict[str, Any]:
        return self.client_config(kind, self._on_client_error)

    def _on_client_error(self, error: Any) -> None:
        exc = translate_error(
            KafkaClientError(error), action="kafka client error", redact=self._redact
        )
        if isinstance(exc, TransportBrokenError) and is_fatal(error):
            self._broken = exc
            log.error("%s", exc)
        else:
            self.warn(str(exc))

    def _on_producer_error(self, error: Any) -> None:
        """A producer's client error: a fatal one replaces the producer instead of breaking."""
        if not is_fatal(error):
            self._on_client_error(error)
            return
        exc = translate_error(
            KafkaClientError(error), action="kafka producer failed", redact=self._redact
        )
        log.warning("%s; replacing the producer", exc)
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(self._replace_producer, str(exc))

    def warn(self, text: str) -> None:
        """Log a warning, once per kind and half-minute (an outage repeats itself).

        Its clients (subscriptions, transactional producers) report their errors here.
        """
        held = self._repeats.admit(kind_of(text))
        if held is not None:
            log.warning("%s", with_count(text, held))

    # Replacing the producer ----------------------------------------------------------------

    def _new_producer_client(self) -> Any:
        from confluent_kafka import Producer  # noqa: PLC0415 (the only place it is needed)

        conf = client_config(
            self._settings, "producer", redactor=self._redact, error_cb=self._on_producer_error
        )
        conf.setdefault("acks", "all")
        conf.setdefault("enable.idempotence", True)
        with translating("creating the Kafka producer", redact=self._redact):
            return Producer(conf)

    def _replace_producer(self, reason: str) -> None:
        """Replace the producer (once at a time); break after too many in a minute."""
        if self._state is not Lifecycle.RUNNING or self._broken is not None:
            return
        if self._replacing is not None and not self._replacing.done():
            return
        now = time.monotonic()
        self._replacements = [t for t in self._replacements if now - t < 60.0] + [now]
        if len(self._replacements) > self.max_replacements:
            msg = (
                f"the Kafka producer failed {len(self._replacements)} times within a minute "
                f"and cannot be used: {reason}"
            )
            self._broken = TransportBrokenError(msg)
            log.error("%s", msg)
            return
        assert self._loop is not None
        self._replacing = self._loop.create_task(self._do_replace(reason))

    async def _do_replace(self, reason: str) -> None:
        producer = self._producer
        if producer is None:
            return
        try:
            client = self._new_producer_client()
        except TransportError as exc:
            log.error("cannot replace the Kafka producer: %s", exc)
            self._broken = TransportBrokenError(str(exc))
            return
        await producer.replace(client)
        log.warning(
            "replaced the Kafka producer (%s); producing its %d undelivered records again",
            reason,
            producer.in_flight,
        )

    async def _watch_producer(self) -> None:
        """Replace a producer that has records in flight and no progress, the cluster up."""
        while True:
            await asyncio.sleep(_WATCH_EVERY)
            producer = self._producer
            if producer is None or producer.stalled_for() < self.stall_timeout:
                continue
            try:
                await self._metadata()
            except TransportError:
                continue  # the cluster is away: librdkafka will reconnect; nothing to fix
            stalled = producer.stalled_for()
            if stalled >= self.stall_timeout:
                self._replace_producer(
                    f"no acknowledgement for {stalled:.0f} s while the cluster answers"
                )

    # Lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the clients and check that the cluster answers (within ``timeout``).

        Idempotent while running; raises ``TransportClosedError`` after :meth:`stop` and
        ``TransportBrokenError`` when the cluster does not answer.
        """
        if self._state is Lifecycle.RUNNING:
            return
        if self._state is not Lifecycle.NEW:
            msg = "the transport was stopped and cannot be started again"
            raise TransportClosedError(msg)
        from confluent_kafka.admin import AdminClient  # noqa: PLC0415

        loop = asyncio.get_running_loop()
        with translating("creating the Kafka clients", redact=self._redact):
            self._admin = AdminClient(self._client_config("admin"))
        client = self._new_producer_client()
        self._loop = loop
        try:
            await self._metadata()
        except TransportError:
            self._admin = None
            raise
        self._producer = KafkaProducer(
            client,
            loop,
            redact=self._redact,
            check_running=self.check_running,
            on_failure=self._on_producer_error,
        )
        self._producer.start()
        self._watcher = loop.create_task(self._watch_producer(), name="flowintegrations-watch")
        self._state = Lifecycle.RUNNING

    async def stop(self) -> None:
        """Close subscriptions, wait for unacknowledged records, close the clients.

        Idempotent. Records still unacknowledged after ``flush_timeout`` fail with
        ``DeliveryError``.
        """
        if self._state in {Lifecycle.STOPPING, Lifecycle.STOPPED}:
            return
        if self._state is Lifecycle.NEW:
            self._state = Lifecycle.STOPPED
            return
        self._state = Lifecycle.STOPPING
        for task in (self._watcher, self._replacing):
            if task is not None:
                await cancel_and_wait(task)
        try:
            for subscription in list(self._subscriptions):
                await subscription.close()
            if self._producer is not None:
                # Broken, or a record timed out (the cluster has been out of reach for
                # message.timeout.ms): nothing more will be delivered, do not wait for it.
                hopeless = self._broken is not None or self._producer.timed_out
                flush = 0.0 if hopeless else self.flush_timeout
                await self._producer.close(flush)
        finally:
            self._producer = self._admin = None
            self._state = Lifecycle.STOPPED

    def check_running(self) -> None:
        """Raise unless running and not broken (what :class:`Lifecycle` says, then the break)."""
        self._state.check_running()
        if self._broken is not None:
            raise self._broken

    # Producing ------------------------------------------------------------------------------

    async def produce(self, record: Record) -> asyncio.Future[Record]:
        """Queue ``record``; return a future of the record as written (see the protocol).

        Waits while librdkafka's queue is full. The future fails with ``DeliveryError``.
        """
        if self._state is not Lifecycle.RUNNING or self._broken is not None:
            self.check_running()
        assert self._producer is not None
        return await self._producer.produce(record)

    async def produce_batch(self, records: Sequence[Record]) -> asyncio.Future[None]:
        """Queue ``records`` in order; return one future of the acknowledgement of them all.

        For callers that only need to know when a whole batch is written (the App's
        replies): one future and one small callback for the batch instead of a future and
        a written :class:`~flowintegrations.transport.Record` per record. The future
        resolves to ``None`` once every record is acknowledged, or fails with the first
        :class:`~flowintegrations.errors.DeliveryError`. Waits while librdkafka's queue
        is full, like :meth:`produce`.
        """
        if self._state is not Lifecycle.RUNNING or self._broken is not None:
            self.check_running()
        assert self._producer is not None
        return await self._producer.produce_batch(records)

    async def send(self, record: Record) -> Record:
        """Deliver ``record`` and return it as written, once the broker acknowledged it."""
        return await (await self.produce(record))

    async def flush(self, timeout: float | None = None) -> None:
        """Wait until every record produced so far is acknowledged or failed.

        Raises ``DeliveryError`` if some are still pending after ``timeout`` seconds.
        """
        self.check_running()
        assert self._producer is not None
        await self._producer.wait_idle(timeout)

    # Topics ---------------------------------------------------------------------------------

    async def _metadata(self) -> set[str]:
        """The names of the cluster's topics (bounded by ``timeout``)."""
        admin = self._admin
        loop = asyncio.get_running_loop()
        # No answer (or an unrecognised failure) means the cluster cannot be used.
        with translating(
            f"reading metadata from {self.bootstrap_servers}",
            redact=self._redact,
            unrecognised=TransportBrokenError,
        ):
            metadata = await loop.run_in_executor(
                None, lambda: admin.list_topics(timeout=self.timeout)
            )
        return {
            name
            for name, topic in metadata.topics.items()
            if topic.error is None or error_name(topic.error) not in MISSING_TOPIC_CODES
        }

    async def ensure_topics(self, topics: Collection[str]) -> None:
        """Check that every topic exists; create missing ones if ``create_topics=True``.

        Raises ``TopicNotFoundError`` naming every missing topic.
        """
        self.check_running()
        existing = await self._metadata()
        missing = sorted(set(topics) - existing)
        if not missing:
            return
        if not self.create_missing_topics:
            raise TopicNotFoundError(missing)
        await self.create_topics(missing, partitions=self.num_partitions)

    async def create_topics(self, topics: Collection[str], *, partitions: int = 1) -> None:
        """Create the topics that do not exist yet; wait until the metadata shows them."""
        self.check_running()
        from confluent_kafka.cimpl import NewTopic  # noqa: PLC0415

        wanted = sorted(set(topics))
        if not wanted:
            return
        loop = asyncio.get_running_loop()
        admin = self._admin
        new = [NewTopic(name, partitions, self.replication_factor) for name in wanted]
        timeout = self.timeout

        def create() -> None:
            futures = admin.create_topics(new, operation_timeout=timeout, request_timeout=timeout)
            for name, future in futures.items():
                with translating(f"creating topic {name!r}", redact=self._redact):
                    try:
                        future.result(timeout)
                    except Exception as exc:
                        if not _already_exists(exc):
                            raise

        try:
            await loop.run_in_executor(None, create)
        except concurrent.futures.TimeoutError as exc:
            msg = f"creating topics {', '.join(wanted)}: no answer within {timeout} s"
            raise TransportError(msg) from exc
        deadline = loop.time() + timeout
        while True:
            missing = set(wanted) - await self._metadata()
            if not missing:
                return
            if loop.time() > deadline:
                raise TopicNotFoundError(missing)
            await asyncio.sleep(0.05)

    # Consuming ------------------------------------------------------------------------------

    async def subscribe(
        self,
        topics: Sequence[str],
        *,
        group_id: str,
        listener: RebalanceListener | None = None,
    ) -> KafkaSubscription:
        """Join consumer group ``group_id`` with a new consumer reading ``topics``."""
        self.check_running()
        check_subscription(topics, group_id)
        conf = consumer_config(self._client_config("consumer"), group_id)
        assert self._loop is not None
        subscription = KafkaSubscription(self, conf, list(topics), listener, self._loop)
        await subscription.start()
        self._subscriptions.append(subscription)
        return subscription

    async def transactional_producer(
        self, subscription: Subscription, transactional_id: str
    ) -> KafkaTransactionalProducer:
        """A transactional producer committing ``subscription``'s offsets (exactly once).

        Making it fences any earlier producer with ``transactional_id`` and aborts its open
        transaction; see :mod:`flowintegrations.transport.kafka.transactions`.
        """
        self.check_running()
        if not isinstance(subscription, KafkaSubscription):
            msg = f"{subscription!r} is not a subscription of a KafkaTransport"
            raise TypeError(msg)
        producer = KafkaTransactionalProducer(self, subscription, transactional_id)
        await producer.start()
        return producer

    def forget(self, subscription: object) -> None:
        """``subscription`` closed: it is no longer closed with the transport."""
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)


def _already_exists(exc: BaseException) -> bool:
    """Whether ``exc`` says that the topic being created exists already."""
    error = exc.args[0] if exc.args else None
    return error is not None and error_name(error) == "TOPIC_ALREADY_EXISTS"
