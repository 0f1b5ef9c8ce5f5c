"""Hostile records from the reliability issue: each defect's trigger, through a real App.

Every test sends the trigger, then a valid request on the same partition: the trigger must
be dead-lettered (or answered with an error reply) and the partition must keep serving.
"""

from __future__ import annotations

from typing import Any

from flowintegrations import App, Retry
from flowintegrations.deadletter import ERROR_MESSAGE, ERROR_STAGE
from flowintegrations.testing import TestClient
from flowintegrations.transport import Record
from support.runtime import DEMO, GREET, GREET_OUT, HEADERS

NO_WAIT = Retry(attempts=2, backoff=0.0)
PID = (("processInstanceId", b"1001"),)


def why(record: Record) -> dict[str, str]:
    """The dead-letter headers of ``record``, decoded (invalid bytes escaped)."""
    return {
        k: v.decode("utf-8", "backslashreplace")
        for k, v in record.headers
        if k.startswith("flowintegrations.")
    }


def greet_app(**kw: Any) -> App:
    """An app whose greet handler answers 'Hello, <name>'."""
    app = App(DEMO, retry=NO_WAIT, **kw)

    @app.handler(GREET)
    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        return {"greeting": f"Hello, {payload['name']}"}

    return app


# Defect 4: 1e400 passes the codec as inf ------------------------------------------------------


def test_an_overflowing_number_is_dead_lettered_at_decode() -> None:
    """A request holding 1e400 is dead-lettered at stage decode, naming the number and where."""
    with TestClient(greet_app()) as client:
        client.send_raw(Record(GREET_OUT, None, b'{"n": 1e400}', PID))
        (dead,) = client.dead_letters
    assert (why(dead)[ERROR_STAGE], why(dead)[ERROR_MESSAGE]) == (
        "decode",
        "value is not JSON: number 1e400 at line 1, column 7 is out of range",
    )


def test_the_partition_serves_the_next_request_after_an_overflowing_number() -> None:
    """After a request holding 1e400, the next valid request on its partition is answered."""
    with TestClient(greet_app()) as client:
        client.send_raw(Record(GREET_OUT, None, b'{"name": "a", "times": -1e400}', PID))
        reply = client.request(GREET, {"name": "Ana"}, headers=HEADERS)
    assert reply.payload == {"greeting": "Hello, Ana"}
