"""The opt-in log helpers: JsonFormatter and TraceContextFilter."""

from __future__ import annotations

import json
import logging
import sys

from opentelemetry.sdk.trace import TracerProvider

from flowintegrations.observability import JsonFormatter, TraceContextFilter


def record(**extra: object) -> logging.LogRecord:
    """A WARNING record of logger ``flowintegrations.app`` with ``extra`` fields."""
    made = logging.LogRecord(
        "flowintegrations.app", logging.WARNING, "x.py", 1, "%s failed", ("greet",), None
    )
    made.created = 1764400000.25
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_json_formatter_writes_the_message_and_every_extra_field() -> None:
    """One JSON object: time (UTC), level, logger, message, and the extra fields."""
    line = JsonFormatter().format(
        record(event="retry", processInstanceId="1001", scenario="greet", partition=0)
    )
    assert json.loads(line) == {
        "time": "2025-11-29T07:06:40.250Z",
        "level": "WARNING",
        "logger": "flowintegrations.app",
        "message": "greet failed",
        "event": "retry",
        "processInstanceId": "1001",
        "scenario": "greet",
        "partition": 0,
    }


def test_json_formatter_adds_the_current_span() -> None:
    """Inside a span, a record without trace fields gets the span's trace_id and span_id."""
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        line = json.loads(JsonFormatter().format(record()))
    context = span.get_span_context()
    assert (line["trace_id"], line["span_id"]) == (
        f"{context.trace_id:032x}",
        f"{context.span_id:016x}",
    )


def test_json_formatter_writes_an_exception_as_text() -> None:
    """An exception's traceback is under "exception"."""
    try:
        raise ValueError("bad")
    except ValueError:
        failed = record()
        failed.exc_info = sys.exc_info()
    line = json.loads(JsonFormatter().format(failed))
    assert line["exception"].splitlines()[-1] == "ValueError: bad"


def test_trace_context_filter_gives_empty_fields_outside_a_span() -> None:
    """Outside any span the filter sets trace_id and span_id to "", for text formats."""
    plain = record()
    TraceContextFilter().filter(plain)
    assert (plain.trace_id, plain.span_id) == ("", "")  # type: ignore[attr-defined]
