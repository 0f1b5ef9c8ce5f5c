"""TestClient on other transports (transport_factory) and on apps used by earlier clients."""

from __future__ import annotations

from typing import Any

import pytest

from flowintegrations import App, DataModel, Integration, Property, Scenario, TopicBinding
from flowintegrations.testing import TestClient
from flowintegrations.testing.isolation import IsolatedTransport
from flowintegrations.transport import InMemoryTransport, KafkaTransport

PING = Scenario(
    "Ping",
    "ping",
    topics=[TopicBinding("ai.flowx.test.plugin.ping.v1", "ai.flowx.test.engine.receive.ping.v1")],
    output_model=DataModel([Property.string("n", mandatory=True)]),
    input_model=DataModel([Property.string("pong", mandatory=True)]),
)


def ping_app(**options: Any) -> App:
    """An app answering each ping with its n."""
    app = App(Integration("Ping", "ping", scenarios=[PING]), **options)
    app.handler(PING)(lambda request: {"pong": request["n"]})
    return app


def test_an_app_on_another_transport_needs_a_transport_factory() -> None:
    """Without transport_factory, an app not in memory is refused, and told the way out."""
    app = ping_app(transport=KafkaTransport("broker:9092", environ={}))
    with pytest.raises(
        TypeError,
        match=r"^TestClient runs apps in memory: create the app with transport=None or an "
        r"InMemoryTransport, not KafkaTransport \(or pass transport_factory= to run the test "
        r"on another transport\)$",
    ):
        TestClient(app)


def test_a_transport_factory_runs_the_app_on_an_isolated_transport() -> None:
    """With a factory, requests go through an IsolatedTransport over what the factory made."""
    made: list[InMemoryTransport] = []

    def factory() -> InMemoryTransport:
        made.append(InMemoryTransport())
        return made[-1]

    with TestClient(ping_app(), transport_factory=factory) as client:
        assert client.request(PING, {"n": "1"}).payload == {"pong": "1"}
        assert isinstance(client.transport, IsolatedTransport)
        assert client.transport.inner is made[0]
        private_topic = client.transport.broker_name("ai.flowx.test.engine.receive.ping.v1")
    assert len(made[0].records(private_topic)) == 1


def test_the_app_gets_its_own_transport_back_after_a_factory_run() -> None:
    """After the client stops, the app runs on the transport it had before."""
    app = ping_app()
    own = app.transport
    with TestClient(app, transport_factory=InMemoryTransport):
        assert app.transport is not own
    assert app.transport is own


def test_one_app_serves_one_client_after_another() -> None:
    """A second client of the same app gets a running app on a fresh in-memory transport."""
    app = ping_app()
    with TestClient(app) as first:
        first.request(PING, {"n": "1"})
    with TestClient(app) as second:
        assert second.request(PING, {"n": "2"}).payload == {"pong": "2"}
        assert len(second.replies(PING)) == 1
