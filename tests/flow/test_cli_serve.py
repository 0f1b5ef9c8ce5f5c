"""`flowintegrations serve` and `list` as an operator runs them."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from flowintegrations import Catalog
from flowintegrations.cli import flow_notes, main
from support.flow_adapters import KITCHEN
from support.flowcontract import FlowHttp
from support.processes import log_lines, start_command, wait_for_output

ROOT = Path(__file__).resolve().parents[2]
ADAPTER = str(ROOT / "examples" / "notifications_adapter.py")
SLOW_SERVICE = str(Path(__file__).with_name("slow_service.py"))
OTP_INPUTS = [
    {"developerName": "templateName", "contentType": "ContentString", "contentValue": "otp-login"},
    {
        "developerName": "recipient",
        "contentType": "ContentString",
        "contentValue": "ana@example.com",
    },
    {"developerName": "channel", "contentType": "ContentString", "contentValue": "SMS"},
]


def start(*args: str, log: Path, token: str | None = "tok") -> tuple[subprocess.Popen[bytes], str]:
    """Start `serve ARGS` on a free port; the process and its base URL once it is serving."""
    env = {"FLOWINTEGRATIONS_FLOW_TOKEN": token}
    process = start_command("serve", *args, "--port", "0", log=log, env=env)
    wait_for_output(process, log, "serving Flow service at ")
    (line,) = [m for m in log_lines(log, "flowintegrations.cli") if m.startswith("serving")]
    match = re.match(r"serving Flow service at (\S+): ", line)
    assert match is not None
    return process, match.group(1)


def test_serve_logs_its_base_url_and_every_action(tmp_path: Path) -> None:
    """A start line with the base URL and each action's URL; a stop line with the base URL."""
    process, base = start(
        ADAPTER + ":app", "--path", "/fs/otp", "--username", "flow", log=tmp_path / "out.log"
    )
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    lines = [
        m
        for m in log_lines(tmp_path / "out.log", "flowintegrations.cli")
        if m.startswith(("serving", "stopped"))
    ]
    assert lines == [
        f"serving Flow service at {base}: POST {base}/actions/generate-otp "
        f"POST {base}/actions/send-email",
        f"stopped Flow service at {base}",
    ]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/fs/otp", base)


def test_serve_answers_with_basic_auth_and_exits_0_on_sigterm(
    flow_http: FlowHttp, tmp_path: Path
) -> None:
    """A served action answers FORWARD to the right credentials; SIGTERM exits 0."""
    process, base = start(ADAPTER + ":app", "--username", "flow", log=tmp_path / "out.log")
    try:
        refused = flow_http.post(f"{base}/actions/generate-otp", json={"inputs": OTP_INPUTS})
        answer = flow_http.post(
            f"{base}/actions/generate-otp",
            json={"stateId": "7", "inputs": OTP_INPUTS},
            auth=("flow", "tok"),
        ).json()
    finally:
        process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    assert refused.status_code == 401
    assert (answer["invokeType"], answer["outputs"][0]["contentValue"]) == ("FORWARD", "otp-7")
    assert "tok" not in (tmp_path / "out.log").read_text().replace("token", "")


def test_sigterm_lets_a_request_in_flight_finish(flow_http: FlowHttp, tmp_path: Path) -> None:
    """A request running when SIGTERM arrives still gets its answer."""
    process, base = start(SLOW_SERVICE + ":service", log=tmp_path / "out.log", token=None)
    answers: list[httpx.Response] = []
    inputs = [{"developerName": "seconds", "contentType": "ContentNumber", "contentValue": "1"}]
    call = threading.Thread(
        target=lambda: answers.append(
            flow_http.post(f"{base}/actions/slow", json={"inputs": inputs}, timeout=20)
        )
    )
    call.start()
    time.sleep(0.4)
    process.send_signal(signal.SIGTERM)
    call.join(20)
    assert process.wait(20) == 0
    assert answers[0].status_code == 200
    assert answers[0].json()["outputs"][0]["contentValue"] == "done"


def test_a_token_without_a_username_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flow sends both; a token alone is a configuration error (exit 1)."""
    monkeypatch.setenv("SOME_TOKEN", "x")
    assert main(["serve", ADAPTER + ":app", "--token-env", "SOME_TOKEN"]) == 1
    assert capsys.readouterr().err == "error: a token needs a --username: Flow sends both\n"


def test_a_missing_token_variable_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--token-env naming an unset variable exits 1 saying so."""
    monkeypatch.delenv("NO_SUCH_TOKEN", raising=False)
    assert main(["serve", ADAPTER + ":app", "--username", "u", "--token-env", "NO_SUCH_TOKEN"]) == 1
    assert "NO_SUCH_TOKEN: the environment variable is not set or empty" in capsys.readouterr().err


def test_list_shows_the_flow_endpoints_of_a_service(capsys: pytest.CaptureFixture[str]) -> None:
    """`list` of a FlowService prints its endpoints under its path."""
    assert main(["list", SLOW_SERVICE + ":service"]) == 0
    flow = [line for line in capsys.readouterr().out.splitlines() if line.startswith("flow")]
    assert flow == [
        "flow\tPOST /fs/slow/metadata",
        "flow\tPOST /fs/slow/metadata/install",
        "flow\tPOST /fs/slow/actions/slow\tslow/slow",
        "flow\tGET /fs/slow/health",
    ]


