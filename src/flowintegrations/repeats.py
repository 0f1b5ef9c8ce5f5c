"""Bounded logging of a condition that repeats: :class:`Repeats`.

During a broker outage librdkafka reports the same failure many times a second, and a
commit that cannot reach the group coordinator fails at every commit interval. Logging
each of them drowns the one line that matters. :class:`Repeats` lets the first line of a
kind through, suppresses the same kind for ``window`` seconds, and lets the next one
through with the count of those it held back, so that an outage of any length costs a
few lines per kind and nothing is hidden for longer than ``window``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

__all__ = ["Repeats", "kind_of", "with_count"]

_NUMBERS = re.compile(r"\d+")


def kind_of(text: str) -> str:
    """``text`` with its numbers blanked: lines differing only in timings are one kind."""
    return _NUMBERS.sub("#", text)


class Repeats:
    """Decides which lines of a repeating kind to log; counts the ones it holds back.

    ``admit(kind)`` returns ``None`` for a line to suppress, else how many lines of that
    kind were suppressed since the last one let through (0 the first time).
    """

    __slots__ = ("_clock", "_seen", "window")

    def __init__(self, window: float = 30.0, *, clock: Callable[[], float] = time.monotonic):
        self.window = window
        self._clock = clock
        self._seen: dict[str, list[float]] = {}  # kind -> [last let through, suppressed]

    def admit(self, kind: str) -> int | None:
        """Whether to log a line of ``kind`` now: None, or the count held back before it."""
        now = self._clock()
        seen = self._seen.get(kind)
        if seen is None:
            if len(self._seen) > 1000:  # a bound: kinds are few, but never trust that
                self._seen.clear()
            self._seen[kind] = [now, 0]
            return 0
        if now - seen[0] < self.window:
            seen[1] += 1
            return None
        held = int(seen[1])
        seen[0], seen[1] = now, 0
        return held

    def forget(self, kind: str) -> int:
        """The condition ended: forget ``kind``; return how many lines were held back."""
        seen = self._seen.pop(kind, None)
        return 0 if seen is None else int(seen[1])


def with_count(text: str, held: int) -> str:
    """``text``, saying how many like it were held back (when any were)."""
    return f"{text} (and {held} more like it)" if held else text
