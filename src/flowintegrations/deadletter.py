"""The old import path of :mod:`flowintegrations.runtime.deadletter`, which it re-exports.

The module moved into the runtime layer, where it belongs; this path keeps working.
"""

from flowintegrations.runtime.deadletter import (
    ATTEMPTS,
    ERROR_CLASS,
    ERROR_MESSAGE,
    ERROR_STAGE,
    ERROR_VIOLATIONS,
    MAX_REASON_CHARS,
    ORIGINAL_OFFSET,
    ORIGINAL_PARTITION,
    ORIGINAL_SIZE,
    ORIGINAL_TOPIC,
    REDUCED_VALUE_BYTES,
    TRUNCATED,
    dead_letter_record,
    error_class_name,
    redact,
    reduced_dead_letter,
)

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
