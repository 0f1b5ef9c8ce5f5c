"""A new user's first hour, scripted: from `pip install .[test]` to an adapter called on a broker.

One test, in order, in a temporary directory, with a fresh virtual environment into which
the package is installed as a user would (``pip install '<repository>[test]'``, not
editable). The project is the one docs/getting-started.md builds (its files are taken from
the page), plus a test file of the kind the guide suggests. Then, as that user: check the
adapter, run its tests in memory and on Kafka, start ``flowintegrations broker``, ``run`` the
adapter on it, call it with an ``EngineClient`` (the page's ``call_greeter.py``), stop
everything with Ctrl-C, and make the mistakes the developer-experience issue lists: each
must end in its documented one-line message, never a traceback.

Building the environment takes 10-20 s (pip's cache holds the wheels); the whole walk
about a minute.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from support.processes import wait_for_output

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "getting-started.md"
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
TANSU = [
    "--config",
    "session.timeout.ms=6000",
    "--config",
    "heartbeat.interval.ms=500",
    "--config",
    "fetch.wait.max.ms=5",
    "--config",
    "auto.offset.reset=earliest",
]

# A test file a user would add next to the guide's: the fixture form that follows
# --fi-transport, the dead-letter error, and strategies of a scenario with its integration.
USER_TESTS = """
import pytest
from hypothesis import given, settings

from flowintegrations import App, RequestDeadLetteredError, Retry
from flowintegrations.testing.strategies import payloads
from greeter import GREET, GREETER, app


def test_every_valid_request_is_greeted(fi_test_client):
    client = fi_test_client(app)

    @settings(max_examples=10, deadline=None)
    @given(payloads(GREET, GREETER))
    def check(request):
        assert client.request(GREET, request).payload["greeting"].endswith(request["name"] + "!")

    check()


def test_a_failing_handler_fails_the_request_at_once(fi_test_client):
    broken = App(GREETER, retry=Retry(attempts=1))
    broken.handler(GREET)(lambda request: 1 / 0)
    client = fi_test_client(broken)
    with pytest.raises(RequestDeadLetteredError, match="at stage 'handler' after 1 try: "
                       "ZeroDivisionError: division by zero$"):
        client.request(GREET, {"name": "Ana"}, timeout=60)
