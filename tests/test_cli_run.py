"""`flowintegrations run` and `demo` as processes: transports, start/stop lines, SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Mapping
from pathlib import Path

import attrs
import pytest

from flowintegrations import EngineClient, TopicBinding
from flowintegrations.cli import main
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
IN_MEMORY_WARNING = (
    "no --bootstrap and no $FLOWINTEGRATIONS_KAFKA_BOOTSTRAP: serving the in-memory "
    "transport, which nothing outside this process can reach (start a broker with "
    "`flowintegrations broker`)"
)


def run_echo_adapter(
    *options: str,
    log: Path,
    env: Mapping[str, str | None],
    while_running: Callable[[], object] = lambda: None,
) -> tuple[int, object]:
    """Run the echo adapter until its start line, call ``while_running``, then SIGTERM it.

    Returns the exit code and what ``while_running`` returned.
    """
    process = start_command("run", f"{ECHO_ADAPTER}:app", *options, log=log, env=env)
    try:
        wait_for_output(process, log, " started ")
        result = while_running()
        process.send_signal(signal.SIGTERM)
        return process.wait(60), result
    finally:
        process.kill()


def test_run_without_bootstrap_serves_in_memory_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    """Without a bootstrap, run logs one start and one stop line naming the topics; exit 0."""
    log = tmp_path / "run.log"
    code, _ = run_echo_adapter(log=log, env={BOOTSTRAP_VAR: None})
    route = f"echo/echo out={DEFAULT_OUT} in={DEFAULT_IN}"
    assert (code, log_lines(log, "flowintegrations.cli")) == (
        0,
        [
            IN_MEMORY_WARNING,
            f"started flowintegrations.echo on the in-memory transport: {route}",
            f"stopped flowintegrations.echo on the in-memory transport: {route}",
        ],
    )


def test_run_with_env_serves_that_environments_topics(tmp_path: Path) -> None:
    """--env picks each scenario's binding for that environment; the start line shows it."""
    log = tmp_path / "run.log"
    code, _ = run_echo_adapter("--env", "prod", log=log, env={BOOTSTRAP_VAR: None})
    (_, started, _) = log_lines(log, "flowintegrations.cli")
    assert (code, started) == (
        0,
        "started flowintegrations.echo on the in-memory transport: "
        f"echo/echo out={DEFAULT_OUT}.prod in={DEFAULT_IN}.prod",
    )


@pytest.mark.kafka
def test_run_with_bootstrap_answers_on_kafka(kafka_bootstrap: str, tmp_path: Path) -> None:
    """With --bootstrap the adapter serves Kafka: a request gets its reply; SIGTERM exits 0."""
    out_topic, in_topic = fresh("echo.out"), fresh("echo.in")
    log = tmp_path / "run.log"
    env = {"ECHO_OUT_TOPIC": out_topic, "ECHO_IN_TOPIC": in_topic, "ECHO_GROUP_ID": fresh("g")}
    code, payload = run_echo_adapter(
        f"--bootstrap={kafka_bootstrap}",
        "--create-topics",
        *TANSU_OPTIONS,
        log=log,
        env={**env, BOOTSTRAP_VAR: None},
        while_running=lambda: asyncio.run(request_echo(kafka_bootstrap, out_topic, in_topic)),
    )
    route = f"echo/echo out={out_topic} in={in_topic}"
    where = f"Kafka at {kafka_bootstrap}"
    group = env["ECHO_GROUP_ID"]
    assert (payload, code, log_lines(log, "flowintegrations.cli")) == (
        {"n": 7},
        0,
        [f"started {group} on {where}: {route}", f"stopped {group} on {where}: {route}"],
    )


async def request_echo(bootstrap: str, out_topic: str, in_topic: str) -> object:
    """Ask the echo adapter on ``out_topic`` for n=7 as the engine would; return the reply."""
    scenario = attrs.evolve(ECHO, topics=(TopicBinding(out_topic, in_topic),))
    integration = attrs.evolve(ECHO_INTEGRATION, scenarios=(scenario,))
    transport = kafka_transport(bootstrap)
    try:
        async with EngineClient(integration, transport=transport) as engine:
            reply = await engine.request(scenario, {"n": 7}, timeout=30.0)
    finally:
        await transport.stop()
    return reply.payload


@pytest.mark.kafka
def test_run_uses_the_bootstrap_environment_variable(kafka_bootstrap: str, tmp_path: Path) -> None:
    """With FLOWINTEGRATIONS_KAFKA_BOOTSTRAP set and no --bootstrap, run uses Kafka."""
    log = tmp_path / "run.log"
    env = {
        "ECHO_OUT_TOPIC": fresh("echo.out"),
        "ECHO_IN_TOPIC": fresh("echo.in"),
        "ECHO_GROUP_ID": fresh("g"),
        BOOTSTRAP_VAR: kafka_bootstrap,
    }
    code, _ = run_echo_adapter("--create-topics", *TANSU_OPTIONS, log=log, env=env)
    (started, _) = log_lines(log, "flowintegrations.cli")
    assert (code, started.split(": ")[0]) == (
        0,
        f"started {env['ECHO_GROUP_ID']} on Kafka at {kafka_bootstrap}",
    )


def test_run_refuses_a_malformed_config_option(capsys: pytest.CaptureFixture[str]) -> None:
    """A --config that is not KEY=VALUE exits 1 naming it."""
    assert main(["run", f"{ECHO_ADAPTER}:app", "--config", "linger.ms"]) == 1
    assert capsys.readouterr().err == (
        "error: --config expects KEY=VALUE (e.g. session.timeout.ms=6000), got 'linger.ms'\n"
    )


@pytest.mark.kafka
def test_demo_runs_end_to_end_on_kafka(kafka_bootstrap: str, tmp_path: Path) -> None:
    """`demo --bootstrap` alone (the broker's settings are its defaults) runs on Kafka."""
    log = tmp_path / "demo.log"
    process = start_command("demo", f"--bootstrap={kafka_bootstrap}", log=log, env={})
    try:
        code = process.wait(120)
    finally:
        process.kill()
    out = log.read_text()
    assert (code, out.splitlines()[0], out.rstrip().splitlines()[-1]) == (
        0,
        f"== the notifications adapter on Kafka at {kafka_bootstrap}",
        "== done: every request answered, the invalid one dead-lettered",
    )
    assert "$.channel: must be one of 'EMAIL', 'SMS'; got 'FAX'" in out
