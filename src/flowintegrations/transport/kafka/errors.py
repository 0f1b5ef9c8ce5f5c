"""The one boundary between confluent-kafka's exceptions and ours.

Every call into confluent-kafka that may raise runs inside :func:`translating`, which turns
what escapes into a :class:`~flowintegrations.errors.TransportError` subclass (chosen by
:func:`translate_error`), keeps the original as ``__cause__`` and removes secrets from
librdkafka's text. Errors that librdkafka reports through a callback instead of raising
(delivery reports, client errors, failed messages) go through :func:`translate_error`
directly, wrapped in :class:`KafkaClientError`. No confluent-kafka exception crosses the
transport's API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from flowintegrations.errors import (
    DeliveryError,
    TopicNotFoundError,
    TransportBrokenError,
    TransportClosedError,
    TransportError,
)

__all__ = [
    "MISSING_TOPIC_CODES",
    "KafkaClientError",
    "error_name",
    "is_backend_error",
    "is_fatal",
    "translate_error",
    "translating",
]

_BROKEN_CODES = frozenset(
    {
        "_ALL_BROKERS_DOWN",
        "_AUTHENTICATION",
        "_FATAL",
        "_RESOLVE",
        "_SSL",
        "_TRANSPORT",
        "CLUSTER_AUTHORIZATION_FAILED",
        "GROUP_AUTHORIZATION_FAILED",
        "SASL_AUTHENTICATION_FAILED",
        "TOPIC_AUTHORIZATION_FAILED",
        "UNSUPPORTED_SASL_MECHANISM",
        "ILLEGAL_SASL_STATE",
    }
)
_CLOSED_CODES = frozenset({"_DESTROY", "_DESTROY_BROKER"})
MISSING_TOPIC_CODES = frozenset({"UNKNOWN_TOPIC_OR_PART", "_UNKNOWN_TOPIC", "UNKNOWN_TOPIC_ID"})
"""librdkafka error names that mean "this topic does not exist"."""

_DELIVERY_CODES = frozenset(
    {
        "_MSG_TIMED_OUT",
        "_PURGE_QUEUE",
        "_PURGE_INFLIGHT",
        "_QUEUE_FULL",
        "_UNKNOWN_PARTITION",
        "MSG_SIZE_TOO_LARGE",
        "MESSAGE_TOO_LARGE",
        "RECORD_LIST_TOO_LARGE",
        "INVALID_RECORD",
        "NOT_ENOUGH_REPLICAS",
        "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
        "OUT_OF_ORDER_SEQUENCE_NUMBER",
        "INVALID_TIMESTAMP",
    }
)


class KafkaClientError(Exception):
    """Wraps a bare ``KafkaError`` (from a callback) so it can be translated and chained."""

    def __init__(self, error: Any) -> None:
        super().__init__(error)


def is_fatal(error: Any) -> bool:
    """Whether the ``KafkaError`` ``error`` says the client cannot be used any more."""
    try:
        return bool(error.fatal())
    except Exception:  # noqa: BLE001 (a foreign object: it is not a fatal KafkaError)
        return False


def error_name(error: Any) -> str:
    """The code name of the ``KafkaError`` ``error`` (``"_MSG_TIMED_OUT"``), or ``""``."""
    try:
        name = error.name()
    except Exception:  # noqa: BLE001 (a foreign object: describe it by its text)
        return ""
    return str(name)


def is_backend_error(exc: BaseException) -> bool:
    """Whether ``exc`` was raised by confluent-kafka (not by code it called back)."""
    return type(exc).__module__.startswith(("confluent_kafka", "cimpl")) or (
        isinstance(exc, RuntimeError) and "closed" in str(exc)
    )


def translate_error(
    exc: BaseException,
    *,
    action: str,
    redact: Callable[[str], str] = str,
    topics: Iterable[str] = (),
) -> TransportError:
    """Translate a confluent-kafka exception (or error) into one of ours, without raising it.

    ``action`` says what was being done ("producing", "committing", ...) and starts the
    message; ``redact`` removes secrets from librdkafka's text; ``topics`` names the topics
    concerned, for :class:`~flowintegrations.errors.TopicNotFoundError`. The caller raises
    the result ``from exc`` (:func:`translating` does). A ``BufferError`` (librdkafka's
    queue is full) and any error of a delivery report become
    :class:`~flowintegrations.errors.DeliveryError`; an unrecognised exception becomes a
    plain :class:`~flowintegrations.errors.TransportError`. One of our errors is returned
    unchanged.
    """
    if isinstance(exc, TransportError):
        return exc
    error = exc.args[0] if exc.args and hasattr(exc.args[0], "code") else None
    if error is None and hasattr(exc, "code") and hasattr(exc, "fatal"):
        error = exc  # a KafkaError itself
    if error is None:
        detail = redact(str(exc)) or type(exc).__name__
        if isinstance(exc, BufferError):
            return DeliveryError(f"{action}: the local queue is full ({detail})")
        if isinstance(exc, RuntimeError) and "closed" in detail.lower():
            return TransportClosedError(f"{action}: {detail}")
        return TransportError(f"{action}: {detail}")
    name = error_name(error)
    try:
        text = redact(str(error.str()))
    except Exception:  # noqa: BLE001 (a foreign object: describe it by its text)
        text = redact(str(error))
    detail = f"{action}: {text} ({name})" if name else f"{action}: {text}"
    if is_fatal(error) or name in _BROKEN_CODES:
        return TransportBrokenError(detail)
    if name in _CLOSED_CODES:
        return TransportClosedError(detail)
    names = tuple(topics)
    if name in MISSING_TOPIC_CODES and names:
        return TopicNotFoundError(names)
    if name in _DELIVERY_CODES or name in MISSING_TOPIC_CODES or action.startswith("deliver"):
        return DeliveryError(detail)
    return TransportError(detail)


class _Translating:
    """The context manager :func:`translating` returns (reusable, cheap to enter)."""

    __slots__ = ("_action", "_only", "_redact", "_topics", "_unrecognised")

    def __init__(
        self,
        action: str | Callable[[], str],
        redact: Callable[[str], str],
        topics: Iterable[str],
        only: Callable[[BaseException], bool] | None,
        unrecognised: type[TransportError],
    ) -> None:
        self._action = action
        self._redact = redact
        self._topics = topics
        self._only = only
        self._unrecognised = unrecognised

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Only errors: cancellation, KeyboardInterrupt and our own errors pass unchanged.
        if not isinstance(exc, Exception) or isinstance(exc, TransportError):
            return
        if self._only is not None and not self._only(exc):
            return
        action = self._action if isinstance(self._action, str) else self._action()
        translated = translate_error(exc, action=action, redact=self._redact, topics=self._topics)
        if type(translated) is TransportError and self._unrecognised is not TransportError:
            translated = self._unrecognised(str(translated))
        raise translated from exc


def translating(
    action: str | Callable[[], str],
    *,
    redact: Callable[[str], str] = str,
    topics: Iterable[str] = (),
    only: Callable[[BaseException], bool] | None = None,
    unrecognised: type[TransportError] = TransportError,
) -> _Translating:
    """A context manager that raises what escapes it as one of our errors, ``from`` the original.

    The arguments are those of :func:`translate_error`; ``action`` may also be a function
    that says it, called only when something fails. ``only`` limits the translation to the
    exceptions it accepts (the others, such as a listener's own exception raised from inside
    a librdkafka call, pass unchanged); an error that :func:`translate_error` does not
    recognise becomes ``unrecognised`` (for instance ``TransportBrokenError`` where no answer
    means a broken connection). Our own errors, and exceptions that are not ``Exception``
    (cancellation), pass unchanged::

        with translating(f"committing for group {group!r}", redact=redact):
            consumer.commit(offsets=partitions, asynchronous=False)
    """
    return _Translating(action, redact, topics, only, unrecognised)
