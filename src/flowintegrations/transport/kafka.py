"""The Kafka transport, on confluent-kafka (librdkafka). Kafka specifics live here alone.

:class:`KafkaTransport` implements :class:`~flowintegrations.transport.Transport`:

* **Producing.** One idempotent producer (``acks=all``, ``enable.idempotence=true``) per
  transport. :meth:`~KafkaTransport.produce` hands the record to librdkafka and returns a
  future at once (it waits only while librdkafka's queue is full). A dedicated thread polls
  for delivery reports and resolves the futures on the event loop in batches: one
  ``call_soon_threadsafe`` per poll round, not per record.
* **Consuming.** Every :class:`KafkaSubscription` owns a consumer (auto-commit off, offsets
  committed explicitly, ``auto.offset.reset=earliest``) and a thread of its own on which
  every blocking librdkafka call runs, so the event loop never blocks. Rebalance callbacks
  run on that thread inside ``consume()``; they are handed to the async
  :class:`~flowintegrations.transport.RebalanceListener` on the loop and waited for. While
  the listener runs, :meth:`~KafkaSubscription.commit` is executed by the waiting consumer
  thread itself, so a listener may commit the partitions being revoked without deadlock.
* **Topics.** :meth:`~KafkaTransport.ensure_topics` reads the cluster's metadata (bounded
  by ``timeout``) and raises :class:`~flowintegrations.errors.TopicNotFoundError` naming the
  missing topics, or creates them (``num_partitions``, ``replication_factor``) when the
  transport was made with ``create_topics=True``.
* **Errors.** Every confluent-kafka exception is translated into a
  :class:`~flowintegrations.errors.TransportError` subclass by :func:`translate_error`, the
  original kept as ``__cause__``. No confluent-kafka type crosses this module's API.

Settings
--------
``config`` is a mapping of librdkafka settings; each client (producer, consumer, admin)
gets the keys that apply to it. Security settings come, in increasing precedence, from
environment variables, from ``config``, and from the keyword arguments:

====================================================  ===================================
environment variable                                   librdkafka setting (argument)
====================================================  ===================================
``FLOWINTEGRATIONS_KAFKA_SECURITY_PROTOCOL``           ``security.protocol``
                                                       (``security_protocol``)
``FLOWINTEGRATIONS_KAFKA_SASL_MECHANISM``              ``sasl.mechanism``
                                                       (``sasl_mechanism``: PLAIN,
                                                       SCRAM-SHA-256, SCRAM-SHA-512)
``FLOWINTEGRATIONS_KAFKA_SASL_USERNAME``               ``sasl.username`` (``sasl_username``)
``FLOWINTEGRATIONS_KAFKA_SASL_PASSWORD``               ``sasl.password`` (``sasl_password``;
                                                       a password or a token)
``FLOWINTEGRATIONS_KAFKA_SSL_CA_LOCATION``             ``ssl.ca.location``
``FLOWINTEGRATIONS_KAFKA_SSL_CERTIFICATE_LOCATION``    ``ssl.certificate.location``
``FLOWINTEGRATIONS_KAFKA_SSL_KEY_LOCATION``            ``ssl.key.location``
``FLOWINTEGRATIONS_KAFKA_SSL_KEY_PASSWORD``            ``ssl.key.password``
``FLOWINTEGRATIONS_KAFKA_SSL_ENDPOINT_IDENTIFICATION_  ``ssl.endpoint.identification.``
ALGORITHM``                                            ``algorithm``
====================================================  ===================================

Secrets (passwords, tokens, private keys) never appear in a repr, a log line or an error
message: they are redacted from librdkafka's log lines and error strings before those
reach Python logging or an exception.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import queue
import time
from collections.abc import Callable, Collection, Coroutine, Iterable, Mapping, Sequence
from typing import Any

from flowintegrations.errors import (
    DeliveryError,
    TopicNotFoundError,
    TransportBrokenError,
    TransportClosedError,
    TransportError,
)
from flowintegrations.transport.base import RebalanceListener, Record, TopicPartition

__all__ = ["ENV_SETTINGS", "KafkaSubscription", "KafkaTransport", "translate_error"]

log = logging.getLogger("flowintegrations.transport.kafka")

ENV_PREFIX = "FLOWINTEGRATIONS_KAFKA_"

ENV_SETTINGS: Mapping[str, str] = {
    "SECURITY_PROTOCOL": "security.protocol",
    "SASL_MECHANISM": "sasl.mechanism",
    "SASL_USERNAME": "sasl.username",
    "SASL_PASSWORD": "sasl.password",
    "SSL_CA_LOCATION": "ssl.ca.location",
    "SSL_CERTIFICATE_LOCATION": "ssl.certificate.location",
    "SSL_KEY_LOCATION": "ssl.key.location",
    "SSL_KEY_PASSWORD": "ssl.key.password",
    "SSL_ENDPOINT_IDENTIFICATION_ALGORITHM": "ssl.endpoint.identification.algorithm",
}
"""``FLOWINTEGRATIONS_KAFKA_<NAME>`` environment variables and the setting each one sets."""

_SECRET_MARKERS = ("password", "secret", "token", "jaas", "key.pem", "oauthbearer.config")

# librdkafka settings that only a consumer or only a producer understands (CONFIGURATION.md
# marks them C or P); every other setting is global and goes to every client.
_CONSUMER_ONLY = frozenset(
    {
        "allow.auto.create.topics",
        "auto.commit.enable",
        "auto.commit.interval.ms",
        "auto.offset.reset",
        "check.crcs",
        "client.rack",
        "consume.callback.max.messages",
        "coordinator.query.interval.ms",
        "enable.auto.commit",
        "enable.auto.offset.store",
        "enable.partition.eof",
        "fetch.error.backoff.ms",
        "fetch.max.bytes",
        "fetch.message.max.bytes",
        "fetch.min.bytes",
        "fetch.queue.backoff.ms",
        "fetch.wait.max.ms",
        "group.id",
        "group.instance.id",
        "group.protocol",
        "group.protocol.type",
        "group.remote.assignor",
        "heartbeat.interval.ms",
        "isolation.level",
        "max.partition.fetch.bytes",
        "max.poll.interval.ms",
        "offset.store.method",
        "offset_commit_cb",
        "on_commit",
        "partition.assignment.strategy",
        "queued.max.messages.kbytes",
        "queued.min.messages",
        "session.timeout.ms",
    }
)
_PRODUCER_ONLY = frozenset(
    {
        "acks",
        "batch.num.messages",
        "batch.size",
        "compression.codec",
        "compression.level",
        "compression.type",
        "delivery.report.only.error",
        "delivery.timeout.ms",
        "dr_cb",
        "dr_msg_cb",
        "enable.gapless.guarantee",
        "enable.idempotence",
        "linger.ms",
        "message.send.max.retries",
        "message.timeout.ms",
        "on_delivery",
        "partitioner",
        "queue.buffering.backpressure.threshold",
        "queue.buffering.max.kbytes",
        "queue.buffering.max.messages",
        "queue.buffering.max.ms",
        "queuing.strategy",
        "request.required.acks",
        "request.timeout.ms",
        "retries",
        "sticky.partitioning.linger.ms",
        "transaction.timeout.ms",
        "transactional.id",
    }
)

_NEW, _RUNNING, _STOPPING, _STOPPED = "new", "running", "stopping", "stopped"

_PREFETCH_KBYTES = 8192
"""Consumer default for ``queued.max.messages.kbytes``: what librdkafka may prefetch."""

_PREFETCH_MESSAGES = 10_000
"""Consumer default for ``queued.min.messages`` (per partition)."""

_PREFETCH_BACKOFF_MS = 10
"""Consumer default for ``fetch.queue.backoff.ms``: the wait once the prefetch is full."""


def is_secret_setting(name: str) -> bool:
    """Whether the librdkafka setting ``name`` holds a secret (redacted everywhere)."""
    lowered = name.lower()
    return any(marker in lowered for marker in _SECRET_MARKERS)


class _Redactor:
    """Removes known secret values from text (error strings, librdkafka log lines)."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        secrets = {
            str(value)
            for key, value in settings.items()
            if is_secret_setting(key) and value not in (None, "")
        }
        # Longest first, so a secret containing another is removed whole.
        self._secrets = sorted(secrets, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "[redacted]")
        return text


