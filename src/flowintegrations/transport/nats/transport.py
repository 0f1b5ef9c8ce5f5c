"""The JetStream transport's lifecycle, topics and producing: :class:`JetStreamTransport`."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

import nats
import nats.errors
import nats.js.api
import nats.js.errors

from flowintegrations.errors import (
    DeliveryError,
    TopicNotFoundError,
    TransportBrokenError,
    TransportClosedError,
    TransportError,
)
from flowintegrations.transport.base import (
    Lifecycle,
    RebalanceListener,
    Record,
    check_subscription,
)
from flowintegrations.transport.capabilities import Capability
from flowintegrations.transport.nats.naming import kafka_partition, stream_name, subject
from flowintegrations.transport.nats.producer import Batch, Publisher
from flowintegrations.transport.nats.reader import ConsumerSettings
from flowintegrations.transport.nats.subscription import JetStreamSubscription
from flowintegrations.vocabulary import MAX_MESSAGE_BYTES

__all__ = ["JetStreamTransport"]

log = logging.getLogger("flowintegrations.transport.nats")

_CREDENTIALS = re.compile(r"//[^@/]*@")
_WEEK = 7 * 24 * 3600.0


def _redact(servers: str) -> str:
    return _CREDENTIALS.sub("//<redacted>@", servers)


class JetStreamTransport:
    """A :class:`~flowintegrations.transport.Transport` on NATS JetStream (nats-py).

    ``servers`` is a NATS URL (``nats://host:port``, several separated by commas; user and
    password in it are never shown). Every name on the server starts with ``prefix``
    (subjects) or its upper case (streams, the ``<PREFIX>_groups`` bucket). With
    ``create_topics=True``, :meth:`ensure_topics` creates missing topics with
    ``num_partitions`` partitions. A partition's stream keeps records for ``max_age``
    seconds (default 7 days, Kafka's default retention), each at most ``max_message_bytes``,
    in ``storage`` (``"file"`` or ``"memory"``) with ``replicas`` copies.

    Groups: a member renews its membership and leases every ``heartbeat`` seconds and
    looks for a rebalance as often; one silent for ``session_timeout`` seconds is out of
    the group (this applies when the bucket is made: the first transport to make it sets
    it). ``ack_wait``, ``max_ack_pending``, ``fetch`` (records a pull asks for) and
    ``fetch_expires`` (seconds a pull waits) shape the durable consumers. ``timeout``
    bounds every request to the server and every publish acknowledgement; ``flush_timeout``
    how long :meth:`stop` waits for acknowledgements. ``token``, ``user`` and ``password``
    authenticate; they are never shown.
    """

    def __init__(
        self,
        servers: str = "nats://127.0.0.1:4222",
        *,
        prefix: str = "fi",
        create_topics: bool = False,
        num_partitions: int = 1,
        max_age: float = _WEEK,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        storage: str = "file",
        replicas: int = 1,
        heartbeat: float = 0.5,
        session_timeout: float = 6.0,
        ack_wait: float = 60.0,
        max_ack_pending: int = 20_000,
        fetch: int = 256,
        fetch_expires: float = 5.0,
        timeout: float = 10.0,
        flush_timeout: float = 30.0,
        token: str | None = None,
        user: str | None = None,
        password: str | None = None,
        name: str = "flowintegrations",
    ) -> None:
        if not servers:
            msg = "servers cannot be empty"
            raise ValueError(msg)
        if not re.fullmatch(r"[A-Za-z0-9_-]+", prefix):
            msg = f"prefix {prefix!r} must be letters, digits, '_' or '-'"
            raise ValueError(msg)
        if storage not in ("file", "memory"):
            msg = f"storage must be 'file' or 'memory', not {storage!r}"
            raise ValueError(msg)
        if not 0 < heartbeat < session_timeout:
            msg = f"heartbeat ({heartbeat}) must be positive and below session_timeout"
            raise ValueError(msg)
        self.servers = servers
        self.prefix = prefix
        self.create_missing_topics = create_topics
        self.num_partitions = num_partitions
        self.max_age = max_age
        self.max_message_bytes = max_message_bytes
        self.storage = storage
        self.replicas = replicas
        self.heartbeat = heartbeat
        self.session_timeout = session_timeout
        self.timeout = timeout
        self.flush_timeout = flush_timeout
        self._consumer_settings = ConsumerSettings(
            ack_wait=ack_wait, max_ack_pending=max_ack_pending, fetch=fetch, expires=fetch_expires
        )
        self._auth = {"token": token, "user": user, "password": password}
        self._name = name
        self._bucket = f"{prefix.upper()}_groups"
        self._state = Lifecycle.NEW
        self._broken: TransportBrokenError | None = None
        self._nc: Any = None
        self._js: Any = None
        self._kv: Any = None
        self._subscriptions: list[JetStreamSubscription] = []
        self._partitions: dict[str, list[str]] = {}
        self._round_robin: dict[str, Iterator[int]] = {}
        self._publisher: Publisher | None = None

    @classmethod
    def from_settings(
        cls, servers: str, settings: Mapping[str, str], *, create_topics: bool = False
    ) -> JetStreamTransport:
        """A transport with keyword options given as text (``{"heartbeat": "0.2"}``).

        For the command line's ``--config KEY=VALUE``: each key is a keyword of this class
        (``prefix``, ``storage``, ``num_partitions``, ``heartbeat``, ...), each value is
        read as that keyword's type. Raises ``ValueError`` naming an unknown key or a value
        that is not of its type.
        """
        options: dict[str, Any] = {}
        for key, text in settings.items():
            kind = _SETTING_TYPES.get(key)
            if kind is None:
                known = ", ".join(sorted(_SETTING_TYPES))
                msg = f"unknown NATS setting {key!r} (known: {known})"
                raise ValueError(msg)
            try:
                options[key] = kind(text)
            except ValueError:
                msg = f"NATS setting {key!r} must be {kind.__name__}, got {text!r}"
                raise ValueError(msg) from None
        return cls(servers, create_topics=create_topics, **options)

    def __repr__(self) -> str:
        return f"JetStreamTransport(servers={_redact(self.servers)!r}, state={self._state})"

    def limitations(self) -> dict[Capability, str]:
        """What JetStream cannot give faithfully: transactions (see the package docstring)."""
        return {
            Capability.TRANSACTIONS: (
                "JetStream has no transactions: a reply cannot be published and its request "
                "acknowledged all or nothing"
            )
        }

    # Errors ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _translating(self, action: str) -> Iterator[None]:
        """nats-py's exceptions, raised while doing ``action``, as ours (original as cause)."""
        try:
            yield
        except TransportError:
            raise
        except (
            nats.errors.ConnectionClosedError,
            nats.errors.NoServersError,
            nats.errors.AuthorizationError,
            nats.js.errors.ServiceUnavailableError,
            nats.errors.NoRespondersError,
            nats.js.errors.NoStreamResponseError,
            OSError,
        ) as exc:
            msg = f"{action}: NATS at {_redact(self.servers)} cannot be used: {_describe(exc)}"
            raise TransportBrokenError(msg) from exc
        except asyncio.TimeoutError as exc:
            msg = f"{action}: no answer from NATS within {self.timeout} s"
            raise TransportError(msg) from exc
        except nats.errors.Error as exc:
            msg = f"{action}: {_describe(exc)}"
            raise TransportError(msg) from exc

    # Lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and check that JetStream answers (within ``timeout``).

        Idempotent while running; raises ``TransportClosedError`` after :meth:`stop` and
        ``TransportBrokenError`` when the server cannot be reached or has no JetStream.
        """
        if self._state is Lifecycle.RUNNING:
            return
        if self._state is not Lifecycle.NEW:
            msg = "the transport was stopped and cannot be started again"
            raise TransportClosedError(msg)
        auth = {key: value for key, value in self._auth.items() if value is not None}
        connecting = nats.connect(
            self.servers,
            name=self._name,
            connect_timeout=max(1, int(self.timeout)),
            max_reconnect_attempts=-1,
            allow_reconnect=True,
            error_cb=self._on_error,
            closed_cb=self._on_closed,
            **auth,
        )
        where = f"NATS at {_redact(self.servers)}"
        try:
            # Once connected, reconnecting goes on for ever; the first connection may not.
            nc = await asyncio.wait_for(connecting, self.timeout)
        except asyncio.TimeoutError as exc:
            msg = f"connecting: {where} cannot be used: no answer within {self.timeout} s"
            raise TransportBrokenError(msg) from exc
        except nats.errors.Error as exc:
            msg = f"connecting: {where} cannot be used: {_describe(exc)}"
            raise TransportBrokenError(msg) from exc
        try:
            js = nc.jetstream(timeout=self.timeout)
            with self._translating("checking JetStream"):
                await js.account_info()
            publisher = Publisher(nc, self.timeout)
            await publisher.start()
        except BaseException:
            await nc.close()
            raise
        self._nc, self._js, self._publisher = nc, js, publisher
        self._state = Lifecycle.RUNNING

    async def _on_error(self, exc: Exception) -> None:
        log.warning("NATS at %s: %s", _redact(self.servers), _describe(exc))

    async def _on_closed(self) -> None:
        if self._state is Lifecycle.RUNNING:
            self._broken = TransportBrokenError(
                f"the connection to NATS at {_redact(self.servers)} was closed"
            )

    async def stop(self) -> None:
        """Close subscriptions, wait for acknowledgements (``flush_timeout``), disconnect.

        Idempotent. Records unacknowledged after ``flush_timeout`` fail with
        ``DeliveryError``.
        """
        if self._state in {Lifecycle.STOPPING, Lifecycle.STOPPED}:
            return
        if self._state is Lifecycle.NEW:
            self._state = Lifecycle.STOPPED
            return
        self._state = Lifecycle.STOPPING
        assert self._publisher is not None
        try:
            for subscription in list(self._subscriptions):
                await subscription.close()
            if self._broken is None:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._publisher.idle.wait(), self.flush_timeout)
        finally:
            await self._publisher.close("the transport stopped before the broker acknowledged")
            with contextlib.suppress(Exception):
                await self._nc.close()
            self._state = Lifecycle.STOPPED

    def _check_running(self) -> None:
        """Raise unless running and not broken (what :class:`Lifecycle` says, then the break)."""
        self._state.check_running()
        if self._broken is not None:
            raise self._broken

    # Topics ---------------------------------------------------------------------------------

    async def _partition_count(self, topic: str) -> int:
        """The number of partitions of ``topic``; 0 when it does not exist."""
        known = self._partitions.get(topic)
        if known is not None:
            return len(known)
        name = stream_name(self.prefix.upper(), topic, 0)
        with self._translating(f"looking up topic {topic!r}"):
            try:
                info = await self._js.stream_info(name)
            except nats.js.errors.NotFoundError:
                return 0
        try:
            count = int(json.loads(info.config.description or "{}")["partitions"])
        except (ValueError, KeyError, TypeError):
            count = 1
        self._partitions[topic] = [subject(self.prefix, topic, p) for p in range(count)]
        return count

    async def ensure_topics(self, topics: Collection[str]) -> None:
        """Check that every topic exists; create missing ones if ``create_topics=True``.

        Raises ``TopicNotFoundError`` naming every missing topic.
        """
        self._check_running()
        missing = sorted({t for t in topics if not await self._partition_count(t)})
        if not missing:
            return
        if not self.create_missing_topics:
            raise TopicNotFoundError(missing)
        await self.create_topics(missing, partitions=self.num_partitions)

    async def create_topics(self, topics: Collection[str], *, partitions: int = 1) -> None:
        """Create the topics that do not exist yet: one stream for each partition."""
        self._check_running()
        if partitions < 1:
            msg = f"a topic needs at least one partition, not {partitions}"
            raise ValueError(msg)
        for topic in sorted(set(topics)):
            if await self._partition_count(topic):
                continue
            # Partition 0 last: it says how many there are, so it is made once all are.
            for p in [*range(1, partitions), 0]:
                config = nats.js.api.StreamConfig(
                    name=stream_name(self.prefix.upper(), topic, p),
                    subjects=[subject(self.prefix, topic, p)],
                    description=json.dumps(
                        {"topic": topic, "partition": p, "partitions": partitions}
                    ),
                    retention=nats.js.api.RetentionPolicy.LIMITS,
                    discard=nats.js.api.DiscardPolicy.OLD,
                    max_age=self.max_age,
                    max_msg_size=self.max_message_bytes,
                    storage=nats.js.api.StorageType(self.storage),
                    num_replicas=self.replicas,
                )
                with self._translating(f"creating topic {topic!r}"):
                    try:
                        await self._js.add_stream(config)
                    except nats.js.errors.BadRequestError as exc:
                        if exc.err_code != 10058:  # stream name already in use
                            raise
            await self._partition_count(topic)

    # Producing ------------------------------------------------------------------------------

    async def _publish(self, record: Record, target: Any) -> None:
        """Publish ``record`` with its acknowledgement going to ``target``."""
        topic = record.topic
        subjects = self._partitions.get(topic)
        if subjects is None:
            await self._partition_count(topic)
            subjects = self._partitions.get(topic)
            if subjects is None:
                msg = f"cannot deliver to topic {topic!r}: it does not exist"
                raise DeliveryError(msg)
        count = len(subjects)
        partition = record.partition
        if partition is None:
            if record.key is not None:
                partition = kafka_partition(record.key, count)
            else:
                turns = self._round_robin.get(topic)
                if turns is None:
                    turns = self._round_robin[topic] = itertools.cycle(range(count))
                partition = next(turns)
        elif not 0 <= partition < count:
            msg = f"cannot deliver to {topic!r}[{partition}]: it has {count} partitions"
            raise DeliveryError(msg)
        assert self._publisher is not None  # running (checked by the caller)
        await self._publisher.publish(subjects[partition], record, partition, target)

    async def produce(self, record: Record) -> asyncio.Future[Record]:
        """Queue ``record``; return a future of the record as written (see the protocol).

        The future fails with ``DeliveryError`` when the stream refuses the record or does
        not acknowledge it within ``timeout``.
        """
        self._check_running()
        future: asyncio.Future[Record] = asyncio.get_running_loop().create_future()
        await self._publish(record, future)
        return future

    async def produce_batch(self, records: Sequence[Record]) -> asyncio.Future[None]:
        """Queue ``records`` in order; return one future of the acknowledgement of them all.

        Every record is published at once (many in flight); the future resolves to
        ``None`` when the last acknowledgement arrives, or fails with the first
        ``DeliveryError``.
        """
        self._check_running()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not records:
            future.set_result(None)
            return future
        batch = Batch(future, len(records))
        for record in records:
            await self._publish(record, batch)
        return future

    async def send(self, record: Record) -> Record:
        """Deliver ``record`` and return it as written, once the stream acknowledged it."""
        return await (await self.produce(record))

    async def flush(self, timeout: float | None = None) -> None:
        """Wait until every record produced so far is acknowledged or failed.

        Raises ``DeliveryError`` if some are still pending after ``timeout`` seconds.
        """
        self._check_running()
        assert self._publisher is not None
        try:
            await asyncio.wait_for(self._publisher.idle.wait(), timeout)
        except asyncio.TimeoutError as exc:
            msg = f"{len(self._publisher.pending)} records not acknowledged within {timeout} s"
            raise DeliveryError(msg) from exc

    # Consuming ------------------------------------------------------------------------------

    async def subscribe(
        self,
        topics: Sequence[str],
        *,
        group_id: str,
        listener: RebalanceListener | None = None,
    ) -> JetStreamSubscription:
        """Join consumer group ``group_id`` as a new member reading ``topics``."""
        self._check_running()
        check_subscription(topics, group_id)
        for topic in topics:
            subject(self.prefix, topic, 0)  # a topic that cannot be a subject fails here
        with self._translating(f"joining group {group_id!r}"):
            if self._kv is None:
                self._kv = await self._group_bucket()
            subscription = JetStreamSubscription(self, topics, group_id, listener)
            await subscription._start()
        self._subscriptions.append(subscription)
        return subscription

    async def _group_bucket(self) -> Any:
        try:
            return await self._js.key_value(self._bucket)
        except nats.js.errors.BucketNotFoundError:
            return await self._js.create_key_value(
                bucket=self._bucket,
                history=1,
                ttl=self.session_timeout,
                description="flowintegrations consumer groups: members and partition leases",
            )

    def _forget(self, subscription: JetStreamSubscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)


_SETTING_TYPES: dict[str, Callable[[str], Any]] = {
    "prefix": str,
    "num_partitions": int,
    "max_age": float,
    "max_message_bytes": int,
    "storage": str,
    "replicas": int,
    "heartbeat": float,
    "session_timeout": float,
    "ack_wait": float,
    "max_ack_pending": int,
    "fetch": int,
    "fetch_expires": float,
    "timeout": float,
    "flush_timeout": float,
    "name": str,
}
"""The options :meth:`JetStreamTransport.from_settings` reads, and how."""


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
