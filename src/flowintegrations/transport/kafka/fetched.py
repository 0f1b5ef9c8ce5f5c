"""Fetched librdkafka messages become :class:`~flowintegrations.transport.Record` values.

Two loops build the same records. :func:`records` is the usual one: no record of the
consumer group ever crashed the client. :func:`records_carefully` is for when one did
(kafka/poison.py): known poison is never read, and a record in a range a process died
reading is named alone before its headers are read. The first is written out in one loop,
without a call a record, because it runs for every record consumed (docs/performance.md).

A record's headers keep order and duplicates; a header whose value is null reads as
``b""``, and a null value as ``b""``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowintegrations.transport.base import Headers, Record
from flowintegrations.transport.kafka.poison import PoisonLedger
from flowintegrations.vocabulary import UNREADABLE_HEADERS, UNREADABLE_HEADERS_VALUE

__all__ = ["UNREADABLE", "records", "records_carefully", "scan_spans"]

UNREADABLE: Headers = ((UNREADABLE_HEADERS, UNREADABLE_HEADERS_VALUE),)
"""The headers of a record whose headers confluent-kafka cannot read (docs/reliability.md)."""

Spans = dict[tuple[str, int], tuple[int, int]]
"""Per (topic, partition), the first and last offset of a batch."""

# A Record is a tuple of its fields: built directly, a record costs ~0.1 us instead of
# ~0.35 us through Record(...) (docs/performance.md).
_new = tuple.__new__


def scan_spans(messages: list[Any]) -> Spans:
    """Per partition, the first and last offset of the fetched ``messages``."""
    spans: Spans = {}
    for message in messages:
        if message.error() is None:
            key = (message.topic(), message.partition())
            offset = message.offset()
            first = spans.get(key)
            spans[key] = (offset, offset) if first is None else (first[0], offset)
    return spans


def records(
    messages: list[Any], poison: PoisonLedger, on_error: Callable[[Any], None]
) -> list[Record]:
    """The records of ``messages``; an error message goes to ``on_error``, not returned.

    Empties ``messages``: each message is let go once its record is built.
    """
    built: list[Record] = []
    append = built.append
    # Taken off the end of the reversed list, each message is freed as its record is made:
    # the collector counts the objects made and not yet freed, so holding all of them
    # until the end set off a collection of the young objects every batch.
    messages.reverse()
    pop = messages.pop
    for _ in range(len(messages)):
        message = pop()
        if message.error() is not None:
            on_error(message)
            continue
        try:
            headers = message.headers()
        except (SystemError, UnicodeDecodeError):
            # A header name that is not UTF-8: confluent-kafka cannot read it. Remember
            # the record on disk, hand it on marked, to be dead-lettered.
            poison.add(message.topic(), message.partition(), message.offset())
            headers = UNREADABLE
        # What _record does, written out.
        if headers is None:
            headers = ()
        else:
            headers = tuple(headers)
            for _, value in headers:
                if value is None:
                    headers = tuple((k, b"" if v is None else v) for k, v in headers)
                    break
        value = message.value()
        append(
            _new(
                Record,
                (
                    message.topic(),
                    message.key(),
                    b"" if value is None else value,
                    headers,
                    message.partition(),
                    message.offset(),
                    message.timestamp()[1],
                ),
            )
        )
    return built


def records_carefully(
    messages: list[Any], spans: Spans, poison: PoisonLedger, on_error: Callable[[Any], None]
) -> list[Record]:
    """:func:`records`, when records of this group crashed the client before.

    ``spans`` is what the reading marker named for this batch: it is named again after a
    record read alone.
    """
    built: list[Record] = []
    for message in messages:
        if message.error() is not None:
            on_error(message)
            continue
        place = (message.topic(), message.partition(), message.offset())
        if place in poison:
            built.append(_record(message, UNREADABLE))  # it crashed the client: never read
            continue
        careful = poison.is_suspect(*place)
        if careful:  # a process died reading this range: name this record alone
            poison.mark_one(*place)
        try:
            headers = message.headers()
        except (SystemError, UnicodeDecodeError):
            poison.add(*place)  # as in records()
            headers = UNREADABLE
        if careful:
            poison.mark(spans)
        built.append(_record(message, headers))
    return built


def _record(message: Any, headers: Any) -> Record:
    """The record of ``message`` with its ``headers`` as read (a list, or ``None``)."""
    pairs = () if headers is None else tuple((k, b"" if v is None else v) for k, v in headers)
    value = message.value()
    return _new(
        Record,
        (
            message.topic(),
            message.key(),
            b"" if value is None else value,
            pairs,
            message.partition(),
            message.offset(),
            message.timestamp()[1],
        ),
    )