class _RedactingLogger:
    """What confluent-kafka logs librdkafka's lines to: our logger, secrets removed."""

    def __init__(self, logger: logging.Logger, redact: _Redactor) -> None:
        self._logger = logger
        self._redact = redact

    def log(self, level: int, msg: str, *args: object) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, "%s", self._redact(msg % args if args else msg))


# The one boundary: confluent-kafka exceptions -> ours ------------------------------------------

_BROKEN_CODES = frozenset(
    {
        "_ALL_BROKERS_DOWN",
        "_AUTHENTICATION",
        "_FATAL",
        "_RESOLVE",
        "_SSL",
        "_TRANSPORT",
        "CLUSTER_AUTHORIZATION_FAILED",
        "GROUP_AUTHORIZATION_FAILED",
        "SASL_AUTHENTICATION_FAILED",
        "TOPIC_AUTHORIZATION_FAILED",
        "UNSUPPORTED_SASL_MECHANISM",
        "ILLEGAL_SASL_STATE",
    }
)
_CLOSED_CODES = frozenset({"_DESTROY", "_DESTROY_BROKER"})
_MISSING_TOPIC_CODES = frozenset({"UNKNOWN_TOPIC_OR_PART", "_UNKNOWN_TOPIC", "UNKNOWN_TOPIC_ID"})
_DELIVERY_CODES = frozenset(
    {
        "_MSG_TIMED_OUT",
        "_PURGE_QUEUE",
        "_PURGE_INFLIGHT",
        "_QUEUE_FULL",
        "_UNKNOWN_PARTITION",
        "MSG_SIZE_TOO_LARGE",
        "MESSAGE_TOO_LARGE",
        "RECORD_LIST_TOO_LARGE",
        "INVALID_RECORD",
        "NOT_ENOUGH_REPLICAS",
        "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
        "OUT_OF_ORDER_SEQUENCE_NUMBER",
        "INVALID_TIMESTAMP",
    }
)


