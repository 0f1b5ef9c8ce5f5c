"""Over its budget, the delivery loop first stops fetching; it pauses only after a while.

A pause costs a refetch on Kafka (librdkafka drops a paused partition's prefetched records),
so a budget that drains quickly is waited for without one (runtime/partitions.py,
``Backpressure.holds_off``).
"""

from __future__ import annotations

from flowintegrations.runtime import Backpressure
from flowintegrations.runtime.partitions import PAUSE_AFTER
from flowintegrations.transport import TopicPartition

T0 = TopicPartition("requests", 0)
T1 = TopicPartition("requests", 1)
BOTH = frozenset({T0, T1})


def full(policy: Backpressure) -> set[TopicPartition]:
    """What the policy wants paused with both partitions holding the whole budget."""
    return policy.paused({T0: 5, T1: 5}, 10, BOTH, set())


def test_over_budget_in_all_the_loop_holds_off_then_pauses() -> None:
    """Held off for PAUSE_AFTER seconds without a pause; then the pause goes ahead."""
    policy = Backpressure(max_in_flight=10, max_batch=1)
    wanted = full(policy)
    seen = [
        policy.holds_off(wanted, BOTH, set(), 100.0),
        policy.holds_off(wanted, BOTH, set(), 100.0 + PAUSE_AFTER / 2),
        policy.holding,
        policy.holds_off(wanted, BOTH, set(), 100.0 + PAUSE_AFTER),
        policy.holding,
    ]
    assert (wanted, seen) == (set(BOTH), [True, True, True, False, False])


def test_a_budget_that_drains_in_time_is_never_paused_and_the_wait_starts_anew() -> None:
    """Under the budget again within PAUSE_AFTER: no pause; full again: a new full wait."""
    policy = Backpressure(max_in_flight=10, max_batch=1)
    first = policy.holds_off(full(policy), BOTH, set(), 100.0)
    drained = policy.holds_off(
        policy.paused({T0: 2, T1: 2}, 4, BOTH, set()), BOTH, set(), 100.0 + PAUSE_AFTER * 0.9
    )
    holding_after_drain = policy.holding
    again = policy.holds_off(full(policy), BOTH, set(), 100.0 + PAUSE_AFTER * 1.8)
    assert (first, drained, holding_after_drain, again) == (True, False, False, True)


def test_one_partition_over_its_share_is_paused_at_once() -> None:
    """Holding off is for the budget in all: one greedy partition is paused as before."""
    policy = Backpressure(max_in_flight=100, max_batch=10)
    wanted = policy.paused({T0: 50, T1: 0}, 50, BOTH, set())
    assert (wanted, policy.holds_off(wanted, BOTH, set(), 100.0)) == ({T0}, False)


def test_partitions_paused_already_stay_paused_without_holding_off() -> None:
    """Once paused (the wait is over), the policy's pause and resume go on as before."""
    policy = Backpressure(max_in_flight=10, max_batch=1, pause_after=0.0)
    wanted = full(policy)
    assert policy.holds_off(wanted, BOTH, set(), 100.0) is False
    assert policy.holds_off(wanted, BOTH, wanted, 100.1) is False
