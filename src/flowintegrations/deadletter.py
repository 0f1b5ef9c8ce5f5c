"""Dead-letter records: the original message, plus headers that say why it is there.

A message that cannot be handled is never dropped: it goes to ``<topic><suffix>`` (by
default ``<topic>.DLT``) with its original key, value and headers, followed by these
headers (values are UTF-8 text):

=====================================  ==================================================
``flowintegrations.error.stage``       where it failed: ``decode``, ``headers``,
                                       ``request``, ``handler`` or ``reply``
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
    "ORIGINAL_OFFSET",
    "ORIGINAL_PARTITION",
    "ORIGINAL_TOPIC",
    "dead_letter_record",
    "error_class_name",
    "redact",
]

ERROR_STAGE = "flowintegrations.error.stage"
ERROR_CLASS = "flowintegrations.error.class"
ERROR_MESSAGE = "flowintegrations.error.message"
ERROR_VIOLATIONS = "flowintegrations.error.violations"
ORIGINAL_TOPIC = "flowintegrations.original.topic"
ORIGINAL_PARTITION = "flowintegrations.original.partition"
ORIGINAL_OFFSET = "flowintegrations.original.offset"
ATTEMPTS = "flowintegrations.attempts"


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
        headers=original + tuple((k, encodable(v).encode("utf-8")) for k, v in why),
    )
