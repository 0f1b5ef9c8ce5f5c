"""Trace context in records: read from a Record's raw headers, written into a copy of it."""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.propagators.textmap import Getter

from flowintegrations.transport import Record

__all__ = ["GETTER", "header", "with_context"]


def _record_headers(carrier: Record, key: str) -> list[str] | None:
    values = [v.decode("utf-8", "replace") for k, v in carrier.headers if k == key]
    return values or None


class _RecordGetter(Getter[Record]):
    """Reads trace context from a Record's raw headers (for :func:`propagate.extract`)."""

    def get(self, carrier: Record, key: str) -> list[str] | None:
        return _record_headers(carrier, key)

    def keys(self, carrier: Record) -> list[str]:
        return [k for k, _ in carrier.headers]


GETTER = _RecordGetter()
"""Reads a Record's headers for :func:`opentelemetry.propagate.extract`."""


def with_context(record: Record, carrier: Mapping[str, str]) -> Record:
    """``record`` with the headers in ``carrier`` set: replaced in place, else appended."""
    if not carrier:
        return record
    headers = [(k, carrier[k].encode() if k in carrier else v) for k, v in record.headers]
    present = {k for k, _ in record.headers}
    headers.extend((k, v.encode()) for k, v in carrier.items() if k not in present)
    return record.replace(headers=tuple(headers))


def header(record: Record, name: str) -> str | None:
    """The text of ``record``'s header ``name`` (``None`` when it has none)."""
    value = record.header(name)
    return None if value is None else value.decode("utf-8", "replace")
