"""``--reload`` for ``run`` and ``serve``: the command in a child process, restarted on changes.

For development only. The parent watches the adapter's directory (the file's own directory
for ``path/to/adapter.py:app``, else the current directory, where ``MODULE`` is imported
from) with ``watchfiles``, and on a change of a ``.py`` or ``.json`` file stops the child
the way Ctrl-C does (SIGINT: it finishes what it fetched, then exits) and starts it again.
A child that fails (a syntax error in the file being edited) is started again on the next
change. SIGINT or SIGTERM to the parent stops the child the same way and exits 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from flowintegrations.cli._common import log
from flowintegrations.errors import FlowIntegrationsError

RELOAD_EXTRA_MESSAGE = "--reload needs watchfiles: pip install 'flowintegrations[reload]'"
"""What ``--reload`` says when the ``reload`` extra is not installed."""

_STOP_TIMEOUT = 60
"""Seconds a child has to stop gracefully (it finishes what it fetched) before SIGKILL."""


def add_reload_option(parser: argparse.ArgumentParser) -> None:
    """Give ``parser`` the ``--reload`` flag."""
    parser.add_argument(
        "--reload",
        action="store_true",
        help="restart on changes of the adapter's .py and .json files (development; "
        "needs the reload extra)",
    )


def watched_directory(spec: str) -> Path:
    """The directory whose changes restart ``MODULE:OBJ``: the file's, else the current one."""
    module = spec.partition(":")[0]
    if module.endswith(".py") or "/" in module:
        return Path(module).resolve().parent
    return Path.cwd()


def without_reload(argv: Sequence[str]) -> list[str]:
    """``argv`` without ``--reload`` (or an abbreviation argparse accepts for it)."""
    return [arg for arg in argv if not (arg.startswith("--r") and "--reload".startswith(arg))]


def reload_on_changes(spec: str, argv: Sequence[str]) -> int:
    """Run ``flowintegrations ARGV`` (minus ``--reload``), restarting it on source changes."""
    try:
        import watchfiles  # noqa: PLC0415 - an optional extra
    except ImportError:
        raise FlowIntegrationsError(RELOAD_EXTRA_MESSAGE) from None
    directory = watched_directory(spec)
    command = [sys.executable, "-m", "flowintegrations", *without_reload(argv)]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("watchfiles").setLevel(logging.WARNING)  # our own line names the change
    stop = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda *_: stop.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    log.info(
        "--reload: watching %s for changes of .py and .json files",
        directory,
        extra={"event": "reload_watch"},
    )
    child = _start(command)
    try:
        for changes in watchfiles.watch(
            directory,
            watch_filter=watchfiles.PythonFilter(extra_extensions=(".json",)),
            stop_event=stop,
            raise_interrupt=False,
        ):
            names = sorted({os.path.relpath(path, directory) for _, path in changes})
            log.info(
                "--reload: %s changed; restarting", ", ".join(names), extra={"event": "reload"}
            )
            _stop(child)
            child = _start(command)
    finally:
        _stop(child)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def _start(command: list[str]) -> subprocess.Popen[bytes]:
    # In a session of its own: a Ctrl-C in the terminal reaches this process alone, which
    # then stops the child with one SIGINT (a second one would cut its graceful stop short).
    return subprocess.Popen(command, start_new_session=True)  # noqa: S603 - our own command


def _stop(child: subprocess.Popen[bytes]) -> None:
    """Stop ``child`` as Ctrl-C would, and wait for it (then kill it, if it hangs)."""
    if child.poll() is not None:
        return
    child.send_signal(signal.SIGINT)
    try:
        child.wait(_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        log.warning("--reload: the command did not stop within %d s; killing it", _STOP_TIMEOUT)
        child.kill()
        child.wait()
