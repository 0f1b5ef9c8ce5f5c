"""``flowintegrations demo``: the example notifications adapter, driven end to end.

An :class:`~flowintegrations.EngineClient` plays the process engine: it asks for an OTP,
sends e-mails (one of them to a mail server that fails the first try, so the adapter
retries), then puts an invalid request on the topic, which lands in the dead-letter topic
with headers saying why. In memory by default; on Kafka with ``--bootstrap``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from flowintegrations.client import EngineClient
from flowintegrations.deadletter import ERROR_MESSAGE, ERROR_STAGE, ERROR_VIOLATIONS
from flowintegrations.loading import load_module_file
from flowintegrations.transport import InMemoryTransport, KafkaTransport, Record, Transport

__all__ = ["example_path", "load_example_adapter", "run_demo"]


def example_path(name: str) -> Path:
    """A file of the examples: packaged with a wheel, or the repository's ``examples/``."""
    packaged = Path(__file__).with_name("_examples") / name
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "examples" / name


def load_example_adapter() -> ModuleType:
    """Import ``examples/notifications_adapter.py`` (it is not part of the package)."""
    path = example_path("notifications_adapter.py")
    return load_module_file(path, "flowintegrations_example_adapter")


async def run_demo(
    bootstrap: str | None = None,
    *,
    config: dict[str, Any] | None = None,
    out: Callable[[str], None] = print,
) -> None:
    """Run the example adapter and an engine client against it, printing what happens."""
    module = load_example_adapter()
    transport: Transport
    if bootstrap:
        transport = KafkaTransport(bootstrap, config=config, create_topics=True)
    else:
        transport = InMemoryTransport()
    app = module.create_app(transport)
    otp, email = module.GENERATE_OTP, module.SEND_EMAIL
    where = f"Kafka at {bootstrap}" if bootstrap else "the in-memory transport"
    out(f"== the notifications adapter on {where}")
    async with app, EngineClient(module.NOTIFICATIONS, transport=transport) as engine:
        requests = [
            (otp, {"templateName": "otp-login", "recipient": "ana@example.com", "channel": "SMS"}),
            (
                email,
                {
                    "templateName": "contract-ready",
                    "recipients": [{"email": "ana@example.com", "kind": "TO"}],
                    "attachments": [{"fileName": "contract.pdf", "documentUrl": "/docs/1"}],
                },
            ),
            (
                email,
                {
                    "templateName": "contract-ready",
                    "recipients": [{"email": "bob@flaky.example", "kind": "TO"}],
                },
            ),
        ]
        for scenario, payload in requests:
            out(f"-> {scenario.identifier}: {json.dumps(payload)}")
            reply = await engine.request(scenario, payload, timeout=30.0)
            pid = reply.headers.get("processInstanceId")
            out(f"<- {json.dumps(reply.payload)}  (processInstanceId {pid})")
        out("-> generate-otp with no recipient and channel 'FAX' (invalid; sent raw)")
        out_topic = otp.binding(app.environment).out_topic
        bad = b'{"templateName": "otp-login", "channel": "FAX"}'
        await transport.send(Record(out_topic, b"demo", bad, (("processInstanceId", b"42"),)))
        dead = await _first_dead_letter(transport, out_topic + app.dead_letter_suffix)
        headers = {k: v.decode() for k, v in dead.headers}
        out(f"<- the error reply and a dead letter on {dead.topic}:")
        out(f"   stage: {headers[ERROR_STAGE]}; {headers[ERROR_MESSAGE].splitlines()[0]}")
        for violation in json.loads(headers[ERROR_VIOLATIONS]):
            out(f"   {violation['path']}: {violation['message']}")
    await transport.stop()
    out("== done: every request answered, the invalid one dead-lettered")


async def _first_dead_letter(transport: Transport, topic: str) -> Record:
    subscription = await transport.subscribe([topic], group_id="flowintegrations.demo.dlt")
    try:
        for _ in range(300):
            records = await subscription.getmany(max_records=1, timeout=0.1)
            if records:
                return records[0]
        msg = f"no dead letter arrived on {topic}"
        raise TimeoutError(msg)
    finally:
        await subscription.close()


def main(bootstrap: str | None = None, *, config: dict[str, Any] | None = None) -> int:
    """Run the demo with readable logging; returns the exit status.

    ``config`` holds librdkafka settings for the Kafka clients (with ``bootstrap``).
    """
    logging.basicConfig(
        level=logging.INFO, format="   [%(levelname)s %(name)s] %(message)s", stream=sys.stdout
    )
    logging.getLogger("flowintegrations.app").setLevel(logging.WARNING)
    asyncio.run(run_demo(bootstrap, config=config))
    return 0
