"""The App on the real broker under backpressure: small budgets, two partitions, every reply."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from flowintegrations import App, DataModel, Integration, Property, Scenario, TopicBinding
from flowintegrations.testing.broker import TANSU_TEST_CONFIG
from flowintegrations.transport import KafkaTransport, Record


def fresh(name: str) -> str:
    """A topic or group name no other test uses."""
    return f"test.{name}.{uuid.uuid4().hex[:10]}"


@pytest.mark.kafka
@pytest.mark.parametrize("kind", ["sync"])  # async batches are covered in memory
def test_every_request_of_a_backlog_is_answered_while_partitions_pause(
    kafka_bootstrap: str, kind: str
) -> None:
    """With a budget far below the backlog, both partitions pause and resume; none is lost."""
    out_topic, in_topic = fresh("bp.out"), fresh("bp.in")
    scenario = Scenario(
        "Echo",
        "echo",
        topics=(TopicBinding(out_topic, in_topic),),
        output_model=DataModel((Property.number("n", mandatory=True),)),
        input_model=DataModel((Property.number("n", mandatory=True),)),
    )
    integration = Integration("Echo", "echo", scenarios=(scenario,))
    total = 400

    async def main() -> set[int]:
        transport = KafkaTransport(kafka_bootstrap, config=TANSU_TEST_CONFIG, environ={})
        await transport.start()
        try:
            await transport.create_topics([out_topic], partitions=2)
            await transport.create_topics([in_topic, out_topic + ".DLT"])
            requests = [
                Record(
                    out_topic,
                    key=b"%d" % n,
                    value=b'{"n": %d}' % n,
                    headers=(("processInstanceId", b"%d" % n),),
                    partition=n % 2,
                )
                for n in range(total)
            ]
            await asyncio.wait_for(await transport.produce_batch(requests), 30)
            app = App(
                integration,
                transport=transport,
                group_id=fresh("bp.group"),
                max_in_flight=40,
                max_batch=10,
            )

            if kind == "sync":

                @app.handler(scenario)
                def echo(payload: dict[str, Any]) -> dict[str, Any]:
                    time.sleep(0.0005)
                    return payload

            else:

                @app.handler(scenario)
                async def echo_async(payload: dict[str, Any]) -> dict[str, Any]:
                    await asyncio.sleep(0.0005)
                    return payload

            reader = await transport.subscribe([in_topic], group_id=fresh("bp.reader"))
            seen: set[int] = set()
            async with app:
                deadline = time.monotonic() + 90
                while len(seen) < total and time.monotonic() < deadline:
                    for record in await reader.getmany(timeout=1.0):
                        seen.add(int(record.value.split(b":")[1].strip(b" }")))
            return seen
        finally:
            await transport.stop()

    assert set(range(total)) == asyncio.run(main())
