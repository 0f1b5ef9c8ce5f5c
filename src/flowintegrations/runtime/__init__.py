"""The runtime: the handling pipeline, independent of any transport, and the delivery loop.

:class:`Pipeline` turns one request into an :data:`Outcome`; the Kafka/in-memory
:class:`~flowintegrations.runtime.delivery.DeliveryLoop`, the Flow service and the test
client all go through it. ``docs/architecture.md`` shows how the pieces fit.
"""

from flowintegrations.runtime.delivery import DeliveryLoop, TopicRoute
from flowintegrations.runtime.handlers import Handler, HandlerSpec
from flowintegrations.runtime.outcome import (
    DeadLettered,
    Deferred,
    ErrorReplied,
    Failure,
    LeftForRedelivery,
    Origin,
    Outcome,
    Replied,
    Stage,
)
from flowintegrations.runtime.partitions import Backpressure, PartitionState
from flowintegrations.runtime.pipeline import Pipeline, Prepared, Route, Slice

__all__ = [
    "Backpressure",
    "DeadLettered",
    "Deferred",
    "DeliveryLoop",
    "ErrorReplied",
    "Failure",
    "Handler",
    "HandlerSpec",
    "LeftForRedelivery",
    "Origin",
    "Outcome",
    "PartitionState",
    "Pipeline",
    "Prepared",
    "Replied",
    "Route",
    "Slice",
    "Stage",
    "TopicRoute",
]
