"""Over its budget, the delivery loop first stops fetching; it pauses only after a while.

A pause costs a refetch on Kafka (librdkafka drops a paused partition's prefetched records),
so a budget that drains quickly is waited for without one (runtime/delivery.py, PAUSE_AFTER).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from flowintegrations.runtime import Pipeline, delivery
from flowintegrations.runtime.delivery import PAUSE_AFTER, DeliveryLoop
from flowintegrations.runtime.partitions import PartitionState
from flowintegrations.transport import InMemoryTransport, TopicPartition

TP = TopicPartition("requests", 0)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        """Now."""
        return self.now


class Subscription:
    """What the loop calls of a subscription to apply backpressure, recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, frozenset[TopicPartition]]] = []

    def assignment(self) -> frozenset[TopicPartition]:
        """One partition."""
        return frozenset({TP})

    def pause(self, partitions: Iterable[TopicPartition]) -> None:
        """Recorded."""
        self.calls.append(("pause", frozenset(partitions)))

    def resume(self, partitions: Iterable[TopicPartition]) -> None:
        """Recorded."""
        self.calls.append(("resume", frozenset(partitions)))


def holding(loop: DeliveryLoop, subscription: Any) -> bool:
    """Apply the backpressure policy once: whether the loop holds off fetching."""
    return loop._apply_backpressure(subscription)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The delivery loop's clock, moved by hand."""
    clock = Clock()
    monkeypatch.setattr(delivery, "time", clock)
    return clock


def over_budget_loop() -> DeliveryLoop:
    """A loop of one partition holding its whole budget (10 records fetched, none done)."""
    loop = DeliveryLoop(
        Pipeline(()),
        InMemoryTransport(),
        {},
        dead_letter_suffix=".DLT",
        max_in_flight=10,
        max_batch=1,
        commit_interval=0.5,
        shutdown_timeout=1.0,
        on_fatal=lambda error: None,
    )
    part = loop._partitions[TP] = PartitionState(TP)
    part.held = 10
    loop._in_flight = 10
    return loop


def test_over_budget_the_loop_holds_off_without_pausing_then_pauses(clock: Clock) -> None:
    """Held off for PAUSE_AFTER seconds, nothing paused; then paused; resumed at half."""
    loop = over_budget_loop()
    subscription = Subscription()
    seen = [holding(loop, subscription)]
    clock.now += PAUSE_AFTER / 2
    seen.append(holding(loop, subscription))
    assert (seen, subscription.calls, loop.paused_partitions) == ([True, True], [], frozenset())

    clock.now += PAUSE_AFTER / 2
    assert holding(loop, subscription) is False
    assert subscription.calls == [("pause", frozenset({TP}))]
    assert loop.paused_partitions == frozenset({TP})

    loop._in_flight = loop._partitions[TP].held = 5  # half of it done
    assert holding(loop, subscription) is False
    assert subscription.calls[1:] == [("resume", frozenset({TP}))]
    assert loop.paused_partitions == frozenset()


def test_a_budget_that_drains_in_time_is_never_paused(clock: Clock) -> None:
    """Back under half of the budget within PAUSE_AFTER: no pause, and the wait starts anew."""
    loop = over_budget_loop()
    subscription = Subscription()
    assert holding(loop, subscription) is True
    clock.now += PAUSE_AFTER * 0.9
    loop._in_flight = loop._partitions[TP].held = 5
    assert holding(loop, subscription) is False
    loop._in_flight = loop._partitions[TP].held = 10  # full again
    clock.now += PAUSE_AFTER * 0.9
    assert holding(loop, subscription) is True
    assert subscription.calls == []
