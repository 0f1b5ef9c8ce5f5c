"""Running the ``flowintegrations`` command as a process, the way an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from flowintegrations.testing.broker import TANSU_TEST_CONFIG

ECHO_ADAPTER = Path(__file__).resolve().with_name("echo_adapter.py")
"""The adapter the process tests run (see its docstring for its environment variables)."""

TANSU_OPTIONS = tuple(f"--config={key}={value}" for key, value in TANSU_TEST_CONFIG.items())
"""``--config`` options that give the command's Kafka clients the Tansu test settings."""


def start_command(
    *args: str, log: Path, env: Mapping[str, str | None] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``python -m flowintegrations ARGS``, its output to ``log``.

    ``env`` is added to this process's environment; a ``None`` value removes the variable.
    """
    environment = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = value
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "flowintegrations", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environment,
        )


def wait_for_output(
    process: subprocess.Popen[bytes], log: Path, text: str, *, timeout: float = 60.0
) -> None:
    """Return once ``text`` is in ``log``; fail if the process exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            msg = f"{text!r} not in the output (exit code {process.poll()}):\n{log.read_text()}"
            raise AssertionError(msg)
        time.sleep(0.05)


def log_lines(log: Path, logger: str) -> list[str]:
    """The messages ``logger`` wrote to ``log`` (the command's format: time level name msg)."""
    marker = f" {logger} "
    return [line.split(marker, 1)[1] for line in log.read_text().splitlines() if marker in line]
