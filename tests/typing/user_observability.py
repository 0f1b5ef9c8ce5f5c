"""An operator's setup that must type-check under ``mypy --strict``: telemetry and logs.

It is never run by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import logging

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

from flowintegrations import App, EngineClient, Integration
from flowintegrations.observability import (
    METRICS,
    JsonFormatter,
    MetricsServer,
    Telemetry,
    TraceContextFilter,
    serve_metrics,
)
from flowintegrations.transport import InMemoryTransport


def observed_app(integration: Integration) -> tuple[App, EngineClient, MetricsServer]:
    """An app and an engine client reporting to one Telemetry, metrics on port 9464."""
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    metrics = serve_metrics(9464, host="127.0.0.1")
    telemetry = Telemetry(tracer_provider=tracer_provider, meter_provider=metrics.meter_provider)
    transport = InMemoryTransport()
    app = App(integration, transport=transport, telemetry=telemetry)
    engine = EngineClient(integration, transport=transport, telemetry=telemetry)
    return app, engine, metrics


def json_logs() -> list[str]:
    """Log as JSON lines with trace ids; the names of the metrics reported."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(TraceContextFilter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    return [metric.name for metric in METRICS]
