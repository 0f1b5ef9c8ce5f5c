"""Enumeration codes at the handler's boundary, on the in-memory transport."""

from __future__ import annotations

import json
from typing import Any

from flowintegrations import App, Retry
from flowintegrations.deadletter import ERROR_STAGE, ERROR_VIOLATIONS
from flowintegrations.testing import TestClient
from flowintegrations.transport import Record
from support.codes import CRM, LOOKUP, echo_app

HEADERS = {"processInstanceId": "7"}
NO_WAIT = Retry(attempts=1, backoff=0.0)


def test_handler_sees_the_system_codes_and_the_engine_gets_its_values() -> None:
    """The request arrives in CRM's codes; the reply's codes go back as the engine's values."""
    app, seen = echo_app(retry=NO_WAIT)
    with TestClient(app) as client:
        reply = client.request(LOOKUP, {"country": "RO", "visited": ["DE"]}, headers=HEADERS)
    assert (seen, reply.payload) == (
        [{"country": "ROU", "visited": ["DEU"]}],
        {"address": {"country": "RO"}},
    )


def test_request_with_a_system_code_is_dead_lettered() -> None:
    """The engine's side is checked against the engine's values: a code is not one of them."""
    app, seen = echo_app(retry=NO_WAIT)
    with TestClient(app) as client:
        out_topic = LOOKUP.binding(None).out_topic
        client.send_raw(
            Record(out_topic, None, b'{"country": "ROU"}', (("processInstanceId", b"7"),))
        )
        (dead,) = client.dead_letters
    why = {k: v.decode() for k, v in dead.headers if k.startswith("flowintegrations.")}
    assert (seen, why[ERROR_STAGE], json.loads(why[ERROR_VIOLATIONS])) == (
        [],
        "request",
        [{"path": "$.country", "rule": "enum", "message": "must be one of 'RO', 'DE'; got 'ROU'"}],
    )


def test_reply_with_an_invalid_code_is_dead_lettered_naming_the_system() -> None:
    """A handler answering with an engine value instead of CRM's code is a reply violation."""
    app = App(CRM, retry=NO_WAIT)

    @app.handler(LOOKUP)
    def lookup(payload: dict[str, Any]) -> dict[str, Any]:
        return {"address": {"country": "RO"}}

    with TestClient(app) as client:
        client.send(LOOKUP, {"country": "RO"}, headers=HEADERS)
        (dead,) = client.dead_letters
    why = {k: v.decode() for k, v in dead.headers if k.startswith("flowintegrations.")}
    assert (why[ERROR_STAGE], json.loads(why[ERROR_VIOLATIONS])) == (
        "reply",
        [
            {
                "path": "$.address.country",
                "rule": "enum",
                "message": "must be one of 'ROU', 'DEU'; got 'RO' (the codes of system 'CRM')",
            }
        ],
    )
