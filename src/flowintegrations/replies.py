"""The old import path of :mod:`flowintegrations.runtime.replies`, which it re-exports.

The module moved into the runtime layer, where it belongs; this path keeps working.
"""

from flowintegrations.runtime.replies import (
    reply_record,
)

__all__ = [
    "reply_record",
]
