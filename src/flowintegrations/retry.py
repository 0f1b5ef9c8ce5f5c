"""How handler failures are retried: :class:`Retry`."""

from __future__ import annotations

import random

import attrs

__all__ = ["Retry"]


def _positive_attempts(instance: Retry, attribute: object, value: int) -> None:
    if type(value) is not int or value < 1:
        msg = f"attempts must be a whole number of at least 1, got {value!r}"
        raise ValueError(msg)


def _non_negative(instance: Retry, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        msg = f"{attribute.name} must not be negative, got {value!r}"
        raise ValueError(msg)


@attrs.frozen
class Retry:
    """Retry policy for failing handlers: how often, how long between tries, on what.

    ``attempts`` counts every try, the first included (``Retry(attempts=1)`` never
    retries). The wait before try *n + 1* is ``backoff * multiplier ** (n - 1)``, capped at
    ``max_backoff`` and spread by ``±jitter`` (a fraction) so that many adapters failing
    together do not retry in lockstep. Only exceptions that are instances of ``retry_on``
    are retried; others go straight to the dead-letter topic. Invalid requests are never
    retried: the same bytes would fail the same way.
    """

    attempts: int = attrs.field(default=3, validator=_positive_attempts)
    backoff: float = attrs.field(default=0.1, kw_only=True, validator=_non_negative)
    multiplier: float = attrs.field(default=2.0, kw_only=True, validator=_non_negative)
    max_backoff: float = attrs.field(default=10.0, kw_only=True, validator=_non_negative)
    jitter: float = attrs.field(default=0.1, kw_only=True, validator=_non_negative)
    retry_on: tuple[type[BaseException], ...] = attrs.field(
        default=(Exception,), kw_only=True, converter=tuple
    )

    def should_retry(self, error: BaseException, attempt: int) -> bool:
        """Whether try number ``attempt`` (1-based), which raised ``error``, gets another."""
        return attempt < self.attempts and isinstance(error, self.retry_on)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based) before the next."""
        base = min(self.backoff * self.multiplier ** (attempt - 1), self.max_backoff)
        if not self.jitter or not base:
            return base
        spread = (rng or random).uniform(-self.jitter, self.jitter)
        return max(0.0, base * (1.0 + spread))
