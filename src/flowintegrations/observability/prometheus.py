"""Metrics served in Prometheus text format: :func:`serve_metrics` (``run --metrics-port``)."""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIServer

import attrs

try:
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.metrics import MeterProvider
    from prometheus_client import start_http_server
except ImportError as exc:  # pragma: no cover - the extra is part of the test extra
    msg = "serving metrics needs OpenTelemetry: pip install 'flowintegrations[otel]'"
    raise ImportError(msg) from exc

__all__ = ["MetricsServer", "serve_metrics"]


@attrs.define(eq=False)
class MetricsServer:
    """An HTTP server of ``/metrics`` and the meter provider whose metrics it serves.

    Give :attr:`meter_provider` to :class:`~flowintegrations.observability.Telemetry`.
    """

    host: str
    port: int
    meter_provider: MeterProvider
    _server: WSGIServer = attrs.field(repr=False)
    _thread: threading.Thread = attrs.field(repr=False)

    @property
    def url(self) -> str:
        """Where Prometheus scrapes: ``http://HOST:PORT/metrics``."""
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and shut the meter provider down. Idempotent."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5.0)
        self.meter_provider.shutdown()


def serve_metrics(port: int, *, host: str = "0.0.0.0") -> MetricsServer:  # noqa: S104 - scraped from outside
    """Serve a new meter provider's metrics on ``host:port`` (port 0: any free one).

    Runs on a daemon thread until :meth:`MetricsServer.close`. The metrics go through the
    OpenTelemetry Prometheus exporter, so their names are the Prometheus forms of the
    OpenTelemetry ones (``flowintegrations.requests`` is ``flowintegrations_requests_total``).
    """
    reader = PrometheusMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    server, thread = start_http_server(port, addr=host)
    return MetricsServer(host, server.server_port, provider, server, thread)
