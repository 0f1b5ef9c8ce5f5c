"""Observability: traces and metrics through OpenTelemetry, and logs an operator can ship.

:class:`Telemetry` (given to ``App(..., telemetry=...)`` and ``EngineClient``) and
:func:`serve_metrics` need the ``otel`` extra (``pip install 'flowintegrations[otel]'``):
without it, using them raises an ImportError that says so. The log helpers work without
it. ``docs/operating.md`` is the operator's guide.
"""

from flowintegrations.observability.logs import (
    JsonFormatter,
    TraceContextFilter,
    current_trace_fields,
)

try:
    from flowintegrations.observability.otel import METRICS, Metric, Telemetry
    from flowintegrations.observability.prometheus import MetricsServer, serve_metrics
except ImportError as _missing:  # pragma: no cover - the extra is part of the test extra
    _MISSING = _missing

    def __getattr__(name: str) -> object:
        """The names that need OpenTelemetry raise the ImportError naming the extra."""
        if name in {"METRICS", "Metric", "MetricsServer", "Telemetry", "serve_metrics"}:
            raise ImportError(str(_MISSING)) from _MISSING
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)


__all__ = [
    "METRICS",
    "JsonFormatter",
    "Metric",
    "MetricsServer",
    "Telemetry",
    "TraceContextFilter",
    "current_trace_fields",
    "serve_metrics",
]
