"""Pluggable transports: the :class:`Transport` contract, in memory and Kafka."""

from flowintegrations.transport.base import (
    BatchProducer,
    Headers,
    Lifecycle,
    RebalanceListener,
    Record,
    Subscription,
    SupportsTransactions,
    TopicPartition,
    TransactionalProducer,
    Transport,
)
from flowintegrations.transport.capabilities import (
    Capability,
    DeclaresLimitations,
    limitations_of,
)
from flowintegrations.transport.kafka import KafkaTransport
from flowintegrations.transport.memory import InMemoryBroker, InMemoryTransport

__all__ = [
    "BatchProducer",
    "Capability",
    "DeclaresLimitations",
    "Headers",
    "InMemoryBroker",
    "InMemoryTransport",
    "KafkaTransport",
    "Lifecycle",
    "RebalanceListener",
    "Record",
    "Subscription",
    "SupportsTransactions",
    "TopicPartition",
    "TransactionalProducer",
    "Transport",
    "limitations_of",
]
