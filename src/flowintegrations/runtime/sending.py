"""Messages the adapter starts: deferred answers, and messages for receive tasks.

The delivery loop only ever answers a request it consumed. :class:`Sender` sends the two
kinds of message that come from elsewhere (a webhook, a scheduler, another service):

- :meth:`Sender.reply_later` answers a request whose handler deferred (``ctx.defer()``),
  with the headers and key the immediate reply would have had (the deferred reply was made
  by :func:`flowintegrations.runtime.replies.reply_record`, the rule immediate replies follow);
- :meth:`Sender.send` puts a message on a scenario's in topic for a process waiting in a
  message receive task.

Both validate the payload against the scenario's input model (what the engine reads on
the in topic) before anything is sent, and return once the broker acknowledged it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import attrs
import cattrs

from flowintegrations.codec import JsonCodec
from flowintegrations.errors import DeferredReplyUsedError
from flowintegrations.model import Integration, Scenario, find_scenario
from flowintegrations.runtime.deferred import Deferrals, DeferredReply, ReplyLedger
from flowintegrations.runtime.replies import reply_record
from flowintegrations.transport import Record, Transport
from flowintegrations.validation import decode_headers, scenario_validators
from flowintegrations.vocabulary import PROCESS_INSTANCE_ID, encodable

__all__ = ["Sender"]

log = logging.getLogger("flowintegrations.app")


class Sender:
    """Sends deferred answers and receive-task messages for the scenarios of ``integrations``.

    ``deferrals`` checks the tokens' signatures; ``ledger`` refuses a second answer.
    """

    def __init__(
        self,
        integrations: tuple[Integration, ...],
        transport: Transport,
        *,
        environment: str | None,
        codec: JsonCodec,
        deferrals: Deferrals,
        ledger: ReplyLedger,
    ) -> None:
        self.integrations = integrations
        self.transport = transport
        self.environment = environment
        self.codec = codec
        self.deferrals = deferrals
        self.ledger = ledger
        self._converter = cattrs.Converter()
        self._ensured: set[str] = set()

    def __repr__(self) -> str:
        return f"Sender(environment={self.environment!r}, transport={self.transport!r})"

    def _encoded(self, integration: Integration, scenario: Scenario, payload: Any) -> bytes:
        """``payload`` validated against the input model and encoded."""
        if attrs.has(type(payload)):
            payload = self._converter.unstructure(payload)
        _, reply = scenario_validators(integration, scenario)
        reply.validate(payload)
        return self.codec.encode(payload)

    async def _send(self, record: Record) -> Record:
        await self.transport.start()
        if record.topic not in self._ensured:
            await self.transport.ensure_topics([record.topic])
            self._ensured.add(record.topic)
        return await self.transport.send(record)

    async def reply_later(
        self, deferred: DeferredReply, payload: Any, *, error: str | BaseException | None = None
    ) -> Record:
        """Answer ``deferred`` with ``payload`` (or, with ``error``, ``{"error": message}``).

        Checks, in this order, before anything is sent: the scenario is one of ours
        (:class:`~flowintegrations.errors.ScenarioNotFoundError`), the token's signature
        (:class:`~flowintegrations.errors.InvalidDeferredReplyError`), the payload against
        the input model (:class:`~flowintegrations.ValidationError`), and that it was not
        answered before (:class:`~flowintegrations.errors.DeferredReplyUsedError`). An
        answer that could not be sent (a transport error, raised) may be tried again.
        """
        integration, scenario = find_scenario(
            self.integrations, f"{deferred.integration}/{deferred.scenario}", owner="this app"
        )
        self.deferrals.verify(deferred)
        if error is not None:
            if payload is not None:
                msg = "give reply_later a payload or an error, not both"
                raise ValueError(msg)
            payload = {"error": encodable(str(error))}
        value = self._encoded(integration, scenario, payload)
        if not await self.ledger.claim(deferred.reply_id):
            msg = (
                f"the deferred reply {deferred.reply_id!r} of {deferred.integration}/"
                f"{deferred.scenario} (processInstanceId={deferred.process_instance_id}) "
                "was answered already; a second answer is refused"
            )
            raise DeferredReplyUsedError(msg)
        try:
            sent = await self._send(deferred.record(value))
        except BaseException:
            await self.ledger.release(deferred.reply_id)
            raise
        log.info(
            "%s/%s answered later on %s",
            deferred.integration,
            deferred.scenario,
            deferred.in_topic,
            extra={
                "event": "reply_later",
                PROCESS_INSTANCE_ID: deferred.process_instance_id,
                "scenario": deferred.scenario,
                "topic": deferred.in_topic,
                "reply_id": deferred.reply_id,
            },
        )
        return sent

    async def send(
        self,
        scenario: Scenario | str,
        payload: Any,
        *,
        process_instance_id: int | str,
        headers: Mapping[str, str | bytes] | None = None,
    ) -> Record:
        """Put ``payload`` on ``scenario``'s in topic for the process waiting in a receive task.

        The record carries ``headers`` (the engine's correlation headers the process
        expects, e.g. ``fxContext``, ``Fx-Organization-Id``) and ``processInstanceId``;
        its key is the ``processInstanceUuid`` header when given, else the process
        instance id, as for a reply. Raises
        :class:`~flowintegrations.errors.ScenarioNotFoundError` for an unknown scenario,
        :class:`~flowintegrations.CatalogError` when it has no in topic in this environment,
        :class:`~flowintegrations.ValidationError` for a payload that breaks the input
        model or missing mandatory headers.
        """
        integration, found = find_scenario(self.integrations, scenario, owner="this app")
        in_topic = found.topic("in", self.environment)
        pid = str(process_instance_id)
        given = dict(headers or {})
        if given.get(PROCESS_INSTANCE_ID, pid) not in (pid, pid.encode("utf-8")):
            msg = "headers name another processInstanceId than process_instance_id"
            raise ValueError(msg)
        given[PROCESS_INSTANCE_ID] = pid
        raw = tuple(
            (name, value if isinstance(value, bytes) else value.encode("utf-8"))
            for name, value in given.items()
        )
        decode_headers(raw, found.headers)
        value = self._encoded(integration, found, payload)
        # The message is keyed like a reply: by processInstanceUuid, else by the process.
        origin = Record(topic=in_topic, key=pid.encode("utf-8"), value=b"", headers=raw)
        return await self._send(reply_record(in_topic, origin, value, frozenset()))
