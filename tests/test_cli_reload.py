"""`run --reload` and `serve --reload`: the command restarts when the adapter's file changes."""

from __future__ import annotations

import re
import signal
import sys
import time
from pathlib import Path

import pytest

from flowintegrations.cli import main
from support.processes import log_lines, start_command

ADAPTER = """\
from flowintegrations import App, Integration, Scenario, TopicBinding

S = Scenario("S", "NAME", topics=[TopicBinding("NAME.out", "NAME.in")])
app = App(Integration("I", "i", scenarios=[S]))


@app.handler(S)
async def handle(payload: dict) -> dict:
    return {}
"""


def adapter(directory: Path, name: str) -> str:
    """Write the adapter with scenario and topics called ``name``; its MODULE:APP spec."""
    path = directory / "adapter.py"
    path.write_text(ADAPTER.replace("NAME", name), encoding="utf-8")
    return f"{path}:app"


def wait_for_lines(log: Path, prefix: str, count: int, timeout: float = 60.0) -> list[str]:
    """The command's log lines starting with ``prefix``, once there are ``count`` of them."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [m for m in log_lines(log, "flowintegrations.cli") if m.startswith(prefix)]
        if len(lines) >= count:
            return lines
        if time.monotonic() > deadline:
            raise AssertionError(f"{count} {prefix!r} lines expected:\n{log.read_text()}")
        time.sleep(0.05)


def reloaded(tmp_path: Path, command: str, prefix: str, *options: str) -> tuple[int, list[str]]:
    """Start ``command SPEC --reload``, rename the scenario in the file once, then SIGTERM.

    Returns the exit code and the command's own log lines (``--reload``, start and stop).
    """
    log = tmp_path / "out.log"
    spec = adapter(tmp_path, "first")
    process = start_command(command, spec, "--reload", *options, log=log)
    try:
        wait_for_lines(log, prefix, 1)
        adapter(tmp_path, "second")
        wait_for_lines(log, prefix, 2)
        process.send_signal(signal.SIGTERM)
        code = process.wait(60)
    finally:
        process.kill()
    lines = log_lines(log, "flowintegrations.cli")
    return code, [m for m in lines if m.startswith((prefix, "stopped", "--reload"))]


def test_run_reload_restarts_the_adapter_when_its_file_changes(tmp_path: Path) -> None:
    """`run --reload`: a change to the file stops the adapter and starts the new one; exit 0."""
    code, lines = reloaded(tmp_path, "run", "started")
    memory = "flowintegrations.i on the in-memory transport"
    assert (code, lines) == (
        0,
        [
            f"--reload: watching {tmp_path} for changes of .py and .json files",
            f"started {memory}: i/first out=first.out in=first.in",
            "--reload: adapter.py changed; restarting",
            f"stopped {memory}: i/first out=first.out in=first.in",
            f"started {memory}: i/second out=second.out in=second.in",
            f"stopped {memory}: i/second out=second.out in=second.in",
        ],
    )


def test_serve_reload_serves_the_changed_actions(tmp_path: Path) -> None:
    """`serve --reload`: after a change the service serves the new action; exit 0."""
    code, lines = reloaded(tmp_path, "serve", "serving", "--port", "0")
    shown = [re.sub(r"http://127\.0\.0\.1:\d+", "URL", line) for line in lines]
    assert (code, shown) == (
        0,
        [
            f"--reload: watching {tmp_path} for changes of .py and .json files",
            "serving Flow service at URL: POST URL/actions/first",
            "--reload: adapter.py changed; restarting",
            "stopped Flow service at URL",
            "serving Flow service at URL: POST URL/actions/second",
            "stopped Flow service at URL",
        ],
    )


def test_reload_without_watchfiles_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without watchfiles installed, `--reload` is one error line naming the extra, exit 1."""
    monkeypatch.setitem(sys.modules, "watchfiles", None)
    assert main(["run", adapter(tmp_path, "first"), "--reload"]) == 1
    assert capsys.readouterr().err == (
        "error: --reload needs watchfiles: pip install 'flowintegrations[reload]'\n"
    )
