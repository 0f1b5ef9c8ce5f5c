"""The thread a Kafka client's blocking calls run on: :class:`ClientThread`.

A few librdkafka calls can block for good: a synchronous commit whose answer never comes
(confluent-kafka-python issue 1801, open since 2.2), and a consumer's close, which waits
for that commit. The subscription waits for such calls with a bound (``commit_timeout``),
so a stuck call fails the operation instead of hanging its caller; the thread the call is
stuck on is left behind. It must not keep the process alive: the threads of a
``concurrent.futures.ThreadPoolExecutor`` are joined when the interpreter exits, so one
stuck in librdkafka would hang the exit. A :class:`ClientThread` is one daemon thread
serving its calls in order, which the process does not wait for.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["ClientThread"]

T = TypeVar("T")

_STOP = None


class ClientThread(concurrent.futures.Executor):
    """An executor of one daemon thread, named ``name``: calls run one at a time, in order.

    For ``loop.run_in_executor``. :meth:`shutdown` lets the thread finish the calls already
    submitted, then end; with ``wait=False`` nobody waits for it, nor does the process.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._calls: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._shut = False

    def __repr__(self) -> str:
        state = "shut down" if self._shut else "open"
        return f"ClientThread({self.name!r}, {state})"

    def submit(
        self, fn: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[T]:
        """Queue ``fn(*args, **kwargs)``; return the future of its result."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._lock:
            if self._shut:
                msg = f"{self.name}: cannot run a call after shutdown"
                raise RuntimeError(msg)
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
                self._thread.start()
            self._calls.put((future, fn, args, kwargs))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """End the thread once the calls already queued are served; wait for it if ``wait``.

        With ``cancel_futures`` those calls are cancelled instead of run. Idempotent.
        """
        with self._lock:
            already, self._shut = self._shut, True
            thread = self._thread
            if not already:
                if cancel_futures:
                    self._cancel_queued()
                self._calls.put(_STOP)
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join()

    def _cancel_queued(self) -> None:
        kept = []
        while True:
            try:
                item = self._calls.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                item[0].cancel()
                kept.append(item)  # served as cancelled: the thread skips them
        for item in kept:
            self._calls.put(item)

    def _serve(self) -> None:
        calls = self._calls
        while (item := calls.get()) is not _STOP:
            _run(*item)
            del item  # hold no call's objects while waiting for the next


def _run(
    future: concurrent.futures.Future[Any],
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    """Run one call into its future (skipped if the future was cancelled meanwhile)."""
    if not future.set_running_or_notify_cancel():
        return
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - handed to the caller, as executors do
        future.set_exception(exc)
    else:
        future.set_result(result)
