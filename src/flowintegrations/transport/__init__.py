"""Pluggable transports: the :class:`Transport` contract, in memory and Kafka."""

from flowintegrations.transport.base import (
    Headers,
    RebalanceListener,
    Record,
    Subscription,
    TopicPartition,
    Transport,
)
from flowintegrations.transport.kafka import KafkaTransport
from flowintegrations.transport.memory import InMemoryBroker, InMemoryTransport

__all__ = [
    "Headers",
    "InMemoryBroker",
    "InMemoryTransport",
    "KafkaTransport",
    "RebalanceListener",
    "Record",
    "Subscription",
    "TopicPartition",
    "Transport",
]
