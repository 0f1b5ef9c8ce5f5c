"""`flowintegrations broker`: a local development broker, run as a process."""

from __future__ import annotations

import re
import signal
import socket
from pathlib import Path

import pytest

from flowintegrations.testing.broker import wait_until_reachable
from support.processes import start_command, wait_for_output


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_broker_serves_until_a_signal_then_stops_cleanly(
    signum: signal.Signals, tmp_path: Path
) -> None:
    """It prints its address and settings, answers Kafka clients, and exits 0 on a signal."""
    port = free_port()
    log = tmp_path / "broker.log"
    process = start_command("broker", "--port", str(port), log=log)
    try:
        wait_for_output(process, log, "Ctrl-C stops it.")
        wait_until_reachable(f"127.0.0.1:{port}", timeout=10)
        process.send_signal(signum)
        code = process.wait(30)
    finally:
        process.kill()
    settings = (
        "session.timeout.ms=6000 heartbeat.interval.ms=500 fetch.wait.max.ms=5 "
        "auto.offset.reset=earliest linger.ms=5"
    )
    options = " ".join(f"--config {setting}" for setting in settings.split())
    assert (code, log.read_text().splitlines()) == (
        0,
        [
            f"Tansu broker listening on 127.0.0.1:{port} (in memory: its topics go when it stops)",
            f"bootstrap: 127.0.0.1:{port}",
            f"client settings: {settings}",
            "run an adapter on it:",
            f"  flowintegrations run MODULE:APP --bootstrap 127.0.0.1:{port} --create-topics "
            f"{options}",
            "Ctrl-C stops it.",
            "broker: stopped",
        ],
    )


def test_the_stopped_broker_frees_its_port(tmp_path: Path) -> None:
    """After a stop, nothing listens on the broker's port any more (Tansu was ended too)."""
    port = free_port()
    log = tmp_path / "broker.log"
    process = start_command("broker", "--port", str(port), log=log)
    try:
        wait_for_output(process, log, "Ctrl-C stops it.")
        process.send_signal(signal.SIGINT)
        process.wait(30)
    finally:
        process.kill()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_the_broker_module_names_the_plugins_real_fixture() -> None:
    """Its docstring points at `fi_kafka_bootstrap`, the fixture that exists, and no other."""
    import flowintegrations.testing.broker as broker  # noqa: PLC0415
    import flowintegrations.testing.plugin as plugin  # noqa: PLC0415

    named = set(re.findall(r"``(\w*kafka_bootstrap)``", broker.__doc__ or ""))
    assert (named, hasattr(plugin, "fi_kafka_bootstrap")) == ({"fi_kafka_bootstrap"}, True)
