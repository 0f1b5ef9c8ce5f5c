"""The metrics :class:`~flowintegrations.observability.Telemetry` reports, and their instruments.

:data:`METRICS` lists every instrument. :func:`instruments_for` makes them once per meter
provider: the OpenTelemetry SDK keeps the first instrument of a name and hands it back
when the name is asked for again, with the first one's callbacks only, so a second
Telemetry that made its own would report nothing. Every Telemetry on one provider shares
one :class:`Instruments` instead, and the observable ones report the counts of all of them.

Requests and dead letters are counted in plain dicts (one per Telemetry: each is written
by one event loop only) and observed at collection: an increment per request is far
cheaper than the SDK's per-measurement work (attribute checks, locks). The counts of a
Telemetry stay observed after its App is gone, so a counter never goes down when an App
is stopped or replaced in a running process.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import attrs
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation

if TYPE_CHECKING:
    from opentelemetry.metrics import Histogram

    from flowintegrations.runtime.telemetry import LoopState

__all__ = ["METRICS", "Counts", "Instruments", "Metric", "instruments_for"]

INSTRUMENTATION_NAME = "flowintegrations"

# Attribute names: the OpenTelemetry messaging conventions, and ours under ``flowx.``.
MESSAGING_SYSTEM = "messaging.system"
OPERATION_TYPE = "messaging.operation.type"
OPERATION_NAME = "messaging.operation.name"
DESTINATION = "messaging.destination.name"
PARTITION = "messaging.destination.partition.id"
OFFSET = "messaging.kafka.offset"
CONSUMER_GROUP = "messaging.consumer.group.name"
MESSAGE_ID = "messaging.message.id"
ERROR_TYPE = "error.type"
PROCESS_INSTANCE = "flowx.process_instance_id"
INTEGRATION = "flowx.integration"
SCENARIO = "flowx.scenario"
OUTCOME = "flowx.outcome"
STAGE = "flowx.error.stage"
ATTEMPT = "flowx.attempt"

_DURATIONS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_LAGS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)


@attrs.frozen(kw_only=True)
class Metric:
    """One instrument: its OpenTelemetry name, kind, unit, attributes and meaning."""

    name: str
    kind: str
    unit: str
    attributes: tuple[str, ...]
    description: str


METRICS = (
    Metric(
        name="flowintegrations.requests",
        kind="counter",
        unit="{request}",
        attributes=(INTEGRATION, SCENARIO, OUTCOME, STAGE),
        description="Requests handled, by outcome: replied, error_replied, dead_lettered, "
        "redelivered (and the stage, for a failure).",
    ),
    Metric(
        name="flowintegrations.dead_letters",
        kind="counter",
        unit="{record}",
        attributes=(INTEGRATION, SCENARIO, STAGE, ERROR_TYPE),
        description="Dead letters sent, by stage and error class (error replies included).",
    ),
    Metric(
        name="flowintegrations.handler.duration",
        kind="histogram",
        unit="s",
        attributes=(INTEGRATION, SCENARIO, ERROR_TYPE),
        description="How long each try of a handler took (error.type when it raised).",
    ),
    Metric(
        name="flowintegrations.request.lag",
        kind="histogram",
        unit="s",
        attributes=(INTEGRATION, SCENARIO),
        description="End-to-end lag: when handling began minus the request record's timestamp.",
    ),
    Metric(
        name="flowintegrations.in_flight",
        kind="gauge",
        unit="{record}",
        attributes=(CONSUMER_GROUP,),
        description="Records fetched and not yet released: a record is released once it is "
        "handled and its offset committed. Backpressure pauses on this count.",
    ),
    Metric(
        name="flowintegrations.partitions.paused",
        kind="gauge",
        unit="{partition}",
        attributes=(CONSUMER_GROUP,),
        description="Partitions paused by backpressure.",
    ),
    Metric(
        name="flowintegrations.commit.duration",
        kind="histogram",
        unit="s",
        attributes=(CONSUMER_GROUP,),
        description="How long each commit of offsets took.",
    ),
)
"""Every instrument :class:`Telemetry` reports (the table of docs/operating.md)."""


class Counts:
    """Cumulative counts by key, each key with its attributes; written by one event loop."""

    def __init__(self) -> None:
        self.counts: dict[tuple[Any, ...], int] = {}
        self.attributes: dict[tuple[Any, ...], dict[str, str]] = {}

    def first(self, key: tuple[Any, ...], attributes: dict[str, str]) -> None:
        """Count ``key`` for the first time."""
        self.attributes[key] = attributes
        self.counts[key] = 1

    def snapshot(self) -> list[tuple[dict[str, str], int]]:
        """Every count so far with its attributes (safe from another thread)."""
        return [(self.attributes[key], n) for key, n in list(self.counts.items())]


Loops = dict[int, tuple["LoopState", str]]
"""Delivery loops by ``id()``, each with its consumer group: what the gauges observe."""


class Instruments:
    """The instruments of :data:`METRICS` on one meter provider, shared by its Telemetry.

    Each Telemetry gets its own :class:`Counts` and loop registry from :meth:`counts` and
    :meth:`loops`; the observable instruments report their sums, by attributes.
    """

    def __init__(self, meter_provider: MeterProvider) -> None:
        meter = meter_provider.get_meter(INSTRUMENTATION_NAME)
        by_name = {m.name: m for m in METRICS}

        def spec(name: str) -> dict[str, str]:
            metric = by_name[name]
            return {"name": name, "unit": metric.unit, "description": metric.description}

        self._lock = threading.Lock()
        self._requests: list[Counts] = []
        self._dead_letters: list[Counts] = []
        self._loops: list[Loops] = []
        meter.create_observable_counter(
            **spec("flowintegrations.requests"), callbacks=[self._observe(self._requests)]
        )
        meter.create_observable_counter(
            **spec("flowintegrations.dead_letters"),
            callbacks=[self._observe(self._dead_letters)],
        )
        self.handler_duration: Histogram = meter.create_histogram(
            **spec("flowintegrations.handler.duration"),
            explicit_bucket_boundaries_advisory=_DURATIONS,
        )
        self.lag: Histogram = meter.create_histogram(
            **spec("flowintegrations.request.lag"), explicit_bucket_boundaries_advisory=_LAGS
        )
        self.commit_duration: Histogram = meter.create_histogram(
            **spec("flowintegrations.commit.duration"),
            explicit_bucket_boundaries_advisory=_DURATIONS,
        )
        meter.create_observable_gauge(
            **spec("flowintegrations.in_flight"),
            callbacks=[self._by_group(lambda loop: loop.in_flight)],
        )
        meter.create_observable_gauge(
            **spec("flowintegrations.partitions.paused"),
            callbacks=[self._by_group(lambda loop: len(loop.paused_partitions))],
        )

    def counts(self) -> tuple[Counts, Counts]:
        """New counts of requests and of dead letters for one Telemetry, observed from now."""
        requests, dead_letters = Counts(), Counts()
        with self._lock:
            self._requests.append(requests)
            self._dead_letters.append(dead_letters)
        return requests, dead_letters

    def loops(self) -> Loops:
        """A new registry of delivery loops for one Telemetry, observed by the gauges."""
        loops: Loops = {}
        with self._lock:
            self._loops.append(loops)
        return loops

    def _observe(self, sources: list[Counts]) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            totals: dict[tuple[tuple[str, str], ...], tuple[dict[str, str], int]] = {}
            with self._lock:
                every = list(sources)
            for counts in every:
                for attributes, n in counts.snapshot():
                    key = tuple(sorted(attributes.items()))
                    total = totals.get(key, (attributes, 0))[1]
                    totals[key] = (attributes, total + n)
            return [Observation(n, attributes) for attributes, n in totals.values()]

        return observe

    def _by_group(
        self, value: Callable[[LoopState], int]
    ) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            totals: dict[str, int] = {}
            with self._lock:
                every = list(self._loops)
            for loops in every:
                for loop, group in list(loops.values()):
                    totals[group] = totals.get(group, 0) + value(loop)
            return [Observation(total, {CONSUMER_GROUP: group}) for group, total in totals.items()]

        return observe


_SHARED: weakref.WeakKeyDictionary[MeterProvider, Instruments] = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()


def instruments_for(meter_provider: MeterProvider) -> Instruments:
    """The one :class:`Instruments` of ``meter_provider``, made on first use.

    Kept as long as the provider lives (a weak reference), like the SDK's own instruments:
    a new provider starts from nothing, so tests need no reset.
    """
    with _SHARED_LOCK:
        try:
            found = _SHARED.get(meter_provider)
        except TypeError:  # a provider that takes no weak reference: nothing to share with
            return Instruments(meter_provider)
        if found is None:
            found = _SHARED[meter_provider] = Instruments(meter_provider)
        return found
