"""What the Kafka transport's clients need of it: the :class:`TransportHost` protocol.

A :class:`~flowintegrations.transport.kafka.subscription.KafkaSubscription` and a
:class:`~flowintegrations.transport.kafka.transactions.KafkaTransactionalProducer` are made
by :class:`~flowintegrations.transport.kafka.transport.KafkaTransport` and use a few of its
services. They know it by this protocol only, so that the transport imports them and they
do not import the transport back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from flowintegrations.errors import TransportBrokenError
from flowintegrations.transport.kafka.config import Redactor

__all__ = ["TransportHost"]


class TransportHost(Protocol):
    """The services of a Kafka transport to the clients it makes."""

    @property
    def timeout(self) -> float:
        """Seconds a blocking client call may take."""

    @property
    def commit_timeout(self) -> float:
        """Seconds a commit, or leaving the group, may take before it is given up on."""

    @property
    def flush_timeout(self) -> float:
        """Seconds to wait for unacknowledged records when closing."""

    @property
    def state_dir(self) -> Path:
        """Where what must survive a restart is kept."""

    @property
    def redactor(self) -> Redactor:
        """What removes the transport's secrets from text."""

    @property
    def broken(self) -> TransportBrokenError | None:
        """Why the transport cannot work any more (``None``: it can)."""

    def check_running(self) -> None:
        """Raise unless the transport is running and not broken."""

    def client_config(self, kind: str, error_cb: Callable[[Any], None]) -> dict[str, Any]:
        """The librdkafka configuration of a new ``kind`` client, secrets included."""

    def warn(self, text: str) -> None:
        """Log a client's warning, once per kind and half-minute."""

    def forget(self, subscription: object) -> None:
        """``subscription`` closed: the transport no longer closes it."""
