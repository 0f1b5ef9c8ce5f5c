"""Kafka client settings: where they come from, which client gets which, what is secret.

``config`` is a mapping of librdkafka settings; each client (producer, consumer, admin)
gets the keys that apply to it (:func:`client_config`). Security settings come, in
increasing precedence, from environment variables, from ``config``, and from the keyword
arguments of :class:`~flowintegrations.transport.KafkaTransport` (:func:`resolve_settings`):

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

Secrets (passwords, tokens, private keys: :func:`is_secret_setting`) never appear in a
repr, a log line or an error message: :class:`Redactor` replaces their values with
:data:`~flowintegrations.vocabulary.REDACTED` in librdkafka's log lines
(:class:`RedactingLogger`) and error strings before those reach Python logging or an
exception.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from flowintegrations.repeats import Repeats, kind_of, with_count
from flowintegrations.vocabulary import KAFKA_SETTING_PREFIX, MAX_MESSAGE_BYTES, REDACTED, redact

__all__ = [
    "ENV_PREFIX",
    "ENV_SETTINGS",
    "RedactingLogger",
    "Redactor",
    "client_config",
    "consumer_config",
    "is_secret_setting",
    "redacted_settings",
    "resolve_settings",
]

log = logging.getLogger("flowintegrations.transport.kafka")

ENV_PREFIX = KAFKA_SETTING_PREFIX
"""The prefix of the environment variables in :data:`ENV_SETTINGS`."""

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
_EXCLUDED = {
    "producer": _CONSUMER_ONLY,
    "consumer": _PRODUCER_ONLY,
    "admin": _CONSUMER_ONLY | _PRODUCER_ONLY,
}

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


class Redactor:
    """Removes the values of the secret settings in ``settings`` from text.

    Called with a text (an error string, a librdkafka log line), returns it with every
    secret value replaced by :data:`~flowintegrations.vocabulary.REDACTED`, through
    :func:`flowintegrations.vocabulary.redact` (which also finds escaped and truncated
    forms of a secret).
    """

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.secrets: tuple[str, ...] = tuple(
            sorted(
                {
                    str(value)
                    for key, value in settings.items()
                    if is_secret_setting(key) and value not in (None, "")
                }
            )
        )

    def __call__(self, text: str) -> str:
        """``text`` without any secret value."""
        return redact(text, self.secrets) if self.secrets else text


class RedactingLogger:
    """What confluent-kafka logs librdkafka's lines to: ``logger``, secrets removed.

    A line that repeats (every reconnect attempt during an outage) is logged once per
    kind and half-minute, with the count of those held back (:class:`Repeats`).
    """

    def __init__(self, logger: logging.Logger, redactor: Callable[[str], str]) -> None:
        self._logger = logger
        self._redact = redactor
        self._repeats = Repeats()

    def log(self, level: int, msg: str, *args: object) -> None:
        """Log one line of librdkafka's at ``level``, secrets removed."""
        if self._logger.isEnabledFor(level):
            text = self._redact(msg % args if args else msg)
            held = self._repeats.admit(kind_of(text))
            if held is not None:
                self._logger.log(level, "%s", with_count(text, held))


def resolve_settings(
    bootstrap_servers: str,
    *,
    config: Mapping[str, Any] | None,
    arguments: Mapping[str, Any],
    environ: Mapping[str, str],
    client_id: str,
) -> dict[str, Any]:
    """The librdkafka settings in effect: environment, then ``config``, then ``arguments``.

    ``arguments`` maps librdkafka setting names to the keyword arguments given (``None``
    for those left out). ``bootstrap_servers`` always wins; ``client_id`` is the default
    ``client.id``.
    """
    settings: dict[str, Any] = {}
    for suffix, key in ENV_SETTINGS.items():
        value = environ.get(ENV_PREFIX + suffix)
        if value:
            settings[key] = value
    settings.update(config or {})
    settings.update({key: value for key, value in arguments.items() if value is not None})
    if "sasl.mechanisms" in settings and "sasl.mechanism" in settings:
        settings.pop("sasl.mechanisms")
    settings["bootstrap.servers"] = bootstrap_servers
    settings.setdefault("client.id", client_id)
    return settings


def redacted_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` sorted by name, every secret value replaced by ``REDACTED``."""
    return {
        key: REDACTED if is_secret_setting(key) else value
        for key, value in sorted(settings.items())
    }


def client_config(
    settings: Mapping[str, Any],
    kind: str,
    *,
    redactor: Callable[[str], str],
    error_cb: Callable[[Any], None],
) -> dict[str, Any]:
    """The configuration of one ``kind`` of client: ``"producer"``, ``"consumer"``, ``"admin"``.

    Only the settings that apply to that kind; librdkafka's log lines go to this package's
    logger with secrets removed, and its client errors to ``error_cb``.
    """
    excluded = _EXCLUDED[kind]
    conf = {key: value for key, value in settings.items() if key not in excluded}
    if kind == "producer":
        # The size the codec accepts: whatever it decoded can be dead-lettered (librdkafka's
        # own default, 1,000,000, is smaller than a request the App accepts).
        conf.setdefault("message.max.bytes", MAX_MESSAGE_BYTES)
    conf["logger"] = RedactingLogger(log, redactor)
    conf["error_cb"] = error_cb
    return conf


def consumer_config(conf: Mapping[str, Any], group_id: str) -> dict[str, Any]:
    """A consumer configuration for group ``group_id``: offsets are committed explicitly.

    Auto-commit and auto offset store are off, a group without a committed offset starts
    at the earliest record, and the prefetch is bounded (see below); settings in ``conf``
    override the bounds and the reset policy.
    """
    conf = dict(conf)
    conf["group.id"] = group_id
    conf["enable.auto.commit"] = False
    conf["enable.auto.offset.store"] = False
    conf.setdefault("auto.offset.reset", "earliest")
    # librdkafka's default too, said out loud: records of open or aborted transactions
    # (an App with exactly_once=True) are never read, by the engine nor by an adapter.
    conf.setdefault("isolation.level", "read_committed")
    # librdkafka prefetches up to 100,000 records a partition (64 MiB in all) by default,
    # so a consumer facing a deep backlog holds far more than its owner will take soon,
    # and memory grows with the backlog. A few hundred ms of reading at full speed is all
    # a consumer needs. Past these bounds librdkafka waits fetch.queue.backoff.ms before
    # it looks again: 1 s by default, which would starve a fast consumer (measured 3x
    # slower), hence the short wait. Set any of them in ``config`` to change them.
    conf.setdefault("queued.max.messages.kbytes", _PREFETCH_KBYTES)
    conf.setdefault("queued.min.messages", _PREFETCH_MESSAGES)
    conf.setdefault("fetch.queue.backoff.ms", _PREFETCH_BACKOFF_MS)
    return conf
