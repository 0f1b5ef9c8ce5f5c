"""The old import path of :mod:`flowintegrations.runtime.context`, which it re-exports.

The module moved into the runtime layer, where it belongs; this path keeps working.
"""

from flowintegrations.runtime.context import (
    Context,
    MessageLogger,
    redact_headers,
)

__all__ = [
    "Context",
    "MessageLogger",
    "redact_headers",
]
