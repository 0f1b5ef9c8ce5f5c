"""Every Telemetry on one meter provider counts into the same instruments: the counts add up."""

from __future__ import annotations

import gc
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from flowintegrations import App
from flowintegrations.observability import Telemetry
from flowintegrations.testing import TestClient
from support.otel import Recorded
from support.runtime import DEMO, GREET

REPLIED = (("flowx.integration", "demo"), ("flowx.outcome", "replied"), ("flowx.scenario", "greet"))
DEMO_GREET = (("flowx.integration", "demo"), ("flowx.scenario", "greet"))
GROUP = "messaging.consumer.group.name"


def on_one_provider() -> tuple[MeterProvider, Recorded]:
    """A meter provider with an in-memory reader, and a Recorded to read its metrics."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    return provider, Recorded(Telemetry(meter_provider=provider), InMemorySpanExporter(), reader)


def greeter(provider: MeterProvider, group_id: str = "greeters") -> App:
    """An App answering GREET, with its own Telemetry on ``provider``."""
    app = App(DEMO, group_id=group_id, telemetry=Telemetry(meter_provider=provider))

    @app.handler(GREET)
    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        return {"greeting": f"Hello, {payload['name']}"}

    return app


def three_requests(client: TestClient) -> None:
    """Three GREET requests, each answered."""
    for name in ("Ana", "Bo", "Cy"):
        client.request(GREET, {"name": name})


def test_two_apps_in_one_process_count_every_request() -> None:
    """Two Apps, each with its own Telemetry on one provider, 3 requests each: 6 counted."""
    provider, recorded = on_one_provider()
    with TestClient(greeter(provider)) as first, TestClient(greeter(provider)) as second:
        three_requests(first)
        three_requests(second)
    assert (
        recorded.points("flowintegrations.requests"),
        recorded.points("flowintegrations.handler.duration"),
    ) == ({REPLIED: 6}, {DEMO_GREET: 6})


def test_an_app_restarted_in_the_same_process_keeps_counting() -> None:
    """An App stopped and started again, then a new App in its place: 9 requests, 9 counted."""
    provider, recorded = on_one_provider()
    app = greeter(provider)
    with TestClient(app) as client:
        three_requests(client)
    with TestClient(app) as client:
        three_requests(client)
    del app, client
    gc.collect()  # the first App and its Telemetry are gone: their counts stay
    with TestClient(greeter(provider)) as client:
        three_requests(client)
    assert recorded.points("flowintegrations.requests") == {REPLIED: 9}


def test_gauges_observe_the_loops_of_every_app() -> None:
    """The gauges observe the delivery loops of every App on the provider, by group."""
    provider, recorded = on_one_provider()
    with TestClient(greeter(provider, "a")) as first, TestClient(greeter(provider, "b")) as second:
        three_requests(first)
        three_requests(second)
        observed = recorded.points("flowintegrations.partitions.paused")
    assert observed == {((GROUP, "a"),): 0, ((GROUP, "b"),): 0}
