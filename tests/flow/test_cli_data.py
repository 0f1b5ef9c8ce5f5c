"""`flowintegrations serve` and `list` of a service with data actions and files."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from flowintegrations.cli import main
from support.flowcontract import FlowHttp
from support.flowdata import ROOT, load_request
from support.processes import log_lines, start_command, wait_for_output

CUSTOMERS = str(ROOT / "examples" / "flow_customers.py")


def test_list_shows_data_and_file_endpoints(capsys: pytest.CaptureFixture[str]) -> None:
    """`list` of the customer example prints /data with its types, and /file."""
    assert main(["list", CUSTOMERS + ":service"]) == 0
    flow = [line for line in capsys.readouterr().out.splitlines() if line.startswith("flow")]
    assert flow == [
        "flow\tPOST /metadata",
        "flow\tPOST /metadata/install",
        "flow\tPOST /data\ttypes: customer",
        "flow\tPUT /data\ttypes: customer",
        "flow\tPOST /data/delete\ttypes: customer",
        "flow\tPOST /file",
        "flow\tPOST /file/content",
        "flow\tGET /health",
    ]


def test_serve_logs_and_serves_data_and_files(flow_http: FlowHttp, tmp_path: Path) -> None:
    """The start line names the data types and files; a Load answers; SIGTERM exits 0."""
    env = {"FLOW_FILES_DIR": str(tmp_path / "files"), "FLOWINTEGRATIONS_FLOW_TOKEN": None}
    log = tmp_path / "out.log"
    process = start_command("serve", CUSTOMERS + ":service", "--port", "0", log=log, env=env)
    try:
        wait_for_output(process, log, "serving Flow service at ")
        (line,) = [m for m in log_lines(log, "flowintegrations.cli") if m.startswith("serving")]
        match = re.fullmatch(
            r"serving Flow service at (\S+): data \(customer\) at \1/data files at \1/file", line
        )
        assert match is not None, line
        answer = flow_http.post(f"{match.group(1)}/data", json=load_request({"id": "c2"})).json()
    finally:
        process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    assert [o["externalId"] for o in answer["objectData"]] == ["c2"]
