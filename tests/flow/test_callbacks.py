"""CallbackSender: retries by a Retry policy, headers sent, nothing secret in a repr."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from starlette.requests import Request

from flowintegrations import App, Retry
from flowintegrations.flow import FlowService
from flowintegrations.flow.actions import callback_headers
from flowintegrations.flow.callbacks import CallbackSender


def test_callbacks_are_retried_by_the_retry_policy_given() -> None:
    """Retry(attempts=4): four POSTs to an endpoint that always fails, then kept."""
    seen: list[httpx.Request] = []

    def engine(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503)

    sender = CallbackSender(
        retry=Retry(4, backoff=0.0, jitter=0.0), transport=httpx.MockTransport(engine)
    )
    delivered = asyncio.run(sender.deliver("http://engine/cb", b"{}", state_id="s"))
    assert (delivered, len(seen), sender.failed, sender.attempts) == (False, 4, 1, 4)


def test_the_default_policy_caps_and_spreads_the_backoff() -> None:
    """Without a Retry: attempts and backoff as given, capped at 30 s, ±10 % jitter."""
    sender = CallbackSender(attempts=3, backoff=0.5)
    assert sender.retry == Retry(3, backoff=0.5, max_backoff=30.0, jitter=0.1)


def test_headers_are_sent_and_kept_but_never_shown() -> None:
    """The given headers go with Content-Type; a kept callback's repr shows none of them."""
    seen: list[httpx.Request] = []

    def engine(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(500)

    sender = CallbackSender(attempts=1, transport=httpx.MockTransport(engine))
    headers = {"ManyWhoTenant": "t-1", "Authorization": "Basic c2VjcmV0"}
    asyncio.run(sender.deliver("http://engine/cb", b"{}", state_id="s", headers=headers))
    (kept,) = sender.undelivered
    assert (seen[0].headers["manywhotenant"], seen[0].headers["authorization"]) == (
        "t-1",
        "Basic c2VjcmV0",
    )
    assert kept.headers == {"Content-Type": "application/json", **headers}
    assert repr(kept) == (
        "UndeliveredCallback(uri='http://engine/cb', state_id='s', reason='HTTP 500')"
    )


def test_a_service_hands_its_callback_retry_to_the_sender() -> None:
    """FlowService(callback_retry=...) is the policy its callbacks are retried by."""
    retry = Retry(7, backoff=1.0, max_backoff=5.0)
    service = FlowService(App(), callback_retry=retry)
    assert (service.callbacks.retry, service.callbacks.attempts) == (retry, 7)


def test_callback_headers_name_the_tenant_and_forward_the_authorization() -> None:
    """ManyWhoTenant from tenantId; the request's Authorization header before the body's."""
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": "/actions/x",
        "headers": [(b"authorization", b"Basic abc")],
    }
    request = Request(scope)
    body = {"tenantId": "t-1", "authorization": "from-body"}
    assert callback_headers(request, body) == {
        "ManyWhoTenant": "t-1",
        "Authorization": "Basic abc",
    }
    assert callback_headers(Request({**scope, "headers": []}), {"tenantId": 5}) == {}
