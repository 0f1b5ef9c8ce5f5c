"""Logs an operator can ship: :class:`JsonFormatter` and :class:`TraceContextFilter`.

Every log record the runtime writes about a message carries ``event``,
``processInstanceId``, ``scenario`` and where the message was (``topic``, ``partition``,
``offset``); with tracing on, also ``trace_id`` and ``span_id``. Neither class needs
OpenTelemetry: without it (or outside a span) the trace fields are simply absent.
"""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

__all__ = ["JsonFormatter", "TraceContextFilter", "current_trace_fields"]

_STANDARD = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", (), None)).keys()
    | {"message", "asctime", "taskName"}
)


def current_trace_fields() -> dict[str, str]:
    """``trace_id`` and ``span_id`` of the current span; empty outside one (or without OTel)."""
    try:
        from opentelemetry import trace  # noqa: PLC0415 - an optional extra
    except ImportError:  # pragma: no cover - the extra is part of the test extra
        return {}
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


class TraceContextFilter(logging.Filter):
    """Gives each record ``trace_id`` and ``span_id`` (the current span's, else ``""``).

    For text formats that name them (``%(trace_id)s``); records that already carry them
    (the runtime's own, about a request) keep theirs. Add it to a handler, not a logger,
    so that it sees every record the handler writes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the fields; never drops a record."""
        if not getattr(record, "trace_id", ""):
            fields = current_trace_fields()
            record.trace_id = fields.get("trace_id", "")
            record.span_id = fields.get("span_id", "")
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and every extra field.

    ``time`` is UTC ISO 8601 with milliseconds; the fields given in ``extra`` (``event``,
    ``processInstanceId``, ``scenario``, ``topic``, ...) are keys of their own; ``trace_id``
    and ``span_id`` are those of the record, else of the current span; an exception is
    under ``exception`` as formatted text. Values JSON cannot hold are written as ``str()``.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        moment = datetime.datetime.fromtimestamp(record.created, tz=datetime.timezone.utc)
        line: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(
            (key, value)
            for key, value in vars(record).items()
            if key not in _STANDARD and not key.startswith("_") and value not in (None, "")
        )
        if "trace_id" not in line:
            line.update(current_trace_fields())
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)
