"""flowintegrations: typed, validated request/reply adapters for a Kafka-driven process engine."""

from flowintegrations.app import App
from flowintegrations.client import EngineClient, Reply
from flowintegrations.errors import (
    CatalogError,
    CodecError,
    DeferredReplyError,
    DeferredReplyUsedError,
    DeliveryError,
    FlowIntegrationsError,
    FlowIntegrationsWarning,
    HandlerRegistrationError,
    InvalidDeferredReplyError,
    MissingTopicError,
    RequestDeadLetteredError,
    RequestTimeoutError,
    ScenarioNotFoundError,
    TopicNotFoundError,
    TransportBrokenError,
    TransportClosedError,
    TransportError,
    ValidationError,
)
from flowintegrations.model import (
    Catalog,
    DataModel,
    Enumeration,
    Example,
    Header,
    Integration,
    Property,
    PropertyType,
    Scenario,
    TopicBinding,
)
from flowintegrations.retry import Retry
from flowintegrations.runtime.context import Context
from flowintegrations.runtime.deferred import DeferredReply
from flowintegrations.validation import Violation

__all__ = [
    "App",
    "Catalog",
    "CatalogError",
    "CodecError",
    "Context",
    "DataModel",
    "DeferredReply",
    "DeferredReplyError",
    "DeferredReplyUsedError",
    "DeliveryError",
    "EngineClient",
    "Enumeration",
    "Example",
    "FlowIntegrationsError",
    "FlowIntegrationsWarning",
    "HandlerRegistrationError",
    "Header",
    "Integration",
    "InvalidDeferredReplyError",
    "MissingTopicError",
    "Property",
    "PropertyType",
    "Reply",
    "RequestDeadLetteredError",
    "RequestTimeoutError",
    "Retry",
    "Scenario",
    "ScenarioNotFoundError",
    "TopicBinding",
    "TopicNotFoundError",
    "TransportBrokenError",
    "TransportClosedError",
    "TransportError",
    "ValidationError",
    "Violation",
]
