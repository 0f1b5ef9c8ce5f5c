"""The notifications example, unchanged, on NATS JetStream: exchanges, dead letters, retries.

And the engine's side: an :class:`~flowintegrations.EngineClient` on NATS correlates each
reply with its request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from flowintegrations import App, EngineClient, Retry
from flowintegrations.deadletter import ATTEMPTS, ERROR_STAGE, ORIGINAL_TOPIC
from flowintegrations.errors import RequestDeadLetteredError
from flowintegrations.testing import TestClient
from flowintegrations.testing.examples import check_example, example_cases
from flowintegrations.testing.isolation import IsolatedTransport
from flowintegrations.transport import Record
from support.jetstream import nats_transport, notifications_example

EXAMPLE = notifications_example()
create_app = EXAMPLE.create_app
NOTIFICATIONS, GENERATE_OTP, SEND_EMAIL = (
    EXAMPLE.NOTIFICATIONS,
    EXAMPLE.GENERATE_OTP,
    EXAMPLE.SEND_EMAIL,
)


@pytest.fixture
def client(nats_servers: str) -> Iterator[TestClient]:
    """The notifications example app on NATS, driven like the engine."""
    with TestClient(create_app(), transport_factory=nats_transport) as started:
        yield started


def test_every_example_exchange_passes_on_nats(client: TestClient) -> None:
    """Each example exchange of the catalog gets its expected outcome over NATS."""
    cases = example_cases(client.app)
    for case in cases:
        check_example(client, case)
    assert len(cases) >= 6


def test_an_invalid_request_is_dead_lettered_with_why_on_nats(client: TestClient) -> None:
    """A request without recipients goes to the dead-letter topic, which says why."""
    out_topic = SEND_EMAIL.binding(None).out_topic
    headers = (("processInstanceId", b"7"),)
    client.send_raw(Record(out_topic, value=b'{"templateName": "x"}', headers=headers))
    [dead] = client.dead_letters
    assert dead.header(ERROR_STAGE) == b"request"
    assert dead.header(ORIGINAL_TOPIC) == out_topic.encode()
    assert dead.value == b'{"templateName": "x"}'
    assert dead.header("processInstanceId") == b"7"


def test_a_handler_failing_once_is_retried_and_answered_on_nats(client: TestClient) -> None:
    """The flaky mail server refuses the first try; the second try's reply arrives."""
    payload = {"templateName": "contract-ready", "recipients": [{"email": "ion@flaky.example"}]}
    reply = client.request(SEND_EMAIL, payload, headers={"processInstanceId": "8"})
    assert reply.payload["status"] == "QUEUED"
    assert reply.headers["processInstanceId"] == "8"
    assert client.dead_letters == []


def test_retries_exhausted_dead_letter_with_the_attempts_on_nats(nats_servers: str) -> None:
    """A handler that always fails is tried three times, then dead-lettered."""
    app = App(NOTIFICATIONS, retry=Retry(attempts=3, backoff=0.0))

    @app.handler(SEND_EMAIL)
    def broken(payload: object) -> None:
        msg = "the mail server is down"
        raise ConnectionError(msg)

    request = {"templateName": "contract-ready", "recipients": [{"email": "ana@example.com"}]}
    with TestClient(app, transport_factory=nats_transport) as client:
        with pytest.raises(RequestDeadLetteredError, match="after 3 tries"):
            client.request(SEND_EMAIL, request, headers={"processInstanceId": "9"})
        [dead] = client.dead_letters
    assert dead.header(ATTEMPTS) == b"3"
    assert dead.header(ERROR_STAGE) == b"handler"


async def correlate(count: int) -> dict[str, str]:
    """Run the example app and an engine client on one NATS transport; ask ``count`` at once."""
    transport = IsolatedTransport(nats_transport())
    app = create_app(transport)
    engine = EngineClient(NOTIFICATIONS, transport=transport)
    async with app, engine:
        otp = GENERATE_OTP
        payload = {"templateName": "otp-login", "recipient": "ana@example.com", "channel": "SMS"}
        replies = await asyncio.gather(
            *(
                engine.request(otp, payload, headers={"processInstanceId": str(n)}, timeout=20)
                for n in range(count)
            )
        )
    return {reply.headers["processInstanceId"]: reply.payload["otpId"] for reply in replies}


def test_engine_client_on_nats_correlates_each_reply(nats_servers: str) -> None:
    """Fifty requests at once: each answer carries its own process instance's OTP id."""
    answers = asyncio.run(correlate(50))
    assert answers == {str(n): f"otp-{n}" for n in range(50)}


async def publish_foreign(subject: str, headers: dict[str, str]) -> None:
    """Publish a message as another NATS client would, with ``headers``."""
    import nats  # noqa: PLC0415 (the test's own client, not the transport's)

    connection = await nats.connect(nats_transport().servers)
    try:
        await connection.jetstream().publish(subject, b'{"n": 1}', headers=headers)
    finally:
        await connection.close()


def test_a_message_whose_headers_cannot_be_read_is_dead_lettered(client: TestClient) -> None:
    """Headers NATS mangled (a value that was not UTF-8) dead-letter at stage headers."""
    assert isinstance(client.transport, IsolatedTransport)
    topic = f"{SEND_EMAIL.binding(None).out_topic}.{client.transport.namespace}"
    asyncio.run(publish_foreign(f"fi.{topic}.0", {"processInstanceId": "bad \ufffd"}))
    deadline = time.monotonic() + 10
    while not client.dead_letters and time.monotonic() < deadline:
        time.sleep(0.05)
    [dead] = client.dead_letters
    assert dead.header(ERROR_STAGE) == b"headers"
    assert dead.value == b'{"n": 1}'
