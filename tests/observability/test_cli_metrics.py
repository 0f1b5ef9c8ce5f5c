"""`flowintegrations run --metrics-port N`: Prometheus text over HTTP; `--log-json`."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import attrs
import pytest

from flowintegrations import EngineClient, TopicBinding
from support.echo_adapter import ECHO, ECHO_INTEGRATION
from support.kafka import fresh, kafka_transport
from support.processes import (
    ECHO_ADAPTER,
    TANSU_OPTIONS,
    log_lines,
    start_command,
    wait_for_output,
)

BOOTSTRAP_VAR = "FLOWINTEGRATIONS_KAFKA_BOOTSTRAP"
DEFAULT_OUT = "ai.flowx.test.plugin.echo.v1"
DEFAULT_IN = "ai.flowx.test.engine.receive.echo.v1"


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def scrape(port: int) -> list[str]:
    """The lines of ``/metrics`` on ``port`` that are about flowintegrations."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text: str = answer.read().decode()
    return [line for line in text.splitlines() if line.startswith("flowintegrations_")]


def without_scope(line: str) -> str:
    """A Prometheus line without the exporter's otel_scope_* labels."""
    return re.sub(r',?otel_scope_\w+="[^"]*"', "", line).replace("{,", "{")


async def request_echo(bootstrap: str, out_topic: str, in_topic: str, times: int) -> None:
    """Ask the echo adapter ``times`` times, as the engine would."""
    scenario = attrs.evolve(ECHO, topics=(TopicBinding(out_topic, in_topic),))
    integration = attrs.evolve(ECHO_INTEGRATION, scenarios=(scenario,))
    transport = kafka_transport(bootstrap)
    try:
        async with EngineClient(integration, transport=transport) as engine:
            for n in range(times):
                await engine.request(scenario, {"n": n}, timeout=30.0)
    finally:
        await transport.stop()


def test_metrics_port_is_named_in_the_start_line_and_serves_prometheus_text(
    tmp_path: Path,
) -> None:
    """In memory: the start line names the metrics URL; /metrics has the in-flight gauge."""
    log, port = tmp_path / "run.log", free_port()
    process = start_command(
        "run",
        f"{ECHO_ADAPTER}:app",
        "--metrics-port",
        str(port),
        log=log,
        env={BOOTSTRAP_VAR: None},
    )
    try:
        wait_for_output(process, log, " started ")
        lines = [without_scope(line) for line in scrape(port)]
        process.send_signal(signal.SIGTERM)
        code = process.wait(60)
    finally:
        process.kill()
    (started,) = [
        line for line in log_lines(log, "flowintegrations.cli") if line.startswith("started ")
    ]
    assert (code, started, lines) == (
        0,
        f"started flowintegrations.echo on the in-memory transport, metrics at "
        f"http://0.0.0.0:{port}/metrics: echo/echo out={DEFAULT_OUT} in={DEFAULT_IN}",
        [
            'flowintegrations_in_flight{messaging_consumer_group_name="flowintegrations.echo"} 0.0',
            'flowintegrations_partitions_paused{messaging_consumer_group_name="flowintegrations.echo"}'
            " 0.0",
        ],
    )


@pytest.mark.kafka
def test_metrics_port_counts_the_requests_served_on_kafka(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """Three requests on Kafka: /metrics counts three replies and three handler tries."""
    out_topic, in_topic = fresh("echo.out"), fresh("echo.in")
    log, port = tmp_path / "run.log", free_port()
    env = {"ECHO_OUT_TOPIC": out_topic, "ECHO_IN_TOPIC": in_topic, "ECHO_GROUP_ID": fresh("g")}
    process = start_command(
        "run",
        f"{ECHO_ADAPTER}:app",
        f"--bootstrap={kafka_bootstrap}",
        "--create-topics",
        "--metrics-port",
        str(port),
        *TANSU_OPTIONS,
        log=log,
        env={**env, BOOTSTRAP_VAR: None},
    )
    try:
        wait_for_output(process, log, " started ")
        asyncio.run(request_echo(kafka_bootstrap, out_topic, in_topic, 3))
        lines = [without_scope(line) for line in scrape(port)]
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
    finally:
        process.kill()
    counted = ("flowintegrations_requests_total", "flowintegrations_handler_duration_seconds_count")
    assert sorted(line for line in lines if line.startswith(counted)) == [
        'flowintegrations_handler_duration_seconds_count{flowx_integration="echo",'
        'flowx_scenario="echo"} 3.0',
        'flowintegrations_requests_total{flowx_integration="echo",flowx_outcome="replied",'
        'flowx_scenario="echo"} 3.0',
    ]


def test_log_json_writes_one_json_object_per_line(tmp_path: Path) -> None:
    """--log-json: the start line is a JSON object with the event and the group id."""
    log = tmp_path / "run.log"
    process = start_command(
        "run", f"{ECHO_ADAPTER}:app", "--log-json", log=log, env={BOOTSTRAP_VAR: None}
    )
    try:
        wait_for_output(process, log, '"event": "run"')
        process.send_signal(signal.SIGTERM)
        code = process.wait(60)
    finally:
        process.kill()
    started = next(
        json.loads(line) for line in log.read_text().splitlines() if '"event": "run"' in line
    )
    assert (code, sorted(started), started["group_id"], started["logger"]) == (
        0,
        ["event", "group_id", "level", "logger", "message", "routes", "time"],
        "flowintegrations.echo",
        "flowintegrations.cli",
    )


def test_without_the_extra_the_sdk_imports_and_metrics_port_names_it() -> None:
    """With OpenTelemetry missing: App works; --metrics-port fails naming the otel extra."""
    code = (
        """
import sys
sys.modules["opentelemetry"] = None  # as if the otel extra were not installed
from flowintegrations import App
from flowintegrations.cli import main
from flowintegrations.observability import JsonFormatter
App()
try:
    from flowintegrations.observability import Telemetry
except ImportError as exc:
    print("ImportError:", exc)
sys.exit(main(["run", "ADAPTER:app", "--metrics-port", "0"]))
"""
    ).replace("ADAPTER", str(ECHO_ADAPTER))
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, BOOTSTRAP_VAR: ""},
    )
    needs = "telemetry needs OpenTelemetry: pip install 'flowintegrations[otel]'"
    assert (done.returncode, done.stdout, done.stderr) == (
        1,
        f"ImportError: {needs}\n",
        f"error: --metrics-port: {needs}\n",
    )