def _is_fatal(error: Any) -> bool:
    try:
        return bool(error.fatal())
    except Exception:  # noqa: BLE001
        return False


def _error_name(error: Any) -> str:
    try:
        name = error.name()
    except Exception:  # noqa: BLE001 (a foreign object: describe it by its text)
        return ""
    return str(name)


def translate_error(
    exc: BaseException,
    *,
    action: str,
    redact: Callable[[str], str] = str,
    topics: Iterable[str] = (),
) -> TransportError:
    """Translate a confluent-kafka exception (or error) into one of ours, without raising it.

    ``action`` says what was being done ("producing", "committing", ...) and starts the
    message; ``redact`` removes secrets from librdkafka's text; ``topics`` names the topics
    concerned, for :class:`~flowintegrations.errors.TopicNotFoundError`. The caller raises
    the result ``from exc``. A ``BufferError`` (librdkafka's queue is full) and any error
    of a delivery report become :class:`~flowintegrations.errors.DeliveryError`;
    an unrecognised exception becomes a plain :class:`TransportError`.
    """
    if isinstance(exc, TransportError):
        return exc
    error = exc.args[0] if exc.args and hasattr(exc.args[0], "code") else None
    if error is None and hasattr(exc, "code") and hasattr(exc, "fatal"):
        error = exc  # a KafkaError itself
    if error is None:
        detail = redact(str(exc)) or type(exc).__name__
        if isinstance(exc, BufferError):
            return DeliveryError(f"{action}: the local queue is full ({detail})")
        if isinstance(exc, RuntimeError) and "closed" in detail.lower():
            return TransportClosedError(f"{action}: {detail}")
        return TransportError(f"{action}: {detail}")
    name = _error_name(error)
    try:
        text = redact(str(error.str()))
    except Exception:  # noqa: BLE001 (a foreign object: describe it by its text)
        text = redact(str(error))
    detail = f"{action}: {text} ({name})" if name else f"{action}: {text}"
    if _is_fatal(error) or name in _BROKEN_CODES:
        return TransportBrokenError(detail)
    if name in _CLOSED_CODES:
        return TransportClosedError(detail)
    names = tuple(topics)
    if name in _MISSING_TOPIC_CODES and names:
        return TopicNotFoundError(names)
    if name in _DELIVERY_CODES or name in _MISSING_TOPIC_CODES or action.startswith("deliver"):
        return DeliveryError(detail)
    return TransportError(detail)


def _tp_name(tp: TopicPartition) -> str:
    return f"{tp.topic}[{tp.partition}]"


# The transport ------------------------------------------------------------------------------------


