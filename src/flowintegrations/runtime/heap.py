"""While an app serves, the objects made at start-up are left out of full collections.

A served app allocates a handful of tracked objects for every request (its record, the
decoded payload, the reply), and every ten thousand requests or so (8 full collections in
a 100,000-request drain) Python's collector walks the whole heap: the modules, classes,
catalogs and compiled validators made at start-up, which never become garbage.
:func:`frozen_heap` moves them to the collector's permanent generation (``gc.freeze()``)
for as long as the app serves, after one full collection so that no garbage is kept, and
gives them back (``gc.unfreeze()``) when it stops. Counted with ``gc.callbacks`` while
the App drained 100,000 requests from Kafka: full collections took ~100 ms before, ~15 ms
frozen (docs/performance.md).

Nothing else changes: the collector's thresholds stay as they are, objects made while
serving are collected as before, and a process that froze its heap itself (a pre-forking
server does) is left alone. Apps that serve at the same time share one freeze: it ends
with the last of them.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["frozen_heap"]

_holders = 0
"""How many serving apps hold the freeze this module made (0: it made none)."""


@contextlib.contextmanager
def frozen_heap(enabled: bool = True) -> Iterator[bool]:
    """Freeze the heap for the ``with`` block; yields whether this block holds a freeze.

    Does nothing when ``enabled`` is false, or when the heap was frozen by someone else.
    """
    global _holders  # noqa: PLW0603 - one freeze per process, shared by the apps serving
    if not enabled or (_holders == 0 and gc.get_freeze_count()):
        yield False
        return
    if _holders == 0:
        gc.collect()
        gc.freeze()
    _holders += 1
    try:
        yield True
    finally:
        _holders -= 1
        if _holders == 0:
            gc.unfreeze()
