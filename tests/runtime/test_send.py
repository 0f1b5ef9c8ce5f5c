"""App.send in memory: messages for a process waiting in a message receive task."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from flowintegrations import (
    App,
    CatalogError,
    DataModel,
    EngineClient,
    HandlerRegistrationError,
    Header,
    Integration,
    Property,
    Scenario,
    TopicBinding,
    ValidationError,
)
from flowintegrations.errors import (
    DeferredReplyError,
    MissingTopicError,
    ScenarioNotFoundError,
)
from flowintegrations.transport import InMemoryTransport, Record
from support.runtime import DEMO, GREET_IN, NOTIFY

SIGNED_IN = "ai.flowx.test.engine.receive.document.signed.v1"

SIGNED = Scenario(
    "Document signed",
    "signed",
    topics=(TopicBinding(in_topic=SIGNED_IN),),
    input_model=DataModel(
        (Property.string("documentId", mandatory=True), Property.boolean("signed")),
        additional_properties=False,
    ),
    headers=(Header("processInstanceId", mandatory=True), Header("fxContext", mandatory=True)),
)

ESIGN = Integration("E-signature", "esign", scenarios=(SIGNED,))


def send(app: App, scenario: Scenario | str, payload: Any, **kw: Any) -> Record:
    """``app.send(...)`` in a fresh event loop."""
    return asyncio.run(app.send(scenario, payload, **kw))


def test_send_puts_the_message_on_the_in_topic() -> None:
    """The validated payload goes to the in topic with processInstanceId and the headers."""
    transport = InMemoryTransport()
    app = App(ESIGN, transport=transport)
    payload = {"documentId": "d-1", "signed": True}
    send(app, SIGNED, payload, process_instance_id=1001, headers={"fxContext": "main"})
    (record,) = transport.records(SIGNED_IN)
    assert (record.headers, record.key, record.value) == (
        (("fxContext", b"main"), ("processInstanceId", b"1001")),
        b"1001",
        b'{"documentId":"d-1","signed":true}',
    )


def test_send_keys_by_the_process_instance_uuid_when_given() -> None:
    """With a processInstanceUuid header the key is that header, as for a reply."""
    transport = InMemoryTransport()
    app = App(ESIGN, transport=transport)
    headers = {"fxContext": "main", "processInstanceUuid": "uuid-7"}
    send(app, "signed", {"documentId": "d-1"}, process_instance_id="7", headers=headers)
    assert transport.records(SIGNED_IN)[0].key == b"uuid-7"


def test_send_works_for_a_scenario_with_a_request_side_too() -> None:
    """A scenario with both topics can be fed as well: the message goes to its in topic."""
    transport = InMemoryTransport()
    app = App(DEMO, transport=transport)
    send(app, "greet", {"greeting": "Hi"}, process_instance_id=5)
    assert [r.value for r in transport.records(GREET_IN)] == [b'{"greeting":"Hi"}']


def test_send_refuses_an_invalid_payload() -> None:
    """A payload that breaks the input model is a ValidationError; nothing is sent."""
    transport = InMemoryTransport()
    app = App(ESIGN, transport=transport)
    with pytest.raises(ValidationError, match=r"\$\.documentId"):
        send(app, SIGNED, {"signed": "yes"}, process_instance_id=1, headers={"fxContext": "m"})
    assert transport.records(SIGNED_IN) == []


def test_send_refuses_missing_mandatory_headers() -> None:
    """A header the scenario declares mandatory must be given."""
    app = App(ESIGN)
    with pytest.raises(ValidationError, match=r"fxContext"):
        send(app, SIGNED, {"documentId": "d-1"}, process_instance_id=1)


def test_send_refuses_an_unknown_scenario() -> None:
    """A scenario of none of the app's integrations is a ScenarioNotFoundError."""
    app = App(ESIGN)
    with pytest.raises(ScenarioNotFoundError, match=r"'nope'"):
        send(app, "nope", {}, process_instance_id=1)


def test_send_refuses_a_scenario_without_an_in_topic() -> None:
    """A fire-and-forget scenario has nowhere to send to: CatalogError."""
    app = App(DEMO)
    with pytest.raises(CatalogError) as caught:
        send(app, NOTIFY, {}, process_instance_id=1)
    assert str(caught.value) == ("scenario 'notify' has no in topic in environment None")


def test_send_refuses_another_process_instance_id_in_the_headers() -> None:
    """Headers naming another processInstanceId than the argument are a ValueError."""
    app = App(ESIGN)
    with pytest.raises(ValueError, match=r"^headers name another processInstanceId"):
        send(
            app,
            SIGNED,
            {"documentId": "d-1"},
            process_instance_id=1,
            headers={"fxContext": "m", "processInstanceId": "2"},
        )


def test_a_scenario_with_an_in_topic_only_takes_no_handler() -> None:
    """Registering a handler for a scenario without an out topic is refused."""
    app = App(ESIGN)
    with pytest.raises(HandlerRegistrationError, match=r"^scenario 'signed' has no out topic"):
        app.handler(SIGNED)(lambda payload: None)


def test_the_engine_client_cannot_send_on_a_scenario_without_an_out_topic() -> None:
    """EngineClient.send names the missing out topic instead of sending nowhere."""
    client = EngineClient(ESIGN, transport=InMemoryTransport())
    with pytest.raises(LookupError) as caught:
        asyncio.run(client.send(SIGNED, {"documentId": "d-1"}))
    assert str(caught.value) == ("scenario 'signed' has no out topic in environment None")


def test_a_missing_topic_is_one_error_every_old_except_clause_catches() -> None:
    """MissingTopicError is each error the rule raised before, and a LookupError."""
    with pytest.raises(MissingTopicError) as caught:
        NOTIFY.topic("in", "prod")
    error = caught.value
    assert isinstance(error, HandlerRegistrationError | DeferredReplyError | CatalogError)
    assert isinstance(error, LookupError)
    assert (str(error), error.side, error.environment) == (
        "scenario 'notify' has no in topic in environment 'prod'",
        "in",
        "prod",
    )
