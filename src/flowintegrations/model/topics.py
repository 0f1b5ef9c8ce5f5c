"""Where a scenario's messages travel in each environment: :class:`TopicBinding`."""

from __future__ import annotations

import re

import attrs

from flowintegrations.errors import CatalogError, CatalogProblem

__all__ = ["MAX_TOPIC_LENGTH", "TopicBinding", "topic_name_problem"]

MAX_TOPIC_LENGTH = 249
_LEGAL_TOPIC = re.compile(r"[A-Za-z0-9._-]+")


def topic_name_problem(name: object) -> str | None:
    """Why ``name`` is not a legal Kafka topic name, or ``None`` when it is."""
    if not isinstance(name, str) or not name:
        return f"a topic name must be a non-empty string, got {name!r}"
    if name in {".", ".."}:
        return f"{name!r} is not a legal topic name"
    if len(name) > MAX_TOPIC_LENGTH:
        return f"topic name is {len(name)} characters long, the limit is {MAX_TOPIC_LENGTH}"
    if not _LEGAL_TOPIC.fullmatch(name):
        bad = sorted({c for c in name if not _LEGAL_TOPIC.fullmatch(c)})
        return (
            f"topic name {name!r} has illegal characters {''.join(bad)!r} "
            "(only letters, digits, '.', '_' and '-')"
        )
    return None


def _check_environment(instance: TopicBinding, attribute: object, value: str | None) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise CatalogError(
            f"an environment is a non-empty string or None (every environment), got {value!r}",
            "$.environment",
        )


@attrs.frozen(cache_hash=True)
class TopicBinding:
    """The topics of a scenario in one environment, named from the engine's side.

    The engine sends requests on ``out_topic`` and reads replies from ``in_topic``
    (``None`` for fire-and-forget). ``environment=None`` binds every environment that has
    no binding of its own.

    A binding with an in topic only (``out_topic=None``) has no request side: the engine
    never sends on it, and nothing handles it. It is the in topic of a process waiting in a
    message receive task, fed by the adapter with ``App.send``. A binding needs at least
    one of the two topics.
    """

    out_topic: str | None = None
    in_topic: str | None = None
    environment: str | None = attrs.field(default=None, validator=_check_environment)

    def __attrs_post_init__(self) -> None:
        if self.out_topic is None and self.in_topic is None:
            raise CatalogError(
                "a topic binding needs an out topic, an in topic, or both; it has neither",
                "$.out",
            )
        problems = []
        for key, name in (("$.out", self.out_topic), ("$.in", self.in_topic)):
            if name is None:
                continue
            problem = topic_name_problem(name)
            if problem is not None:
                problems.append(CatalogProblem(key, problem, name))
        if problems:
            raise CatalogError(problems)