"""


def guide_files() -> dict[str, str]:
    """The files of the getting-started project (blocks whose first line is ``# name``)."""
    files = {}
    for _, body in FENCE.findall(GUIDE.read_text(encoding="utf-8")):
        first = body.split("\n", 1)[0]
        if re.fullmatch(r"# [\w.-]+\.(py|toml)", first):
            files[first[2:]] = body
    return files


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class User:
    """Runs commands in the project directory, with the fresh environment's bin/ first."""

    def __init__(self, project: Path, venv: Path) -> None:
        self.project = project
        self.bin = venv / "bin"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"PYTHONPATH", "VIRTUAL_ENV", "FLOWINTEGRATIONS_KAFKA_BOOTSTRAP"}
            and not k.startswith("PYTEST_")
        }
        self.env["PATH"] = f"{self.bin}{os.pathsep}{self.env.get('PATH', '')}"
        self.processes: list[subprocess.Popen[bytes]] = []

    def command(self, args: Sequence[str]) -> list[str]:
        """``args`` with a command of the environment named by its full path."""
        installed = self.bin / args[0]
        return [str(installed) if installed.exists() else args[0], *args[1:]]

    def run(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        """Run a command to its end; return its exit code and output."""
        return subprocess.run(
            self.command(args),
            cwd=self.project,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, *args: str, log: Path) -> subprocess.Popen[bytes]:
        """Start a long-running command, its output to ``log``."""
        with log.open("wb") as out:
            process = subprocess.Popen(
                self.command(args),
                cwd=self.project,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        return process

    def mistake(self, *args: str) -> str:
        """Run ``flowintegrations ARGS``, which must fail with exit 1 and one line; return it."""
        done = self.run("flowintegrations", *args, timeout=60)
        assert (done.returncode, done.stdout, "Traceback" in done.stderr) == (1, "", False)
        lines = done.stderr.splitlines()
        assert len(lines) == 1, done.stderr
        return lines[0]


@pytest.fixture
def user(tmp_path: Path) -> Iterator[User]:
    """A new user with a fresh venv holding `pip install '<this repository>[test]'`."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", f"{ROOT}[test]"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    project = tmp_path / "project"
    project.mkdir()
    someone = User(project, venv)
    try:
        yield someone
    finally:
        for process in someone.processes:
            process.kill()
            process.wait(30)


def stop(process: subprocess.Popen[bytes], log: Path, last_line: str) -> None:
    """Ctrl-C ``process``: it must exit 0 with ``last_line`` in its output."""
    process.send_signal(signal.SIGINT)
    assert process.wait(60) == 0, log.read_text()
    assert last_line in log.read_text()


def outcome(summary: str) -> str:
    """The closing line of a pytest run, without its duration: ``'6 passed'``."""
    return re.sub(r" in [\d.]+s.*$", "", summary.strip().splitlines()[-1].strip("= "))


def check_mistakes(user: User, bootstrap: str, port: int) -> None:
    """Every mistake of the issue ends in its one-line message and exit 1."""
    project = user.project
    (project / "empty.py").write_text(
        "from flowintegrations import App\nfrom greeter import GREETER\napp = App(GREETER)\n"
    )
    (project / "elsewhere.py").write_text(
        "import attrs\n"
        "from flowintegrations import App, TopicBinding\n"
        "from greeter import GREET, GREETER, greet\n"
        "MOVED = attrs.evolve(GREET, topics=[TopicBinding('nowhere.out', 'nowhere.in')])\n"
        "app = App(attrs.evolve(GREETER, scenarios=[MOVED]))\n"
        "app.handler(MOVED)(greet)\n"
    )
    hint = (
        "(MODULE:APP names a module importable from the current directory, or a file: "
        "path/to/adapter.py:app)"
    )
    expected: dict[Sequence[str], str] = {
        ("list", "no_such_module:app"): f"error: no module named 'no_such_module' {hint}",
        ("run", "no_such_module:app"): f"error: no module named 'no_such_module' {hint}",
        ("check", "no_such_module:app"): f"error: no module named 'no_such_module' {hint}",
        ("list", "missing.py:app"): f"error: cannot import '{project}/missing.py': no such file",
        ("list", "empty.py:app"): (
            "error: empty.py:app has no handlers: register one with @app.handler(scenario)"
        ),
        ("run", "greeter.py:app", "--config", "linger.ms"): (
            "error: --config expects KEY=VALUE (e.g. session.timeout.ms=6000), got 'linger.ms'"
        ),
        ("run", "elsewhere.py:app", "--bootstrap", bootstrap, *TANSU): (
            "error: topics do not exist: nowhere.in, nowhere.out, nowhere.out.DLT; create "
            "them, or pass --create-topics to create missing topics"
        ),
        ("broker", "--port", str(port)): (
            f"error: port {port} on 127.0.0.1 is in use: pick another with --port"
        ),
    }
    said = {args: user.mistake(*args) for args in expected}
    assert said == expected

    # `summary | head -2`: no BrokenPipeError, exit 0.
    piped = user.run("sh", "-c", "flowintegrations summary | head -2; echo status=$?")
    assert (piped.stdout.splitlines()[-1], piped.stderr) == ("status=0", "")

    # A usage error exits 2.
    assert user.run("flowintegrations", "lst").returncode == 2

    # Tests that need Kafka, when no broker answers: they error, they do not fail.
    unreachable = user.run(
        "pytest",
        "-q",
        "--fi-transport=kafka",
        "-o",
        "flowintegrations_kafka_timeout=1",
        "test_greeter.py",
        env={"FLOWINTEGRATIONS_KAFKA_BOOTSTRAP": "127.0.0.1:1"},
    )
    assert outcome(unreachable.stdout) == "2 errors"


def test_a_new_user_gets_from_pip_install_to_an_adapter_called_on_a_broker(
    user: User, tmp_path: Path
) -> None:
    """Every step of the walk succeeds, and every mistake ends in its documented line."""
    files = guide_files()
    files["call_greeter.py"] = files["call_greeter.py"].replace("127.0.0.1:9092", "{bootstrap}")
    for name, body in files.items():
        if name != "call_greeter.py":
            (user.project / name).write_text(body, encoding="utf-8")
    (user.project / "test_properties.py").write_text(USER_TESTS, encoding="utf-8")

    version = user.run("flowintegrations", "--version")
    assert version.stdout.startswith("flowintegrations ")

    checked = user.run("flowintegrations", "check", "greeter.py:app")
    assert (checked.returncode, checked.stdout) == (
        0,
        "greeter.py:app: ok (1 integration, 1 scenario, 3 examples, 0 warnings)\n",
    )

    in_memory = user.run("pytest", "-q", "-p", "no:cacheprovider")
    assert outcome(in_memory.stdout) == "7 passed", in_memory.stdout

    # The local broker, in its own terminal.
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    broker_log = tmp_path / "broker.log"
    broker = user.start("flowintegrations", "broker", "--port", str(port), log=broker_log)
    wait_for_output(broker, broker_log, "Ctrl-C stops it.")
    assert f"bootstrap: {bootstrap}" in broker_log.read_text()

    on_kafka = user.run(
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--fi-transport=kafka",
        env={"FLOWINTEGRATIONS_KAFKA_BOOTSTRAP": bootstrap},
    )
    assert outcome(on_kafka.stdout) == "7 passed", on_kafka.stdout

    # The adapter, in a second terminal; the engine's call, in a third.
    run_log = tmp_path / "run.log"
    adapter = user.start(
        "flowintegrations",
        "run",
        "greeter.py:app",
        "--bootstrap",
        bootstrap,
        "--create-topics",
        *TANSU,
        log=run_log,
    )
    wait_for_output(adapter, run_log, " started ")
    call = files["call_greeter.py"].replace("{bootstrap}", bootstrap)
    (user.project / "call_greeter.py").write_text(call, encoding="utf-8")
    started = time.monotonic()
    called = user.run("python", "call_greeter.py", timeout=120)
    assert re.fullmatch(r"Bună, Ana! \d+\n", called.stdout), called.stdout + called.stderr
    assert time.monotonic() - started < 60

    check_mistakes(user, bootstrap, port)

    stop(adapter, run_log, " stopped flowintegrations.greeter on Kafka at ")
    stop(broker, broker_log, "broker: stopped")
