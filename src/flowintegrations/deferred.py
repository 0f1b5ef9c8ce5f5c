"""The old import path of :mod:`flowintegrations.runtime.deferred`, which it re-exports.

The module moved into the runtime layer, where it belongs; this path keeps working.
"""

from flowintegrations.runtime.deferred import (
    MIN_SECRET_BYTES,
    TOKEN_VERSION,
    Deferrals,
    DeferredReply,
    DeferredRequest,
    MemoryReplyLedger,
    ReplyLedger,
)

__all__ = [
    "MIN_SECRET_BYTES",
    "TOKEN_VERSION",
    "Deferrals",
    "DeferredReply",
    "DeferredRequest",
    "MemoryReplyLedger",
    "ReplyLedger",
]
