"""``--reload`` for ``run`` and ``serve``: the command in a child process, restarted on changes.

For development only. The parent watches the adapter's directory (the file's own directory
for ``path/to/adapter.py:app``, else the current directory, where ``MODULE`` is imported
from) with ``watchfiles``, and on a change of a ``.py`` or ``.json`` file stops the child
the way Ctrl-C does (SIGINT: it finishes what it fetched, then exits) and starts it again.
A child that fails (a syntax error in the file being edited) is started again on the next
change. SIGINT or SIGTERM to the parent stops the child and exits 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
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
    command = shlex.join([sys.executable, "-m", "flowintegrations", *without_reload(argv)])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("watchfiles").setLevel(logging.ERROR)  # our own lines say what happens
    log.info(
        "--reload: watching %s for changes of .py and .json files",
        directory,
        extra={"event": "reload_watch"},
    )

    def restarting(changes: set[tuple[watchfiles.Change, str]]) -> None:
        names = sorted({os.path.relpath(path, directory) for _, path in changes})
        log.info("--reload: %s changed; restarting", ", ".join(names), extra={"event": "reload"})

    watchfiles.run_process(
        directory,
        target=command,
        target_type="command",
        callback=restarting,
        watch_filter=watchfiles.PythonFilter(extra_extensions=(".json",)),
        sigint_timeout=_STOP_TIMEOUT,
    )
    return 0
