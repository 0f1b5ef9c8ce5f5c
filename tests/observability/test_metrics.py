"""Metrics through the OpenTelemetry metrics API: each outcome counted, exactly."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import MetricsData

from flowintegrations import App, EngineClient, Retry
from flowintegrations.transport import InMemoryTransport, Record
from support.otel import Recorded
from support.runtime import ANSWER, DEMO, GREET, GREET_OUT, HEADERS

GROUP = "metrics-test"
DEMO_GREET = (("flowx.integration", "demo"), ("flowx.scenario", "greet"))
DEMO_ANSWER = (("flowx.integration", "demo"), ("flowx.scenario", "answer"))


async def wait_until(condition: Any, timeout: float = 5.0) -> None:
    """Poll ``condition()`` until it holds (or fail after ``timeout`` seconds)."""
    for _ in range(int(timeout / 0.005)):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(condition)


def every_outcome(recorded: Recorded) -> MetricsData | None:
    """Two replies, an error reply, two dead letters (handler, request), one redelivery.

    Returns the metrics collected while the last request was in its handler.
    """

    async def main() -> MetricsData | None:
        transport = InMemoryTransport()
        await transport.start()
        app = App(
            DEMO,
            transport=transport,
            group_id=GROUP,
            retry=Retry(attempts=2, backoff=0),
            commit_interval=0.01,
            telemetry=recorded.telemetry,
        )
        entered, release = asyncio.Event(), asyncio.Event()

        @app.handler(GREET)
        async def greet(payload: dict[str, Any]) -> dict[str, Any]:
            if payload["name"] == "wait":
                entered.set()
                await release.wait()
            if payload["name"] in ("boom", "wait"):
                msg = "the mail server went away"
                raise ConnectionError(msg)
            return {"greeting": f"Hello, {payload['name']}"}

        @app.handler(ANSWER)
        def answer(payload: dict[str, Any]) -> dict[str, Any]:
            raise LookupError(payload["question"])

        engine = EngineClient(DEMO, transport=transport)
        await app.start()
        await engine.start()
        await engine.request(GREET, {"name": "Ana"}, headers=HEADERS)
        await engine.request(GREET, {"name": "Bo"})
        await engine.request(ANSWER, {"question": "why fail?"})
        await engine.send(GREET, {"name": "boom"})
        await transport.send(
            Record(GREET_OUT, None, b'{"times": 1}', (("processInstanceId", b"1"),))
        )
        await wait_until(lambda: transport.count(GREET_OUT + ".DLT") == 2)
        # Done records leave the in-flight count when their offsets are committed.
        await wait_until(lambda: sum(transport.committed(GROUP).values()) == 5)
        await engine.send(GREET, {"name": "wait"})
        await entered.wait()
        in_flight = recorded.reader.get_metrics_data()
        stopping = asyncio.create_task(app.stop())
        await asyncio.sleep(0)
        release.set()
        await stopping
        await engine.stop()
        await transport.stop()
        return in_flight

    return asyncio.run(main())


@pytest.fixture(scope="module")
def recorded() -> Recorded:
    """A Telemetry that saw every outcome once (twice for replies)."""
    recorded = Recorded.make()
    every_outcome(recorded)
    return recorded


def test_requests_are_counted_by_outcome_and_stage(recorded: Recorded) -> None:
    """flowintegrations.requests: replied 2, error_replied 1, dead_lettered 1+1, redelivered 1."""
    assert recorded.points("flowintegrations.requests") == {
        (*DEMO_GREET[:1], ("flowx.outcome", "replied"), DEMO_GREET[1]): 2,
        (
            ("flowx.error.stage", "handler"),
            *DEMO_ANSWER[:1],
            ("flowx.outcome", "error_replied"),
            DEMO_ANSWER[1],
        ): 1,
        (
            ("flowx.error.stage", "handler"),
            *DEMO_GREET[:1],
            ("flowx.outcome", "dead_lettered"),
            DEMO_GREET[1],
        ): 1,
        (
            ("flowx.error.stage", "request"),
            *DEMO_GREET[:1],
            ("flowx.outcome", "dead_lettered"),
            DEMO_GREET[1],
        ): 1,
        (
            ("flowx.error.stage", "handler"),
            *DEMO_GREET[:1],
            ("flowx.outcome", "redelivered"),
            DEMO_GREET[1],
        ): 1,
    }


def test_dead_letters_are_counted_by_stage_and_error_class(recorded: Recorded) -> None:
    """flowintegrations.dead_letters: one per dead letter sent, error replies included."""
    assert recorded.points("flowintegrations.dead_letters") == {
        (("error.type", "LookupError"), ("flowx.error.stage", "handler"), *DEMO_ANSWER): 1,
        (("error.type", "ConnectionError"), ("flowx.error.stage", "handler"), *DEMO_GREET): 1,
        (("error.type", "ValidationError"), ("flowx.error.stage", "request"), *DEMO_GREET): 1,
    }


def test_every_try_of_a_handler_is_timed(recorded: Recorded) -> None:
    """flowintegrations.handler.duration counts each try, with the error class of a failed one."""
    assert recorded.points("flowintegrations.handler.duration") == {
        DEMO_GREET: 2,
        (("error.type", "ConnectionError"), *DEMO_GREET): 3,
        (("error.type", "LookupError"), *DEMO_ANSWER): 2,
    }


def test_the_lag_of_every_request_is_recorded(recorded: Recorded) -> None:
    """flowintegrations.request.lag has one point per request received."""
    assert recorded.points("flowintegrations.request.lag") == {DEMO_GREET: 5, DEMO_ANSWER: 1}


def test_commits_are_timed(recorded: Recorded) -> None:
    """flowintegrations.commit.duration has points for the group (one per commit)."""
    counts = recorded.points("flowintegrations.commit.duration")
    assert list(counts) == [(("messaging.consumer.group.name", GROUP),)]
    assert counts[(("messaging.consumer.group.name", GROUP),)] >= 1


def test_in_flight_and_paused_partitions_are_observed_while_running() -> None:
    """While one request is in its handler: in_flight 1, paused partitions 0."""
    key = (("messaging.consumer.group.name", GROUP),)
    gauges = every_outcome(Recorded.make())
    assert gauges is not None
    observed = {
        metric.name: {
            tuple(sorted((p.attributes or {}).items())): p.value for p in metric.data.data_points
        }  # type: ignore[attr-defined]
        for resource in gauges.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name in ("flowintegrations.in_flight", "flowintegrations.partitions.paused")
    }
    assert observed == {
        "flowintegrations.in_flight": {key: 1},
        "flowintegrations.partitions.paused": {key: 0},
    }
