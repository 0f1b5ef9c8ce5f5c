"""The engine's side of a scenario: :class:`EngineClient` sends requests, awaits replies.

It does what the process engine does: validate the request against the scenario's output
model, send it on the out topic with ``processInstanceId`` / ``processInstanceUuid``
headers, and match the reply read from the in topic by those headers. Use it to drive an
adapter in tests, in demos, or from a service that talks to adapters like the engine does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import uuid
from collections.abc import Mapping
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any

import attrs

from flowintegrations.codec import JsonCodec
from flowintegrations.errors import (
    CodecError,
    FlowIntegrationsError,
    RequestTimeoutError,
    TransportClosedError,
    ValidationError,
)
from flowintegrations.model import Integration, Scenario, find_scenario
from flowintegrations.transport import Record, Subscription, TopicPartition, Transport
from flowintegrations.transport.waiting import cancel_and_wait
from flowintegrations.validation import decode_headers, scenario_validators
from flowintegrations.vocabulary import (
    ENVIRONMENT_VAR,
    PROCESS_INSTANCE_ID,
    PROCESS_INSTANCE_UUID,
    REDACTED,
)

if TYPE_CHECKING:
    from flowintegrations.runtime.telemetry import Instrumentation

__all__ = ["EngineClient", "Reply"]

log = logging.getLogger("flowintegrations.client")

_RECENT_TIMEOUTS = 1024


@attrs.frozen(repr=False)
class Reply:
    """A validated reply: its payload, its headers (decoded), and the record it came in."""

    payload: Any
    headers: Mapping[str, str]
    record: Record
    secret_headers: frozenset[str] = frozenset()

    @property
    def error(self) -> str | None:
        """The ``error`` of an error reply (``{"error": "..."}``), else ``None``."""
        if isinstance(self.payload, dict):
            error = self.payload.get("error")
            return error if isinstance(error, str) else None
        return None

    def __repr__(self) -> str:
        shown = {k: (REDACTED if k in self.secret_headers else v) for k, v in self.headers.items()}
        return f"Reply(payload={self.payload!r}, headers={shown!r})"


@attrs.define(eq=False)
class _Waiter:
    future: asyncio.Future[Reply]
    integration: Integration
    scenario: Scenario


class EngineClient:
    """Send requests to adapters and await their correlated, validated replies.

    Many concurrent requests share one consumer of the in topics. Replies nobody waits
    for (late, or for another client) are logged and dropped without disturbing other
    waiters. The client starts on first use, or explicitly with ``await client.start()``
    / ``async with client``. ``telemetry`` (off when ``None``) traces each request and
    puts its trace context on the record sent.
    """

    def __init__(
        self,
        *integrations: Integration,
        transport: Transport,
        environment: str | None = None,
        group_id: str | None = None,
        codec: JsonCodec | None = None,
        telemetry: Instrumentation | None = None,
    ) -> None:
        self.integrations = integrations
        self.telemetry = telemetry
        self.transport = transport
        self.environment = (
            environment if environment is not None else os.environ.get(ENVIRONMENT_VAR)
        )
        self.group_id = group_id or f"flowintegrations.engine.{uuid.uuid4().hex[:12]}"
        self.codec = codec or JsonCodec()
        self._waiters: dict[str, _Waiter] = {}
        self._timed_out: dict[str, None] = {}
        self._subscription: Subscription | None = None
        self._reader: asyncio.Task[None] | None = None
        self._started = False
        self._closed = False
        self._start_lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        ids = ", ".join(i.identifier for i in self.integrations)
        return f"EngineClient({ids}, environment={self.environment!r})"

    async def __aenter__(self) -> EngineClient:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _find(self, scenario: Scenario | str) -> tuple[Integration, Scenario]:
        return find_scenario(self.integrations, scenario, owner="this client")

    @property
    def reads_replies(self) -> bool:
        """Whether the started client reads any in topic (some scenario has replies)."""
        return self._subscription is not None

    def assignment(self) -> frozenset[TopicPartition]:
        """The partitions of the in topics this client's consumer holds now (empty if none)."""
        subscription = self._subscription
        return frozenset() if subscription is None else subscription.assignment()

    async def start(self) -> None:
        """Start the transport if needed and subscribe to every scenario's in topic."""
        if self._closed:
            msg = "the engine client was stopped"
            raise TransportClosedError(msg)
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self._started:
                return
            await self.transport.start()
            in_topics = sorted(
                {
                    binding.in_topic
                    for i in self.integrations
                    for s in i.scenarios
                    if (binding := _binding_or_none(s, self.environment)) is not None
                    and binding.in_topic is not None
                }
            )
            if in_topics:
                await self.transport.ensure_topics(in_topics)
                self._subscription = await self.transport.subscribe(
                    in_topics, group_id=self.group_id
                )
                self._reader = asyncio.create_task(self._read(), name="flowintegrations-replies")
            self._started = True

    async def stop(self) -> None:
        """Stop reading replies; pending requests fail. Idempotent. The transport stays up."""
        if self._closed:
            return
        self._closed = True
        if self._reader is not None:
            await cancel_and_wait(self._reader)
        if self._subscription is not None:
            with contextlib.suppress(FlowIntegrationsError):
                await self._subscription.close()
        for waiter in self._waiters.values():
            if not waiter.future.done():
                waiter.future.set_exception(TransportClosedError("the engine client stopped"))
        self._waiters.clear()

    async def request(
        self,
        scenario: Scenario | str,
        payload: Any,
        *,
        headers: Mapping[str, str | bytes] | None = None,
        timeout: float = 10.0,
    ) -> Reply:
        """Send ``payload`` as the engine would and return the adapter's validated reply.

        Raises :class:`~flowintegrations.ValidationError` when the request (or the reply)
        breaks its model, and :class:`~flowintegrations.errors.RequestTimeoutError` when no
        reply arrives within ``timeout`` seconds.
        """
        await self.start()
        integration, found = self._find(scenario)
        in_topic = found.topic("in", self.environment)  # none: use send(), not request()
        record, correlation = self._request_record(integration, found, payload, headers)
        if correlation in self._waiters:
            msg = f"a request with processInstanceUuid {correlation!r} is already waiting"
            raise ValueError(msg)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiters[correlation] = _Waiter(future, integration, found)
        try:
            with self._traced(integration, found, record, "request") as record:
                await self.transport.send(record)
                return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            self._timed_out[correlation] = None
            if len(self._timed_out) > _RECENT_TIMEOUTS:
                self._timed_out.pop(next(iter(self._timed_out)))
            msg = (
                f"no reply to {integration.identifier}/{found.identifier} "
                f"(processInstanceUuid={correlation}) on {in_topic!r} within {timeout}s"
            )
            raise RequestTimeoutError(msg) from None
        finally:
            self._waiters.pop(correlation, None)

    async def send(
        self,
        scenario: Scenario | str,
        payload: Any,
        *,
        headers: Mapping[str, str | bytes] | None = None,
    ) -> Record:
        """Send ``payload`` without waiting for a reply (a Kafka Send Action); return the record.

        Returns once the broker acknowledged the request.
        """
        if self._closed:
            msg = "the engine client was stopped"
            raise TransportClosedError(msg)
        await self.transport.start()
        integration, found = self._find(scenario)
        record, _ = self._request_record(integration, found, payload, headers)
        with self._traced(integration, found, record, "send") as record:
            return await self.transport.send(record)

    def _traced(
        self, integration: Integration, scenario: Scenario, record: Record, operation: str
    ) -> AbstractContextManager[Record]:
        """Report ``operation`` on ``record`` while the block runs (when telemetry is on)."""
        if self.telemetry is None:
            return contextlib.nullcontext(record)
        return self.telemetry.engine_request(integration, scenario, record, operation=operation)

    def _request_record(
        self,
        integration: Integration,
        scenario: Scenario,
        payload: Any,
        headers: Mapping[str, str | bytes] | None,
    ) -> tuple[Record, str]:
        out_topic = scenario.topic("out", self.environment)
        request_validator, _ = scenario_validators(integration, scenario)
        request_validator.validate(payload)
        raw: dict[str, str | bytes] = dict(headers or {})
        raw.setdefault(PROCESS_INSTANCE_ID, str(secrets.randbits(62)))
        raw.setdefault(PROCESS_INSTANCE_UUID, str(uuid.uuid4()))
        decoded = decode_headers(raw.items(), scenario.headers)
        correlation = decoded[PROCESS_INSTANCE_UUID]
        record = Record(
            topic=out_topic,
            key=correlation.encode("utf-8"),
            value=self.codec.encode(payload),
            headers=tuple(
                (k, v if isinstance(v, bytes) else v.encode("utf-8")) for k, v in raw.items()
            ),
        )
        return record, correlation

    async def _read(self) -> None:
        subscription = self._subscription
        assert subscription is not None
        while True:
            records = await subscription.getmany(max_records=500, timeout=0.5)
            if not records:
                continue
            offsets: dict[TopicPartition, int] = {}
            for record in records:
                self._deliver(record)
                if record.partition is not None and record.offset is not None:
                    offsets[TopicPartition(record.topic, record.partition)] = record.offset + 1
            with contextlib.suppress(FlowIntegrationsError):
                await subscription.commit(offsets)

    def _deliver(self, record: Record) -> None:
        raw = record.header(PROCESS_INSTANCE_UUID) or record.header(PROCESS_INSTANCE_ID)
        correlation = raw.decode("utf-8", "replace") if raw is not None else None
        waiter = self._waiters.get(correlation) if correlation is not None else None
        if waiter is None:
            late = correlation in self._timed_out
            pid = record.header(PROCESS_INSTANCE_ID)
            log.log(
                logging.WARNING if late else logging.DEBUG,
                "dropped %s reply on %s (processInstanceUuid=%s)",
                "a late" if late else "an unexpected",
                record.topic,
                correlation,
                extra={
                    "event": "drop_reply",
                    "topic": record.topic,
                    PROCESS_INSTANCE_ID: None if pid is None else pid.decode("utf-8", "replace"),
                },
            )
            return
        if waiter.future.done():
            return
        where = (
            f"reply to {waiter.integration.identifier}/{waiter.scenario.identifier} "
            f"(processInstanceUuid={correlation}) on {record.topic!r}"
        )
        try:
            headers = decode_headers(record.headers, ())
        except ValidationError as exc:
            subject = f"headers of the {where}"
            _fail(waiter.future, ValidationError(exc.violations, subject=subject), exc)
            return
        try:
            payload = self.codec.decode(record.value)
        except CodecError as exc:
            _fail(waiter.future, CodecError(f"{where}: {exc}"), exc)
            return
        try:
            _, reply_validator = scenario_validators(waiter.integration, waiter.scenario)
            reply_validator.validate(payload)
        except ValidationError as exc:
            _fail(waiter.future, ValidationError(exc.violations, subject=where), exc)
            return
        waiter.future.set_result(
            Reply(payload, headers, record, secret_headers=waiter.scenario.secret_headers)
        )


def _fail(future: asyncio.Future[Reply], error: BaseException, cause: BaseException) -> None:
    """Fail a waiting request with ``error``, which says where ``cause`` happened."""
    error.__cause__ = cause
    future.set_exception(error)


def _binding_or_none(scenario: Scenario, environment: str | None) -> Any:
    try:
        return scenario.binding(environment)
    except FlowIntegrationsError:
        return None