class KafkaTransport:
    """A :class:`~flowintegrations.transport.Transport` on a Kafka cluster (confluent-kafka).

    ``bootstrap_servers`` is ``host:port[,host:port...]``. ``config`` holds librdkafka
    settings (see the module docstring for how they are shared out and for the security
    settings and their environment variables). With ``create_topics=True``,
    :meth:`ensure_topics` creates missing topics with ``num_partitions`` partitions and
    ``replication_factor`` replicas (for development); otherwise it raises
    ``TopicNotFoundError``. ``timeout`` bounds every metadata and admin request, and
    ``flush_timeout`` how long :meth:`stop` waits for unacknowledged records.
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
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if not bootstrap_servers:
            msg = "bootstrap_servers cannot be empty"
            raise ValueError(msg)
        env = os.environ if environ is None else environ
        settings: dict[str, Any] = {}
        for suffix, key in ENV_SETTINGS.items():
            value = env.get(ENV_PREFIX + suffix)
            if value:
                settings[key] = value
        settings.update(config or {})
        arguments = {
            "security.protocol": security_protocol,
            "sasl.mechanism": sasl_mechanism,
            "sasl.username": sasl_username,
            "sasl.password": sasl_password,
            "ssl.ca.location": ssl_ca_location,
            "ssl.certificate.location": ssl_certificate_location,
            "ssl.key.location": ssl_key_location,
            "ssl.key.password": ssl_key_password,
        }
        settings.update({key: value for key, value in arguments.items() if value is not None})
        if "sasl.mechanisms" in settings and "sasl.mechanism" in settings:
            settings.pop("sasl.mechanisms")
        settings["bootstrap.servers"] = bootstrap_servers
        settings.setdefault("client.id", client_id)
        self.bootstrap_servers = bootstrap_servers
        self.create_missing_topics = create_topics
        self.num_partitions = num_partitions
        self.replication_factor = replication_factor
        self.timeout = timeout
        self.flush_timeout = flush_timeout
        self._settings = settings
        self._redact = _Redactor(settings)
        self._state = _NEW
        self._loop: asyncio.AbstractEventLoop | None = None
        self._producer: Any = None
        self._admin: Any = None
        self._pump: asyncio.Task[None] | None = None
        self._pump_wakeup: asyncio.Future[None] | None = None
        self._since_serve = 0
        self._in_flight = 0
        self._idle: asyncio.Event | None = None
        self._subscriptions: list[KafkaSubscription] = []
        self._broken: TransportBrokenError | None = None

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
        """The librdkafka settings in effect, secrets replaced by ``"[redacted]"``."""
        return {
            key: "[redacted]" if is_secret_setting(key) else value
            for key, value in sorted(self._settings.items())
        }

    def _client_config(self, kind: str) -> dict[str, Any]:
        excluded = {
            "producer": _CONSUMER_ONLY,
            "consumer": _PRODUCER_ONLY,
            "admin": _CONSUMER_ONLY | _PRODUCER_ONLY,
        }[kind]
        conf = {key: value for key, value in self._settings.items() if key not in excluded}
        conf["logger"] = _RedactingLogger(log, self._redact)
        conf["error_cb"] = self._on_client_error
        return conf

    def _on_client_error(self, error: Any) -> None:
        exc = translate_error(
            _KafkaClientError(error), action="kafka client error", redact=self._redact
        )
        if isinstance(exc, TransportBrokenError) and _is_fatal(error):
            self._broken = exc
            log.error("%s", exc)
        else:
            log.warning("%s", exc)

    # Lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the clients and check that the cluster answers (within ``timeout``).

        Idempotent while running; raises ``TransportClosedError`` after :meth:`stop` and
        ``TransportBrokenError`` when the cluster does not answer.
        """
        if self._state == _RUNNING:
            return
        if self._state != _NEW:
            msg = "the transport was stopped and cannot be started again"
            raise TransportClosedError(msg)
        from confluent_kafka import Producer  # noqa: PLC0415 (the only place it is needed)
        from confluent_kafka.admin import AdminClient  # noqa: PLC0415

        loop = asyncio.get_running_loop()
        producer_conf = self._client_config("producer")
        producer_conf.setdefault("acks", "all")
        producer_conf.setdefault("enable.idempotence", True)
        try:
            self._admin = AdminClient(self._client_config("admin"))
            self._producer = Producer(producer_conf)
        except Exception as exc:
            raise translate_error(
                exc, action="creating the Kafka clients", redact=self._redact
            ) from exc
        self._loop = loop
        self._idle = asyncio.Event()
        self._idle.set()
        try:
            await self._metadata()
        except TransportError:
            self._producer = self._admin = None
            raise
        self._pump = loop.create_task(self._pump_deliveries(), name="flowintegrations-kafka-acks")
        self._state = _RUNNING

    async def stop(self) -> None:
        """Close subscriptions, wait for unacknowledged records, close the clients.

        Idempotent. Records still unacknowledged after ``flush_timeout`` fail with
        ``DeliveryError``.
        """
        if self._state in (_STOPPING, _STOPPED):
            return
        if self._state == _NEW:
            self._state = _STOPPED
            return
        self._state = _STOPPING
        try:
            for subscription in list(self._subscriptions):
                await subscription.close()
            try:
                await self._wait_idle(self.flush_timeout)
            except DeliveryError as exc:
                log.warning("stopping with unacknowledged records: %s", exc)
            pump, self._pump = self._pump, None
            if pump is not None:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump
            producer = self._producer
            if producer is not None and self._in_flight:
                await asyncio.get_running_loop().run_in_executor(None, self._purge, producer)
                self._serve()
        finally:
            self._producer = self._admin = None
            self._state = _STOPPED

    def _purge(self, producer: Any) -> None:
        producer.purge()
        producer.flush(1.0)

    def _check_running(self) -> None:
        if self._state != _RUNNING:
            if self._state == _NEW:
                msg = "the transport is not started: await transport.start() first"
                raise TransportError(msg)
            msg = "the transport was stopped"
            raise TransportClosedError(msg)
        if self._broken is not None:
            raise self._broken

    # Producing ------------------------------------------------------------------------------

    def _serve(self) -> None:
        """Serve librdkafka's delivery reports (never blocks): their callbacks settle futures."""
        self._since_serve = 0
        self._producer.poll(0)
        if self._in_flight <= 0:
            self._in_flight = 0
            assert self._idle is not None
            self._idle.set()

    async def _pump_deliveries(self) -> None:
        """Serve delivery reports every millisecond while records are in flight.

        The reports are served on the loop's own thread with a non-blocking ``poll(0)``:
        a thread calling ``poll()`` would take and release the GIL once per report and
        fight the loop for it (measured: about 4x slower).
        """
        loop = asyncio.get_running_loop()
        while True:
            self._serve()
            if self._in_flight:
                await asyncio.sleep(0.001)
                continue
            # Idle: still serve error callbacks and logs now and then; wake on a produce.
            wakeup = self._pump_wakeup = loop.create_future()
            timer = loop.call_later(0.1, _set_if_pending, wakeup)
            try:
                await wakeup
            finally:
                timer.cancel()
                self._pump_wakeup = None

    async def produce(self, record: Record) -> asyncio.Future[Record]:
        """Queue ``record``; return a future of the record as written (see the protocol).

        Waits while librdkafka's queue is full. The future fails with ``DeliveryError``.
        """
        if self._state is not _RUNNING or self._broken is not None:
            self._check_running()
        loop = self._loop
        assert loop is not None
        future: asyncio.Future[Record] = loop.create_future()

        # Runs inside poll(0) on the loop's thread: settle the future right there.
        def on_delivery(error: Any, message: Any) -> None:
            self._in_flight -= 1
            if future.cancelled():
                return
            if error is None:
                future.set_result(
                    Record(
                        record.topic,
                        record.key,
                        record.value,
                        record.headers,
                        message.partition(),
                        message.offset(),
                        message.timestamp()[1],
                    )
                )
            else:
                future.set_exception(self._delivery_error(record, error))

        while True:
            try:
                self._enqueue(record, on_delivery)
            except BufferError:
                # librdkafka's queue is full: serve reports, give the network a moment.
                self._serve()
                await asyncio.sleep(0.0005)
                self._check_running()
                continue
            return future

    async def produce_batch(self, records: Sequence[Record]) -> asyncio.Future[None]:
        """Queue ``records`` in order; return one future of the acknowledgement of them all.

        For callers that only need to know when a whole batch is written (the App's
        replies): one future and one small callback for the batch instead of a future and
        a written :class:`Record` per record. The future resolves to ``None`` once every
        record is acknowledged, or fails with the first
        :class:`~flowintegrations.errors.DeliveryError`. Waits while librdkafka's queue
        is full, like :meth:`produce`.
        """
        if self._state is not _RUNNING or self._broken is not None:
            self._check_running()
        loop = self._loop
        assert loop is not None
        future: asyncio.Future[None] = loop.create_future()
        remaining = len(records)
        if not remaining:
            future.set_result(None)
            return future

        def on_delivery(error: Any, message: Any) -> None:
            nonlocal remaining
            self._in_flight -= 1
            if future.done():
                return
            if error is not None:
                future.set_exception(self._delivery_error(Record(str(message.topic())), error))
                return
            remaining -= 1
            if not remaining:
                future.set_result(None)

        enqueue = self._enqueue
        for record in records:
            while True:
                try:
                    enqueue(record, on_delivery)
                except BufferError:
                    self._serve()
                    await asyncio.sleep(0.0005)
                    self._check_running()
                    continue
                except TransportError as exc:
                    if not future.done():
                        future.set_exception(exc)
                    raise
                break
        return future

    def _enqueue(self, record: Record, on_delivery: Callable[[Any, Any], None]) -> None:
        """Hand ``record`` to librdkafka; raises ``BufferError`` while its queue is full."""
        headers = record.headers
        partition = record.partition
        try:
            self._producer.produce(
                record.topic,
                record.value,
                record.key,
                partition=-1 if partition is None else partition,
                on_delivery=on_delivery,
                timestamp=record.timestamp or 0,
                headers=list(headers) if headers else None,
            )
        except BufferError:
            raise
        except Exception as exc:
            raise translate_error(
                exc, action=f"producing to {record.topic!r}", redact=self._redact
            ) from exc
        self._in_flight += 1
        if self._in_flight == 1:
            assert self._idle is not None
            self._idle.clear()
            wakeup = self._pump_wakeup
            if wakeup is not None and not wakeup.done():
                wakeup.set_result(None)
        self._since_serve += 1
        if self._since_serve >= 256:
            self._serve()

    def _delivery_error(self, record: Record, error: Any) -> DeliveryError:
        exc = translate_error(
            _KafkaClientError(error),
            action=f"delivering a record to {record.topic!r}",
            redact=self._redact,
        )
        if not isinstance(exc, DeliveryError):
            exc = DeliveryError(str(exc))
        exc.__cause__ = _KafkaClientError(error)
        return exc

    async def send(self, record: Record) -> Record:
        """Deliver ``record`` and return it as written, once the broker acknowledged it."""
        return await (await self.produce(record))

    async def flush(self, timeout: float | None = None) -> None:
        """Wait until every record produced so far is acknowledged or failed.

        Raises ``DeliveryError`` if some are still pending after ``timeout`` seconds.
        """
        self._check_running()
        await self._wait_idle(timeout)

    async def _wait_idle(self, timeout: float | None) -> None:
        if self._idle is None or self._idle.is_set():
            return
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except asyncio.TimeoutError:
            msg = f"{self._in_flight} records still unacknowledged after {timeout} s"
            raise DeliveryError(msg) from None

    # Topics ---------------------------------------------------------------------------------

    async def _metadata(self) -> set[str]:
        """The names of the cluster's topics (bounded by ``timeout``)."""
        admin = self._admin
        loop = asyncio.get_running_loop()
        try:
            metadata = await loop.run_in_executor(
                None, lambda: admin.list_topics(timeout=self.timeout)
            )
        except Exception as exc:
            translated = translate_error(
                exc,
                action=f"reading metadata from {self.bootstrap_servers}",
                redact=self._redact,
            )
            if type(translated) is TransportError:
                broken = TransportBrokenError(str(translated))
                raise broken from exc
            raise translated from exc
        return {
            name
            for name, topic in metadata.topics.items()
            if topic.error is None or _error_name(topic.error) not in _MISSING_TOPIC_CODES
        }

    async def ensure_topics(self, topics: Collection[str]) -> None:
        """Check that every topic exists; create missing ones if ``create_topics=True``.

        Raises ``TopicNotFoundError`` naming every missing topic.
        """
        self._check_running()
        existing = await self._metadata()
        missing = sorted(set(topics) - existing)
        if not missing:
            return
        if not self.create_missing_topics:
            raise TopicNotFoundError(missing)
        await self.create_topics(missing, partitions=self.num_partitions)

    async def create_topics(self, topics: Collection[str], *, partitions: int = 1) -> None:
        """Create the topics that do not exist yet; wait until the metadata shows them."""
        self._check_running()
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
                try:
                    future.result(timeout)
                except Exception as exc:
                    error = exc.args[0] if exc.args else None
                    if error is not None and _error_name(error) == "TOPIC_ALREADY_EXISTS":
                        continue
                    raise translate_error(
                        exc, action=f"creating topic {name!r}", redact=self._redact
                    ) from exc

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
        self._check_running()
        if not topics:
            msg = "subscribe to at least one topic"
            raise ValueError(msg)
        if not group_id:
            msg = "group_id cannot be empty"
            raise ValueError(msg)
        conf = self._client_config("consumer")
        conf["group.id"] = group_id
        conf["enable.auto.commit"] = False
        conf["enable.auto.offset.store"] = False
        conf.setdefault("auto.offset.reset", "earliest")
        # librdkafka prefetches up to 100,000 records a partition (64 MiB in all) by default,
        # so a consumer facing a deep backlog holds far more than its owner will take soon,
        # and memory grows with the backlog. A few hundred ms of reading at full speed is all
        # a consumer needs. Past these bounds librdkafka waits fetch.queue.backoff.ms before
        # it looks again: 1 s by default, which would starve a fast consumer (measured 3x
        # slower), hence the short wait. Set any of them in ``config`` to change them.
        conf.setdefault("queued.max.messages.kbytes", _PREFETCH_KBYTES)
        conf.setdefault("queued.min.messages", _PREFETCH_MESSAGES)
        conf.setdefault("fetch.queue.backoff.ms", _PREFETCH_BACKOFF_MS)
        assert self._loop is not None
        subscription = KafkaSubscription(self, conf, list(topics), listener, self._loop)
        await subscription._start()
        self._subscriptions.append(subscription)
        return subscription

    def _forget(self, subscription: KafkaSubscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)


