"""Configuration values: declared in describe, checked on every request, given to handlers."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from flowintegrations import (
    App,
    Context,
    DataModel,
    Integration,
    Property,
    Retry,
    Scenario,
    TopicBinding,
)
from flowintegrations.flow import FlowRequest, FlowService, Query
from flowintegrations.flow.configuration import (
    Configuration,
    ConfigurationError,
    ConfigurationValues,
)
from flowintegrations.testing import TestClient
from support.asgi import Session, session

PASSWORD = "hunter2-pa55word"
SETTINGS = DataModel(
    (
        Property.string("host", mandatory=True, description="The database host"),
        Property.number("port"),
        Property.boolean("tls"),
        Property.enum("mode", ("READ", "WRITE")),
        Property.string("dbPassword", mandatory=True),
        Property.string("apiKey"),
    )
)
CRM = Integration(
    "CRM",
    "crm",
    definitions={"customer": DataModel((Property.string("id"), Property.string("name")))},
    scenarios=(
        Scenario(
            "Connect",
            "connect",
            topics=(TopicBinding("crm.connect.out", "crm.connect.in"),),
            output_model=DataModel(),
            input_model=DataModel((Property.string("seen"),)),
        ),
        Scenario(
            "Leak",
            "leak",
            topics=(TopicBinding("crm.leak.out", "crm.leak.in"),),
            output_model=DataModel(),
            input_model=DataModel(),
        ),
    ),
)


def setting(name: str, value: Any, content_type: str = "ContentString") -> dict[str, Any]:
    """One EngineValue of configurationValues, as the engine posts it."""
    return {"developerName": name, "contentType": content_type, "contentValue": value}


GOOD = [
    setting("host", "db.example.com"),
    setting("port", "5432", "ContentNumber"),
    setting("tls", "TRUE", "ContentBoolean"),
    setting("dbPassword", PASSWORD, "ContentPassword"),
    setting("unknown", "ignored"),
]


def crm_service() -> tuple[FlowService, list[Any]]:
    """A service with settings; what its handlers saw is appended to the list."""
    seen: list[Any] = []
    app = App(CRM, retry=Retry(attempts=2, backoff=0.0))

    @app.handler("connect")
    def connect(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
        seen.append(ctx.configuration)
        return {"seen": f"{ctx.configuration.get('host')}:{ctx.configuration.get('port')}"}

    @app.handler("leak")
    def leak(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
        msg = f"cannot log in with {ctx.configuration['dbPassword']}"
        raise RuntimeError(msg)

    service = FlowService(app, configuration=SETTINGS, secret_configuration={"apiKey"})

    @service.load("customer")
    def load(query: Query, request: FlowRequest) -> list[dict[str, Any]]:
        seen.append(request)
        return []

    return service, seen


@pytest.fixture
def crm() -> Iterator[tuple[Session, list[Any]]]:
    """The CRM service in process, and what its handlers saw."""
    service, seen = crm_service()
    with session(service) as client:
        yield client, seen


def test_describe_declares_every_setting() -> None:
    """Each property is a DescribeValue: its content type, both flag and order spellings."""
    declared = Configuration(SETTINGS, {"apiKey"}).describe()
    assert [
        (d["developerName"], d["contentType"], d["required"], d["isRequired"], d["ordinal"])
        for d in declared
    ] == [
        ("host", "ContentString", True, True, 0),
        ("port", "ContentNumber", False, False, 1),
        ("tls", "ContentBoolean", False, False, 2),
        ("mode", "ContentString", False, False, 3),
        ("dbPassword", "ContentPassword", True, True, 4),
        ("apiKey", "ContentPassword", False, False, 5),
    ]
    assert declared[0] == {
        "developerName": "host",
        "contentType": "ContentString",
        "contentValue": None,
        "typeElementDeveloperName": None,
        "required": True,
        "isRequired": True,
        "ordinal": 0,
        "order": 0,
    }


def test_a_setting_that_is_not_one_value_is_refused() -> None:
    """An OBJECT setting is a ValueError at construction, naming it."""
    model = DataModel((Property.object("db", (Property.string("host"),)),))
    with pytest.raises(ValueError, match=re.escape("configuration property 'db' is OBJECT")):
        Configuration(model)


def test_values_are_typed_by_the_model() -> None:
    """Numbers, booleans (any case) and text come typed; unknown names are ignored."""
    values = Configuration(SETTINGS).read({"configurationValues": GOOD})
    assert dict(values) == {
        "host": "db.example.com",
        "port": 5432,
        "tls": True,
        "dbPassword": PASSWORD,
    }


def test_every_bad_setting_is_named_and_no_secret_shown() -> None:
    """Missing required, a bad number, a bad enum, a bad secret: each named, none shown."""
    sent = [setting("port", "x"), setting("mode", "ALL"), setting("apiKey", 5)]
    with pytest.raises(ConfigurationError) as caught:
        Configuration(SETTINGS, {"apiKey"}).read({"configurationValues": sent})
    assert [(v.path, v.rule, v.message) for v in caught.value.violations] == [
        (
            "$.configurationValues.host",
            "required",
            "'host' is required (a setting of the service in Flow)",
        ),
        ("$.configurationValues.port", "contentValue", "'port' is a number; 'x' is not"),
        (
            "$.configurationValues.mode",
            "contentValue",
            "'mode' is one of 'READ', 'WRITE'; 'ALL' is not",
        ),
        (
            "$.configurationValues.dbPassword",
            "required",
            "'dbPassword' is required (a setting of the service in Flow)",
        ),
        ("$.configurationValues.apiKey", "contentValue", "'apiKey' must be text, got int"),
    ]


def test_a_bad_secret_is_named_but_not_shown() -> None:
    """A secret that is not a number: the message says 'its value', never the value."""
    model = DataModel((Property.number("pin"),))
    with pytest.raises(ConfigurationError) as caught:
        Configuration(model, {"pin"}).read({"configurationValues": [setting("pin", PASSWORD)]})
    assert str(caught.value) == (
        "the service's configuration values are not as declared: 'pin' is a number; its value "
        "is not"
    )


def test_the_repr_of_values_hides_secrets() -> None:
    """ConfigurationValues shows <redacted> for a secret, the rest as they are."""
    values = ConfigurationValues({"host": "h", "dbPassword": PASSWORD}, {"dbPassword"})
    assert repr(values) == "ConfigurationValues({'host': 'h', 'dbPassword': '<redacted>'})"


def test_the_service_describes_its_settings(crm: tuple[Session, list[Any]]) -> None:
    """/metadata lists the settings in configurationValues."""
    client, _ = crm
    answer = client.post("/metadata", json={}).json()
    assert [v["developerName"] for v in answer["configurationValues"]] == [
        "host",
        "port",
        "tls",
        "mode",
        "dbPassword",
        "apiKey",
    ]


def test_a_message_handler_gets_them_as_ctx_configuration(
    crm: tuple[Session, list[Any]],
) -> None:
    """ctx.configuration holds the request's typed values."""
    client, seen = crm
    answer = client.post("/actions/connect", json={"configurationValues": GOOD}).json()
    assert answer["outputs"][0]["contentValue"] == "db.example.com:5432"
    assert (seen[0]["tls"], repr(seen[0]).count("<redacted>")) == (True, 1)


