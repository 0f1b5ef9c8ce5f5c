"""OpenTelemetry's in-memory exporter and reader around a Telemetry, for the tests."""

from __future__ import annotations

from typing import Any

import attrs
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from flowintegrations.observability import Telemetry


@attrs.define
class Recorded:
    """A Telemetry whose spans and metrics are kept in memory."""

    telemetry: Telemetry
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader

    @classmethod
    def make(cls, *, tracing: bool = True) -> Recorded:
        """A fresh one (no tracer provider at all when ``tracing`` is false)."""
        exporter = InMemorySpanExporter()
        reader = InMemoryMetricReader()
        tracer_provider = None
        if tracing:
            tracer_provider = TracerProvider()
            tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
        telemetry = Telemetry(
            tracer_provider=tracer_provider, meter_provider=MeterProvider(metric_readers=[reader])
        )
        return cls(telemetry, exporter, reader)

    def spans(self) -> list[ReadableSpan]:
        """Every finished span, in the order they ended."""
        return list(self.exporter.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        """The one finished span called ``name``."""
        (found,) = [s for s in self.spans() if s.name == name]
        return found

    def tree(self) -> set[tuple[str, str | None]]:
        """(span name, parent span name) of every finished span."""
        by_id = {s.context.span_id: s.name for s in self.spans()}
        return {
            (s.name, None if s.parent is None else by_id.get(s.parent.span_id, "remote"))
            for s in self.spans()
        }

    def points(self, name: str) -> dict[tuple[tuple[str, Any], ...], Any]:
        """The data points of metric ``name`` by their sorted attributes.

        A counter's point is its value; a histogram's its count; a gauge's its value.
        """
        data = self.reader.get_metrics_data()
        found: dict[tuple[tuple[str, Any], ...], Any] = {}
        if data is None:
            return found
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name != name:
                        continue
                    for point in metric.data.data_points:
                        key = tuple(sorted((point.attributes or {}).items()))
                        found[key] = getattr(point, "value", None)
                        if found[key] is None:
                            found[key] = point.count
        return found
