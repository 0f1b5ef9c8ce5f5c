"""Repeats: a condition that repeats is logged once per kind and window, with a count."""

from __future__ import annotations

from flowintegrations.repeats import Repeats, kind_of, with_count


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        """The time now."""
        return self.now


def test_first_line_of_a_kind_is_let_through() -> None:
    """The first line of a kind is logged, with nothing held back before it."""
    assert Repeats(clock=Clock()).admit("connect failed") == 0


def test_repeats_within_the_window_are_held_back() -> None:
    """Lines of a kind seen within the window are suppressed."""
    repeats = Repeats(window=30.0, clock=Clock())
    repeats.admit("connect failed")
    assert [repeats.admit("connect failed") for _ in range(3)] == [None, None, None]


def test_first_line_after_the_window_counts_those_held_back() -> None:
    """After the window, the next line is let through with the count of those held back."""
    clock = Clock()
    repeats = Repeats(window=30.0, clock=clock)
    for _ in range(5):
        repeats.admit("connect failed")
    clock.now = 30.0
    assert (repeats.admit("connect failed"), repeats.admit("connect failed")) == (4, None)


def test_kinds_are_counted_apart() -> None:
    """A line of another kind is let through while the first kind is held back."""
    repeats = Repeats(clock=Clock())
    repeats.admit("connect failed")
    assert (repeats.admit("connect failed"), repeats.admit("commit failed")) == (None, 0)


def test_forget_returns_the_count_held_back() -> None:
    """Forgetting a kind says how many were held back, and the next line is a first again."""
    repeats = Repeats(clock=Clock())
    for _ in range(3):
        repeats.admit("commit failed")
    assert (repeats.forget("commit failed"), repeats.admit("commit failed")) == (2, 0)


def test_kind_ignores_numbers() -> None:
    """Lines that differ only in their numbers (timings, ports) are of one kind."""
    slow, fast = "127.0.0.1:9092 failed (after 3ms)", "127.0.0.1:9092 failed (after 0ms)"
    assert kind_of(slow) == kind_of(fast)


def test_with_count_mentions_only_a_count_above_zero() -> None:
    """The count of lines held back is added to a line only when there were any."""
    assert (with_count("down", 0), with_count("down", 7)) == ("down", "down (and 7 more like it)")