class _KafkaClientError(Exception):
    """Wraps a bare KafkaError (from a callback) so it can be translated and chained."""

    def __init__(self, error: Any) -> None:
        super().__init__(error)


_LISTENER_DONE = object()


class KafkaSubscription:
    """One consumer in a Kafka consumer group; see :class:`KafkaTransport`.

    Implements :class:`~flowintegrations.transport.Subscription`. Every blocking call runs
    on the subscription's own thread. Closing does not call the listener (the owner, who
    closes, knows the partitions go) and does not commit.
    """

    def __init__(
        self,
        transport: KafkaTransport,
        conf: dict[str, Any],
        topics: list[str],
        listener: RebalanceListener | None,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._transport = transport
        self._conf = conf
        self._group_id: str = conf["group.id"]
        self.topics = tuple(topics)
        self._listener = listener
        self._loop = loop
        self._redact = transport._redact
        self._consumer: Any = None
        self._thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="flowintegrations-kafka-consumer"
        )
        self._assignment: set[TopicPartition] = set()
        # How often each partition was revoked: a commit asked for before a revocation must
        # not be carried out after it (the new owner may have moved on).
        self._revocations: dict[TopicPartition, int] = {}
        self._closed = False
        self._closing = False
        self._revoked_in_fetch = False
        self._in_listener = False
        self._requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._ctp: Any = None

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"KafkaSubscription(group_id={self._group_id!r}, topics={list(self.topics)!r}, "
            f"assigned={len(self._assignment)}, {state})"
        )

    @property
    def group_id(self) -> str:
        """The consumer group this member belongs to."""
        return self._group_id

    def assignment(self) -> frozenset[TopicPartition]:
        """The partitions currently assigned to this member."""
        return frozenset(self._assignment)

    async def _start(self) -> None:
        from confluent_kafka import Consumer  # noqa: PLC0415
        from confluent_kafka import TopicPartition as KafkaTopicPartition  # noqa: PLC0415

        self._ctp = KafkaTopicPartition

        def create() -> Any:
            consumer = Consumer(self._conf)
            consumer.subscribe(
                list(self.topics),
                on_assign=self._on_assign,
                on_revoke=self._on_revoke,
                on_lost=self._on_lost,
            )
            return consumer

        try:
            self._consumer = await self._loop.run_in_executor(self._thread, create)
        except Exception as exc:
            self._thread.shutdown(wait=False)
            raise translate_error(
                exc, action=f"joining group {self._group_id!r}", redact=self._redact
            ) from exc

    def _check_open(self) -> None:
        if self._closed:
            msg = f"the subscription of group {self._group_id!r} is closed"
            raise TransportClosedError(msg)
        broken = self._transport._broken
        if broken is not None:
            raise broken

    # On the consumer thread --------------------------------------------------------------

    def _to_tps(self, partitions: list[Any]) -> frozenset[TopicPartition]:
        return frozenset(TopicPartition(p.topic, p.partition) for p in partitions)

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        tps = self._to_tps(partitions)
        self._assignment |= tps
        if self._listener is not None and tps and not self._closing:
            self._run_listener(self._listener.on_partitions_assigned(tps))

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        tps = self._to_tps(partitions)
        self._revoked_in_fetch = True
        try:
            if self._listener is not None and tps and not self._closing:
                self._run_listener(self._listener.on_partitions_revoked(tps))
        finally:
            self._assignment -= tps
            for tp in tps:
                self._revocations[tp] = self._revocations.get(tp, 0) + 1
            self._unpause(consumer, partitions)

    def _unpause(self, consumer: Any, partitions: list[Any]) -> None:
        """Clear the pause of revoked ``partitions``: a pause ends with its assignment.

        librdkafka keeps a partition paused by the application across an unassign, so a
        partition paused when revoked and later assigned to this member again would never
        be fetched: its new holder (the app) knows nothing of that pause.
        """
        if not partitions or self._closing:
            return
        try:
            consumer.resume(partitions)
        except Exception as exc:  # noqa: BLE001 - a failed resume must not break the rebalance
            log.warning(
                "%s",
                translate_error(exc, action="resuming revoked partitions", redact=self._redact),
            )

    def _on_lost(self, consumer: Any, partitions: list[Any]) -> None:
        self._on_revoke(consumer, partitions)

    def _run_listener(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run a listener coroutine on the loop; serve its commits here until it is done."""
        requests = self._requests
        self._in_listener = True
        try:
            future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)

            def listener_done() -> None:
                # Runs on the loop, where commit() reads the flag and queues in one step: a
                # commit asked for after this takes the executor path, and every one queued
                # before it is ahead of the marker, so none is left in the queue unserved.
                self._in_listener = False
                requests.put(_LISTENER_DONE)

            def on_done(_: object) -> None:
                # Usually called on the loop already; when the coroutine ended before the
                # callback was added, on this thread: then the loop is asked to do it.
                try:
                    on_loop = asyncio.get_running_loop() is self._loop
                except RuntimeError:
                    on_loop = False
                if on_loop:
                    listener_done()
                    return
                try:
                    self._loop.call_soon_threadsafe(listener_done)
                except RuntimeError:  # the loop is closed: nobody can commit any more
                    listener_done()

            future.add_done_callback(on_done)
            while True:
                try:
                    item = requests.get(timeout=0.5)
                except queue.Empty:
                    if future.done() and not self._loop.is_running():
                        break  # the loop is gone before it could say so: nothing can come
                    continue
                if item is _LISTENER_DONE:
                    break
                offsets, reply = item
                try:
                    self._commit_now(offsets)
                except TransportError as exc:
                    self._loop.call_soon_threadsafe(_settle_reply, reply, exc)
                else:
                    self._loop.call_soon_threadsafe(_settle_reply, reply, None)
        finally:
            self._in_listener = False
        future.result()

    def _fetch(self, max_records: int, timeout: float) -> list[Record]:
        consumer = self._consumer
        self._revoked_in_fetch = False
        messages = consumer.consume(max_records, 0)
        if not messages and timeout > 0:
            deadline = time.monotonic() + timeout
            while not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                # One record ends the wait; then take whatever else is already fetched.
                messages = consumer.consume(1, min(remaining, 0.1))
                if messages:
                    if max_records > 1:
                        messages += consumer.consume(max_records - 1, 0)
                    break
        records: list[Record] = []
        append = records.append
        for message in messages:
            if message.error() is not None:
                self._message_error(message)
                continue
            headers = message.headers()
            if headers is None:
                headers = ()
            else:
                headers = tuple(headers)
                for _, value in headers:
                    if value is None:
                        headers = tuple((k, b"" if v is None else v) for k, v in headers)
                        break
            value = message.value()
            append(
                Record(
                    message.topic(),
                    message.key(),
                    b"" if value is None else value,
                    headers,
                    message.partition(),
                    message.offset(),
                    message.timestamp()[1],
                )
            )
        if self._revoked_in_fetch:
            # Records of partitions revoked during this fetch belong to their new owner.
            held = self._assignment
            records = [r for r in records if TopicPartition(r.topic, r.partition or 0) in held]
        return records

    def _message_error(self, message: Any) -> None:
        error = message.error()
        exc = translate_error(
            _KafkaClientError(error), action=f"consuming {message.topic()!r}", redact=self._redact
        )
        if _is_fatal(error):
            raise exc
        log.warning("%s", exc)

    def _commit_now(self, offsets: Mapping[TopicPartition, int]) -> None:
        ctp = self._ctp
        parts = [ctp(tp.topic, tp.partition, offset) for tp, offset in offsets.items()]
        try:
            result = self._consumer.commit(offsets=parts, asynchronous=False)
        except Exception as exc:
            raise translate_error(
                exc, action=f"committing for group {self._group_id!r}", redact=self._redact
            ) from exc
        failed = [p for p in result or () if p.error is not None]
        if failed:
            details = ", ".join(
                f"{p.topic}[{p.partition}]: {self._redact(str(p.error.str()))}" for p in failed
            )
            msg = f"committing for group {self._group_id!r} failed: {details}"
            raise TransportError(msg)

    # On the loop -------------------------------------------------------------------------

    async def getmany(self, *, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        """Return up to ``max_records`` records, waiting up to ``timeout`` s for the first.

        Rebalance callbacks (and the listener) run inside this call.
        """
        self._check_open()
        if max_records < 1:
            msg = f"max_records must be at least 1, not {max_records}"
            raise ValueError(msg)
        try:
            records = await self._loop.run_in_executor(
                self._thread, self._fetch, max_records, timeout
            )
        except TransportError:
            raise
        except Exception as exc:
            if type(exc).__module__.startswith(("confluent_kafka", "cimpl")) or (
                isinstance(exc, RuntimeError) and "closed" in str(exc)
            ):
                raise translate_error(
                    exc, action=f"consuming for group {self._group_id!r}", redact=self._redact
                ) from exc
            raise  # the listener's own exception
        self._check_open()
        return records

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit ``offsets`` (next offset to read, per partition); wait for the coordinator.

        Commits run on the consumer thread, in order with fetches and rebalances. The
        offsets of a partition that is revoked before the commit runs are dropped, even if
        the partition came back since: they are its new owner's to commit.
        """
        self._check_open()
        if not offsets:
            return
        offsets = dict(offsets)
        if self._in_listener:
            # The consumer thread is waiting for the listener: it does the commit itself.
            reply: asyncio.Future[None] = self._loop.create_future()
            self._requests.put((offsets, reply))
            await reply
            return
        asked = {tp: self._revocations.get(tp, 0) for tp in offsets}
        await self._loop.run_in_executor(self._thread, self._commit_if_held, offsets, asked)

    def _commit_if_held(
        self, offsets: Mapping[TopicPartition, int], asked: Mapping[TopicPartition, int]
    ) -> None:
        """On the consumer thread: commit the offsets of partitions held since ``asked``."""
        held = {
            tp: offset
            for tp, offset in offsets.items()
            if tp in self._assignment and self._revocations.get(tp, 0) == asked[tp]
        }
        if held:
            self._commit_now(held)

    def pause(self, partitions: Iterable[TopicPartition]) -> None:
        """Stop fetching ``partitions`` until :meth:`resume` or until they are revoked."""
        self._check_open()
        self._pause_resume("pause", partitions)

    def resume(self, partitions: Iterable[TopicPartition]) -> None:
        """Fetch ``partitions`` again, from where reading left off."""
        self._check_open()
        self._pause_resume("resume", partitions)

    def _pause_resume(self, action: str, partitions: Iterable[TopicPartition]) -> None:
        parts = [self._ctp(tp.topic, tp.partition) for tp in partitions]
        if not parts:
            return
        try:
            getattr(self._consumer, action)(parts)
        except Exception as exc:
            raise translate_error(exc, action=f"{action} partitions", redact=self._redact) from exc

    async def close(self) -> None:
        """Leave the group promptly, without committing or calling the listener. Idempotent."""
        if self._closed:
            return
        self._closed = self._closing = True
        self._transport._forget(self)
        consumer = self._consumer
        try:
            if consumer is not None:
                await self._loop.run_in_executor(self._thread, consumer.close)
        except Exception as exc:
            raise translate_error(
                exc, action=f"leaving group {self._group_id!r}", redact=self._redact
            ) from exc
        finally:
            self._thread.shutdown(wait=False)


def _set_if_pending(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _settle_reply(reply: asyncio.Future[None], error: BaseException | None) -> None:
    if reply.done():
        return
    if error is None:
        reply.set_result(None)
    else:
        reply.set_exception(error)
