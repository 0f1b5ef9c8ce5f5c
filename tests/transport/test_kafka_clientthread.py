"""ClientThread: one daemon thread serving calls in order, which never holds the process."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading

import pytest

from flowintegrations.transport.kafka.clientthread import ClientThread


def test_calls_run_in_order_on_one_daemon_thread_of_its_name() -> None:
    """Every call runs on the same thread, named as asked, a daemon, in submission order."""
    executor = ClientThread("fi-test-client")
    seen: list[tuple[int, str, bool]] = []

    def note(n: int) -> int:
        thread = threading.current_thread()
        seen.append((n, thread.name, thread.daemon))
        return n * 10

    futures = [executor.submit(note, n) for n in range(5)]
    assert [f.result(5) for f in futures] == [0, 10, 20, 30, 40]
    executor.shutdown()
    assert seen == [(n, "fi-test-client", True) for n in range(5)]


def test_a_call_that_raises_fails_its_future_and_the_thread_goes_on() -> None:
    """The exception reaches the caller; the next call still runs."""
    executor = ClientThread("fi-test-client")

    def boom() -> None:
        msg = "no coordinator"
        raise LookupError(msg)

    failed = executor.submit(boom)
    after = executor.submit(lambda: "next")
    with pytest.raises(LookupError, match="no coordinator"):
        failed.result(5)
    assert after.result(5) == "next"
    executor.shutdown()


def test_shutdown_serves_what_was_queued_then_refuses_new_calls() -> None:
    """Calls queued before shutdown run; a call after it raises RuntimeError naming the thread."""
    executor = ClientThread("fi-test-client")
    gate = threading.Event()
    first = executor.submit(gate.wait, 5)
    second = executor.submit(lambda: "queued")
    executor.shutdown(wait=False)
    with pytest.raises(RuntimeError, match="fi-test-client: cannot run a call after shutdown"):
        executor.submit(lambda: None)
    gate.set()
    assert first.result(5) is True
    assert second.result(5) == "queued"
    executor.shutdown(wait=True)  # idempotent, and the thread has ended


def test_shutdown_with_cancel_futures_cancels_the_queued_calls() -> None:
    """The running call finishes; the ones still queued are cancelled, never run."""
    executor = ClientThread("fi-test-client")
    gate, started = threading.Event(), threading.Event()
    ran: list[str] = []
    running = executor.submit(lambda: (started.set(), gate.wait(5))[1])
    queued = executor.submit(ran.append, "queued")
    assert started.wait(5)
    executor.shutdown(wait=False, cancel_futures=True)
    gate.set()
    assert running.result(5) is True
    assert queued.cancelled()
    executor.shutdown(wait=True)
    assert ran == []


def test_run_in_executor_awaits_its_calls() -> None:
    """The loop's run_in_executor takes it as an executor."""

    async def main() -> list[int]:
        executor = ClientThread("fi-test-client")
        loop = asyncio.get_running_loop()
        try:
            return [await loop.run_in_executor(executor, pow, 2, n) for n in range(4)]
        finally:
            executor.shutdown(wait=False)

    assert asyncio.run(main()) == [1, 2, 4, 8]


def test_a_call_stuck_for_good_does_not_keep_the_process_alive() -> None:
    """A process exits while its client thread is stuck (a ThreadPoolExecutor's would hang)."""
    script = textwrap.dedent(
        """
        import threading
        from flowintegrations.transport.kafka.clientthread import ClientThread

        executor = ClientThread("stuck")
        started = threading.Event()
        executor.submit(lambda: (started.set(), threading.Event().wait()))
        started.wait(5)
        executor.shutdown(wait=False)
        print("leaving")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "leaving\n", "")
