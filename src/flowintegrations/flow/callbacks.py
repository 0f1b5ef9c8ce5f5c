"""Delivering the final answer of a WAITing message action: :class:`CallbackSender`.

When a handler runs past the service's sync timeout, Flow is told to WAIT and is later
sent the final ServiceResponse at the request's ``callbackUri``, with the headers both Flow
SDKs send: ``Content-Type: application/json``, ``ManyWhoTenant: <tenantId>`` and the
request's ``Authorization``. A callback that fails (no connection, a timeout, an answer
other than 2xx) is retried by a :class:`~flowintegrations.Retry` policy (exponential
backoff, capped, with jitter). One that still fails is never dropped silently: it is logged
at ERROR, counted in :attr:`CallbackSender.failed`, and kept in :attr:`CallbackSender.undelivered`
(the newest ``keep`` of them) for an operator to replay.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Mapping

import attrs
import httpx

from flowintegrations.retry import Retry

__all__ = ["CallbackSender", "UndeliveredCallback"]

log = logging.getLogger("flowintegrations.flow")


@attrs.frozen(repr=False)
class UndeliveredCallback:
    """A final answer that could not be delivered: where it was going, what, and why.

    The repr leaves the body and the headers out: they hold the Flow state's token and the
    request's credentials. ``headers`` are the ones the callback was sent with, to replay it.
    """

    uri: str
    body: bytes
    state_id: str | None
    reason: str
    headers: Mapping[str, str] = attrs.field(factory=dict, kw_only=True)

    def __repr__(self) -> str:
        return (
            f"UndeliveredCallback(uri={self.uri!r}, state_id={self.state_id!r}, "
            f"reason={self.reason!r})"
        )


class CallbackSender:
    """POSTs final ServiceResponses to Flow's callback URI, with bounded retries.

    ``transport`` is passed to the :class:`httpx.AsyncClient` (tests may give an in-memory
    one); ``timeout`` bounds each try. ``retry`` says how often to try and how long to wait
    between tries; without one, ``attempts`` tries with a ``backoff`` that doubles each
    time, capped at 30 s, spread by ±10 %. :meth:`aclose` closes the client; it is
    idempotent.
    """

    def __init__(
        self,
        *,
        attempts: int = 5,
        backoff: float = 0.5,
        timeout: float = 10.0,
        keep: int = 1000,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: Retry | None = None,
    ) -> None:
        if attempts < 1:
            msg = f"callback attempts must be at least 1, got {attempts}"
            raise ValueError(msg)
        self.retry = retry or Retry(attempts, backoff=backoff, max_backoff=30.0, jitter=0.1)
        self.attempts = self.retry.attempts
        self.timeout = timeout
        self.delivered = 0
        self.failed = 0
        self.undelivered: collections.deque[UndeliveredCallback] = collections.deque(maxlen=keep)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport, timeout=self.timeout, follow_redirects=False
            )
        return self._client

    async def deliver(
        self,
        uri: str,
        body: bytes,
        *,
        state_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> bool:
        """POST ``body`` (JSON) to ``uri`` until a 2xx answer; True when delivered.

        ``headers`` go with it besides ``Content-Type`` (they are never logged).
        """
        sent = {"Content-Type": "application/json", **(headers or {})}
        reason = ""
        for attempt in range(1, self.attempts + 1):
            try:
                response = await self._http().post(uri, content=body, headers=sent)
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if response.is_success:
                    self.delivered += 1
                    return True
                reason = f"HTTP {response.status_code}"
            if attempt < self.attempts:
                delay = self.retry.delay(attempt)
                log.warning(
                    "callback to %s failed (try %d of %d: %s); retrying in %.2fs",
                    uri,
                    attempt,
                    self.attempts,
                    reason,
                    delay,
                    extra={"event": "flow.callback.retry", "state_id": state_id},
                )
                await asyncio.sleep(delay)
        self.failed += 1
        self.undelivered.append(UndeliveredCallback(uri, body, state_id, reason, headers=sent))
        log.error(
            "callback to %s failed %d times (%s); the final answer for state %s was not "
            "delivered and is kept in FlowService.undelivered_callbacks",
            uri,
            self.attempts,
            reason,
            state_id,
            extra={"event": "flow.callback.failed", "state_id": state_id},
        )
        return False

    async def aclose(self) -> None:
        """Close the HTTP client (idempotent)."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
