"""TopicRoute.reply_to: the reply record of a request, or a clear error with no in topic."""

from __future__ import annotations

import pytest

from flowintegrations import App
from flowintegrations.runtime.outbound import TopicRoute
from flowintegrations.transport import Record
from support.runtime import DEMO, GREET, GREET_IN, GREET_OUT


def topic_route(in_topic: str | None) -> TopicRoute:
    """The topic route of the greet scenario, replying on ``in_topic``."""
    app = App(DEMO)
    app.handler(GREET)(lambda payload: None)
    return TopicRoute(app.pipeline.route(GREET), in_topic)


def test_a_reply_copies_the_headers_but_never_propagated_ones_and_is_keyed_by_the_process() -> None:
    """reply_to: the in topic, the value, the request's headers but jwt, the uuid as key."""
    headers = (("processInstanceId", b"1"), ("jwt", b"t"), ("processInstanceUuid", b"u-1"))
    request = Record(GREET_OUT, b"k", b"{}", headers, 0, 7)
    reply = topic_route(GREET_IN).reply_to(request, b'{"greeting":"hi"}')
    assert (reply.topic, reply.key, reply.value, reply.headers) == (
        GREET_IN,
        b"u-1",
        b'{"greeting":"hi"}',
        (("processInstanceId", b"1"), ("processInstanceUuid", b"u-1")),
    )


def test_a_route_without_an_in_topic_has_nothing_to_reply_on() -> None:
    """reply_to on a route with no in topic raises LookupError naming the scenario."""
    request = Record(GREET_OUT, None, b"{}", (("processInstanceId", b"1"),))
    with pytest.raises(LookupError, match=r"^scenario 'greet' has no in topic to reply on$"):
        topic_route(None).reply_to(request, b"{}")
