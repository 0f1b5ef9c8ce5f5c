"""``flowintegrations run MODULE:APP --bootstrap nats://...``: an adapter on NATS JetStream."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path

import pytest

from flowintegrations import EngineClient
from flowintegrations.cli import main
from flowintegrations.transport.nats import JetStreamTransport
from support.jetstream import notifications_example
from support.processes import start_command, wait_for_output

ROOT = Path(__file__).resolve().parents[1]
ADAPTER = f"{ROOT / 'examples' / 'notifications_adapter.py'}:app"


def test_an_unknown_nats_setting_is_an_error_naming_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--config with a key JetStreamTransport does not have exits 1 naming the key."""
    assert main(["run", ADAPTER, "--bootstrap", "nats://127.0.0.1:4222", "--config=acks=all"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: --config: unknown NATS setting 'acks' (known: ack_wait, ")


async def ask(servers: str, prefix: str) -> str:
    """Ask the example adapter, through NATS, for an OTP; return the reply's otpId."""
    example = notifications_example()
    transport = JetStreamTransport(servers, prefix=prefix, storage="memory", create_topics=True)
    engine = EngineClient(example.NOTIFICATIONS, transport=transport)
    async with engine:
        reply = await engine.request(
            example.GENERATE_OTP,
            {"templateName": "otp-login", "recipient": "ana@example.com", "channel": "SMS"},
            headers={"processInstanceId": "4021"},
            timeout=30,
        )
    await transport.stop()
    return str(reply.payload["otpId"])


def test_run_serves_the_example_adapter_on_nats(nats_servers: str, tmp_path: Path) -> None:
    """The example adapter runs on NATS, answers a request, and stops cleanly on SIGTERM."""
    prefix = f"cli{uuid.uuid4().hex[:8]}"  # streams and groups of this test alone
    log = tmp_path / "adapter.log"
    process = start_command(
        "run",
        ADAPTER,
        f"--bootstrap={nats_servers}",
        "--create-topics",
        f"--config=prefix={prefix}",
        "--config=storage=memory",
        "--config=max_age=600",
        log=log,
    )
    try:
        wait_for_output(process, log, " started ")
        assert asyncio.run(ask(nats_servers, prefix)) == "otp-4021"
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert f"on NATS JetStream at {nats_servers}: notifications/generate-otp" in log.read_text()
