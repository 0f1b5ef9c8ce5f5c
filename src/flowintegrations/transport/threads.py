"""Sync handlers running on worker threads, counted: pollers on the loop keep out of their way.

confluent-kafka releases and takes back the GIL around every delivery-report callback.
Served on the event loop while a sync handler runs on a worker thread, each report can hand
that thread the GIL and wait to get it back: the handlers and the reports slow each other
down (measured on the App's bench: about 1.5 µs a message more, and uneven rates). The
runtime marks the time its worker threads run handlers with :func:`handlers_running`; the
Kafka producer's pump leaves delivery reports queued meanwhile, for at most
:data:`HOLD_OFF` seconds (they are served when the handlers return, and by produce calls
every 256 records).

The count is of the process, as the GIL is: the handlers of every App in it count.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["HOLD_OFF", "handlers_busy", "handlers_running"]

HOLD_OFF = 0.02
"""Seconds a poller may wait for running handlers before it serves anyway."""

_lock = threading.Lock()
_running = 0


@contextmanager
def handlers_running() -> Iterator[None]:
    """Mark, for its duration, that sync handlers are running on a worker thread."""
    global _running  # noqa: PLW0603 - one count per process, as there is one GIL
    with _lock:
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1


def handlers_busy() -> bool:
    """Whether sync handlers are running on worker threads now."""
    return _running > 0