def test_importing_flow_without_the_extra_names_what_to_install() -> None:
    """Without starlette, importing flowintegrations.flow says `pip install ...[flow]`."""
    code = (
        "import sys; sys.modules['starlette'] = None\n"
        "try:\n import flowintegrations.flow\n"
        "except ImportError as e: print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == (
        "flowintegrations.flow needs the 'flow' extra (starlette is missing): "
        "pip install 'flowintegrations[flow]'\n"
    )


def test_check_notes_every_array_of_scalars() -> None:
    """`check` notes each ARRAY of scalars with its path and what Flow gets instead."""
    notes = list(flow_notes(Catalog([KITCHEN])))
    assert len(notes) == 9  # tags, scores, switches in echo's request and reply, bad-reply's
    assert notes[0] == (
        "$.integrations[0].scenarios[0].outputModel.properties[9]: an ARRAY of STRING has no "
        "Boomi Flow equivalent (Flow lists hold objects); as a Flow service it is a list of "
        "'Item (String)' objects, each item in their 'value'"
    )


NO_HANDLERS = "from flowintegrations import App\napp = App()\n"


@pytest.fixture
def no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """No token in the environment."""
    monkeypatch.delenv("FLOWINTEGRATIONS_FLOW_TOKEN", raising=False)


def refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run `serve ARGS`, which must exit 1; its stderr (one line, no traceback)."""
    assert main(["serve", *args]) == 1
    err = capsys.readouterr().err
    assert (err.count("\n"), "Traceback" in err) == (1, False)
    return err


@pytest.mark.usefixtures("no_token")
def test_a_username_without_a_token_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """--username with no token configured: an error at start, never an empty password."""
    assert refused(capsys, ADAPTER + ":app", "--username", "flow") == (
        "error: --username flow needs a token: set FLOWINTEGRATIONS_FLOW_TOKEN (or name "
        "another variable with --token-env)\n"
    )


@pytest.mark.usefixtures("no_token")
def test_no_credentials_on_a_public_host_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """No credentials, no --no-auth, host 0.0.0.0: refused, naming both ways out."""
    assert refused(capsys, ADAPTER + ":app", "--host", "0.0.0.0") == (
        "error: refusing to serve without credentials on 0.0.0.0: give --username and a token "
        "(FLOWINTEGRATIONS_FLOW_TOKEN or --token-env), or pass --no-auth to mean it\n"
    )


def test_no_auth_with_credentials_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--no-auth and credentials at once: one of them is a mistake."""
    monkeypatch.setenv("FLOWINTEGRATIONS_FLOW_TOKEN", "tok")
    assert refused(capsys, ADAPTER + ":app", "--username", "flow", "--no-auth") == (
        "error: --no-auth, but credentials are configured: drop one or the other\n"
    )


@pytest.mark.usefixtures("no_token")
def test_a_path_conflicting_with_the_services_own_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The FlowService sets /fs/slow; --path /fs/other conflicts with it."""
    spec = SLOW_SERVICE + ":service"
    assert refused(capsys, spec, "--path", "/fs/other") == (
        f"error: {spec}: the path '/fs/other' conflicts with the service's own '/fs/slow'\n"
    )


@pytest.mark.usefixtures("no_token")
def test_a_bad_path_is_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    """--path without its leading slash: one error line, exit 1."""
    spec = ADAPTER + ":app"
    assert refused(capsys, spec, "--path", "fs/x") == (
        f"error: {spec}: path must be empty or start with '/' and not end with one, got 'fs/x'\n"
    )


@pytest.mark.usefixtures("no_token")
def test_an_app_with_no_handlers_is_one_error_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """An App without handlers serves nothing: one error line, exit 1."""
    module = tmp_path / "empty_adapter.py"
    module.write_text(NO_HANDLERS)
    assert refused(capsys, f"{module}:app") == (
        "error: the app has no handlers: register one with @app.handler(scenario)\n"
    )


@pytest.mark.usefixtures("no_token")
def test_a_port_in_use_is_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    """Another socket holds the port: one error line naming the address, exit 1."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        assert refused(capsys, ADAPTER + ":app", "--port", port) == (
            f"error: cannot listen on 127.0.0.1:{port}: the port is in use\n"
        )


def test_a_flow_service_takes_credentials_from_the_command_line(tmp_path: Path) -> None:
    """Serve MODULE:service --username and a token: requests then need them."""
    log = tmp_path / "out.log"
    token = "s3cr3t-flow-token"
    process, base = start(SLOW_SERVICE + ":service", "--username", "flow", log=log, token=token)
    try:
        refused_answer = httpx.post(f"{base}/metadata", json={})
        accepted = httpx.post(f"{base}/metadata", json={}, auth=("flow", token))
    finally:
        process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    assert (refused_answer.status_code, accepted.status_code) == (401, 200)
    assert base.endswith("/fs/slow")
    rejected = [m for m in log_lines(log, "flowintegrations.flow") if m.startswith("rejected")]
    assert rejected == [
        "rejected POST /fs/slow/metadata: 401 authentication required: HTTP Basic with the "
        "service's username and token"
    ]


def test_serving_without_credentials_on_loopback_warns(tmp_path: Path) -> None:
    """No credentials on 127.0.0.1: it serves, and says at start that anyone may call it."""
    log = tmp_path / "out.log"
    process, _ = start(SLOW_SERVICE + ":service", log=log, token=None)
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    assert "no authentication: anyone who can reach 127.0.0.1 may call this Flow service" in (
        log_lines(log, "flowintegrations.cli")
    )
