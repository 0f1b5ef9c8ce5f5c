"""How a reply record is built from its request: the one place that knows the rule.

A reply carries the request's headers in order, except those a declared ``Header`` marks
``propagate=False``, and its Kafka key is the request's ``processInstanceUuid`` header when
present, else the request's key (DESIGN.md, Correlation). The delivery loop builds every
immediate reply here; a deferred reply (``ctx.defer()``) takes its headers and key from here
too when it is made, so that answering later sends exactly what answering at once would.
"""

from __future__ import annotations

from flowintegrations.transport import Record
from flowintegrations.vocabulary import PROCESS_INSTANCE_UUID

__all__ = ["reply_record"]


def reply_record(in_topic: str, request: Record, value: bytes, never: frozenset[str]) -> Record:
    """The reply to ``request``: its headers copied (but ``never``), keyed by the process."""
    headers = request.headers
    key = request.key
    # One pass: the last processInstanceUuid header wins, as Record.header() reads it.
    for name, header_value in headers:
        if name == PROCESS_INSTANCE_UUID:
            key = header_value
    if never:
        headers = tuple([h for h in headers if h[0] not in never])
    # A Record is the tuple of its fields (transport.base): built directly, it skips the
    # keyword handling of Record(...), on the hot path of every reply.
    return _new(Record, (in_topic, key, value, headers, None, None, None))


_new = tuple.__new__
