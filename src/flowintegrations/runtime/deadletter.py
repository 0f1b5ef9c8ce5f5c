"""Dead-letter records: the original message, plus headers that say why it is there.

A message that cannot be handled is never dropped: it goes to ``<topic><suffix>`` (by
default ``<topic>.DLT``) with its original key, value and headers, followed by these
headers (values are UTF-8 text):

=====================================  ==================================================
``flowintegrations.error.stage``       where it failed: ``decode``, ``headers``,
                                       ``request``, ``handler``, ``reply`` or
                                       ``internal`` (the SDK's own failure)
``flowintegrations.error.class``       the exception's class (``ValidationError``,
                                       ``CodecError``, or the handler's own, qualified)
``flowintegrations.error.message``     the error message (secret header values redacted)
``flowintegrations.error.violations``  JSON list of ``{"path", "rule", "message"}``, for
                                       validation failures (``[]`` otherwise)
``flowintegrations.original.topic``    topic the message was read from
``flowintegrations.original.partition``  its partition
``flowintegrations.original.offset``   its offset
``flowintegrations.attempts``          how many times the handler was tried (0 when the
                                       message never reached it)
=====================================  ==================================================

Texts are cut at :data:`MAX_REASON_CHARS` characters (after secrets are redacted), and
made encodable (a lone surrogate becomes a backslash escape).

A dead letter the broker refuses for its size (the original value was near the limit)
is sent again in a **reduced form**: the same headers saying why, the original value cut
to its first :data:`REDUCED_VALUE_BYTES` bytes, the original headers only if they are
small, and two more headers:

=====================================  ==================================================
``flowintegrations.original.size``     the original value's size in bytes
``flowintegrations.truncated``         ``true``
=====================================  ==================================================
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from flowintegrations.errors import ValidationError
from flowintegrations.transport import Record
from flowintegrations.vocabulary import encodable, redact

__all__ = [
    "ATTEMPTS",
    "ERROR_CLASS",
    "ERROR_MESSAGE",
    "ERROR_STAGE",
    "ERROR_VIOLATIONS",
    "MAX_REASON_CHARS",
    "ORIGINAL_OFFSET",
    "ORIGINAL_PARTITION",
    "ORIGINAL_SIZE",
    "ORIGINAL_TOPIC",
    "REDUCED_VALUE_BYTES",
    "TRUNCATED",
    "dead_letter_record",
    "error_class_name",
    "redact",
    "reduced_dead_letter",
]

ERROR_STAGE = "flowintegrations.error.stage"
ERROR_CLASS = "flowintegrations.error.class"
ERROR_MESSAGE = "flowintegrations.error.message"
ERROR_VIOLATIONS = "flowintegrations.error.violations"
ORIGINAL_TOPIC = "flowintegrations.original.topic"
ORIGINAL_PARTITION = "flowintegrations.original.partition"
ORIGINAL_OFFSET = "flowintegrations.original.offset"
ATTEMPTS = "flowintegrations.attempts"
ORIGINAL_SIZE = "flowintegrations.original.size"
TRUNCATED = "flowintegrations.truncated"

MAX_REASON_CHARS = 8192
"""The longest text a reason header holds; longer ones are cut, marked ``[truncated]``."""

REDUCED_VALUE_BYTES = 16 * 1024
"""How much of the original value (and headers) a reduced dead letter keeps."""


def error_class_name(error: BaseException) -> str:
    """``ValueError`` for builtins and our own errors; ``module.Class`` for anything else."""
    cls = type(error)
    if cls.__module__ == "builtins" or cls.__module__.startswith("flowintegrations."):
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def dead_letter_record(
    record: Record,
    *,
    suffix: str,
    stage: str,
    error: BaseException,
    attempts: int,
    secrets: Iterable[str] = (),
) -> Record:
    """The dead-letter record for ``record``, which failed at ``stage`` with ``error``."""
    secrets = tuple(secrets)
    violations = error.violations if isinstance(error, ValidationError) else ()
    why = (
        (ERROR_STAGE, stage),
        (ERROR_CLASS, error_class_name(error)),
        (ERROR_MESSAGE, redact(str(error), secrets)),
        (ERROR_VIOLATIONS, redact(json.dumps([v.to_json() for v in violations]), secrets)),
        (ORIGINAL_TOPIC, record.topic),
        (ORIGINAL_PARTITION, str(record.partition)),
        (ORIGINAL_OFFSET, str(record.offset)),
        (ATTEMPTS, str(attempts)),
    )
    # Every text is made encodable: a lone surrogate (valid in JSON) in an error message
    # or a header name must not make the dead letter itself fail.
    original = tuple((encodable(name), value) for name, value in record.headers)
    return Record(
        topic=encodable(record.topic + suffix),
        key=record.key,
        value=record.value,
        headers=original + tuple((k, _reason(v)) for k, v in why),
    )


def reduced_dead_letter(dead: Record, original: Record) -> Record:
    """``dead`` (the dead letter of ``original``) cut down so that any broker takes it."""
    keep = REDUCED_VALUE_BYTES
    kept_headers = original.headers
    if sum(len(name) + len(value) for name, value in kept_headers) > keep:
        kept_headers = ()
    why = dead.headers[len(original.headers) :]
    return Record(
        topic=dead.topic,
        key=None if original.key is None else original.key[:keep],
        value=original.value[:keep],
        headers=tuple((encodable(n), v) for n, v in kept_headers)
        + why
        + ((ORIGINAL_SIZE, str(len(original.value)).encode()), (TRUNCATED, b"true")),
    )


def _reason(text: str) -> bytes:
    if len(text) > MAX_REASON_CHARS:
        text = text[: MAX_REASON_CHARS - 11] + "[truncated]"
    return encodable(text).encode("utf-8")