def test_a_data_handler_gets_them_on_its_request(crm: tuple[Session, list[Any]]) -> None:
    """request.configuration_values holds them; the request's repr hides the secret."""
    client, seen = crm
    body = {"objectDataType": {"developerName": "customer"}, "configurationValues": GOOD}
    assert client.post("/data", json=body).status_code == 200
    (request,) = seen
    assert request.configuration_values["port"] == 5432
    assert PASSWORD not in repr(request)


def test_a_missing_required_setting_is_a_400_naming_it(
    crm: tuple[Session, list[Any]], caplog: pytest.LogCaptureFixture
) -> None:
    """Without dbPassword: 400 naming it, for an action and for a data request alike."""
    client, seen = crm
    caplog.set_level(logging.INFO, logger="flowintegrations.flow")
    values = [setting("host", "h")]
    action = client.post("/actions/connect", json={"configurationValues": values})
    data = client.post(
        "/data",
        json={"objectDataType": {"developerName": "customer"}, "configurationValues": values},
    )
    expected = (
        "the service's configuration values are not as declared: 'dbPassword' is required "
        "(a setting of the service in Flow)"
    )
    assert (action.status_code, action.json()["message"]) == (400, expected)
    assert (data.status_code, data.json()["message"]) == (400, expected)
    assert seen == []


def test_a_password_never_reaches_an_answer_or_a_log(
    crm: tuple[Session, list[Any]], caplog: pytest.LogCaptureFixture
) -> None:
    """A retried handler's error quoting the password: the answer and every log line hide it."""
    client, _ = crm
    caplog.set_level(logging.DEBUG)
    response = client.post("/actions/leak", json={"configurationValues": GOOD})
    assert response.status_code == 500
    assert response.json()["message"].endswith("cannot log in with <redacted>")
    assert PASSWORD not in response.text
    assert PASSWORD not in caplog.text


def test_on_kafka_a_handler_sees_no_configuration() -> None:
    """A request that does not come from Flow: ctx.configuration is empty."""
    service, seen = crm_service()
    with TestClient(service.app) as client:
        client.request("connect", {}, headers={"processInstanceId": "1"}, timeout=5.0)
    assert seen == [{}]


def test_an_undeclared_password_never_shows_in_a_request_repr() -> None:
    """A service without configuration still hides a ContentPassword value, or a *password* name."""
    body = {
        "configurationValues": [
            {"developerName": "host", "contentType": "ContentString", "contentValue": "db"},
            {"developerName": "key", "contentType": "contentpassword", "contentValue": "s3cr3t-a"},
            {"developerName": "dbPassword", "contentType": "ContentString", "contentValue": "pw-b"},
        ]
    }
    request = FlowRequest.from_body("customer", body)
    shown = repr(request)
    assert ("s3cr3t-a" in shown, "pw-b" in shown, "'db'" in shown) == (False, False, True)
    assert dict(request.configuration_values) == {
        "host": "db",
        "key": "s3cr3t-a",
        "dbPassword": "pw-b",
    }
