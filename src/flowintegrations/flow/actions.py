"""Message actions (``POST /actions/{uriPart}``): :class:`MessageActions`.

Each action runs through the App's handling pipeline, the same one Kafka messages take:
the request is validated, the handler called (retried per ``app.retry``), its reply
validated. The answer is ``FORWARD`` with the outputs, or ``WAIT`` when the handler is still
running after ``sync_timeout`` seconds; the final answer then goes to the request's
``callbackUri`` (:class:`~flowintegrations.flow.CallbackSender`).

Headers: the pipeline checks the scenario's mandatory headers. ``processInstanceId`` is the
request's ``stateId`` (the Flow state plays the process instance), or a fresh UUID when
there is none; ``flowStateId`` and ``flowTenantId`` carry the state and tenant when given;
a request ``attributes`` entry named like one of the scenario's declared headers becomes
that header.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from flowintegrations.flow.callbacks import CallbackSender
from flowintegrations.flow.configuration import (
    Configuration,
    ConfigurationError,
    ConfigurationValues,
)
from flowintegrations.flow.echo import echoed
from flowintegrations.flow.http import Gate, Problem, encode_json, json_response
from flowintegrations.flow.outcomes import OutcomeError, Outcomes
from flowintegrations.flow.types import Action
from flowintegrations.flow.values import FlowValueError, payload_from_values
from flowintegrations.flow.writing import engine_values
from flowintegrations.runtime import (
    DeadLettered,
    Deferred,
    ErrorReplied,
    LeftForRedelivery,
    Origin,
    Outcome,
    Pipeline,
    Replied,
    Route,
    Stage,
)
from flowintegrations.vocabulary import PROCESS_INSTANCE_ID

if TYPE_CHECKING:
    from flowintegrations.runtime.telemetry import Instrumentation, RequestTrace

__all__ = ["MessageActions", "callback_headers", "read_configuration"]

log = logging.getLogger("flowintegrations.flow")

_CLIENT_STAGES = frozenset({Stage.HEADERS, Stage.DECODE, Stage.REQUEST})


class MessageActions:
    """The message actions of a service: run one, answer FORWARD or WAIT, call back later.

    Built with the ``pipeline`` and the ``actions`` (each with its route) it serves;
    ``gate`` reads bodies and answers problems; ``configuration`` reads each request's
    settings for ``ctx.configuration``; ``outcomes`` (by uriPart) say how a reply chooses
    its action's outcome. :meth:`aclose` waits for WAITing actions.
    """

    def __init__(
        self,
        pipeline: Pipeline | None,
        actions: Mapping[str, tuple[Action, Route]],
        *,
        gate: Gate,
        callbacks: CallbackSender,
        sync_timeout: float,
        wait_message: str,
        telemetry: Instrumentation | None = None,
        configuration: Configuration | None = None,
        outcomes: Mapping[str, Outcomes] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.configuration = configuration
        self.outcomes = dict(outcomes or {})
        self.actions = dict(actions)
        self.gate = gate
        self.callbacks = callbacks
        self.sync_timeout = sync_timeout
        self.wait_message = wait_message
        self.telemetry = telemetry
        self._background: set[asyncio.Task[None]] = set()
        self._offsets = itertools.count()

    def _stopping(self) -> bool:
        """Whether the service is shutting down (the pipeline then retries no failed try)."""
        return self.gate.stopping

    @property
    def running(self) -> int:
        """How many WAITing actions are still running (or delivering their answer)."""
        return len(self._background)

    async def answer(self, request: Request, uri_part: str) -> Response:
        """Authenticate and run the action at ``uri_part``; every failure a JSON answer."""
        return await self.gate.answer(request, lambda r: self.run(r, uri_part))

    async def run(self, request: Request, uri_part: str) -> Response:
        """Run the action at ``uri_part`` (raising :class:`Problem` for what is refused)."""
        found = self.actions.get(uri_part)
        if found is None:
            known = ", ".join(sorted(self.actions)) or "none"
            raise Problem(404, f"no action {uri_part[:100]!r} (actions: {known})")
        action, route = found
        body, surrogates = await self.gate.read(request)
        configuration = read_configuration(self.configuration, self.gate, body)
        try:
            payload = payload_from_values(
                action.inputs, body.get("inputs"), check_unicode=surrogates
            )
        except FlowValueError as exc:
            raise Problem(400, str(exc), violations=exc.violations) from None
        headers = _headers(action, body)
        origin = Origin(
            topic=f"flow:actions/{action.uri_part}",
            partition=0,
            offset=next(self._offsets),
            key=None,
            configuration=configuration,
            secrets=() if configuration is None else configuration.secret_values,
        )
        pipeline = self.pipeline
        assert pipeline is not None  # actions exist only where a pipeline does
        trace = None
        if self.telemetry is not None:
            trace = self.telemetry.served(route, origin, headers, request.headers)
        handling = pipeline.handle(
            route, payload, headers, origin=origin, trace=trace, stopping=self._stopping
        )
        if trace is not None:
            handling = _reported(handling, trace)
        callback = body.get("callbackUri")
        if not (isinstance(callback, str) and callback.startswith(("http://", "https://"))):
            # Nowhere to send a later answer: this request waits for it, however long.
            return self.outcome_response(action, body, await handling)
        task = asyncio.ensure_future(handling)
        done, _ = await asyncio.wait({task}, timeout=self.sync_timeout)
        if not done:
            self._finish_later(task, action, body, callback, callback_headers(request, body))
            return json_response(self.service_response(body, invoke_type="WAIT"))
        return self.outcome_response(action, body, task.result())

    def _finish_later(
        self,
        task: asyncio.Future[Outcome],
        action: Action,
        body: dict[str, Any],
        uri: str,
        headers: Mapping[str, str],
    ) -> None:
        state = body.get("stateId") if isinstance(body.get("stateId"), str) else None

        async def finish() -> None:
            try:
                answer = self.final_answer(action, body, await task)
            except OutcomeError as exc:
                log.error(
                    "the handler of %r chose no declared outcome: %s",
                    action.uri_part,
                    self.gate.redacted(str(exc)),
                    extra={"event": "flow.outcome"},
                )
                answer = self.service_response(body, root_faults={"error": str(exc)})
            except Exception as exc:  # noqa: BLE001 - still tell Flow, never lose the state
                log.error(
                    "internal error finishing a WAITing action: %s",
                    self.gate.redacted(f"{type(exc).__name__}: {exc}"),
                    extra={"event": "flow.internal"},
                )
                answer = self.service_response(
                    body, root_faults={"error": "internal error in the service"}
                )
            await self.callbacks.deliver(uri, encode_json(answer), state_id=state, headers=headers)

        background = asyncio.ensure_future(finish())
        self._background.add(background)
        background.add_done_callback(self._background.discard)

    def service_response(
        self,
        request: Mapping[str, Any],
        *,
        invoke_type: str = "FORWARD",
        outputs: list[dict[str, Any]] | None = None,
        root_faults: dict[str, str] | None = None,
        selected_outcome: str | None = None,
    ) -> dict[str, Any]:
        """A ServiceResponse answering ``request`` (its echoed fields fit for the platform)."""
        return {
            **echoed(request),
            "invokeType": invoke_type,
            "waitMessage": self.wait_message if invoke_type == "WAIT" else None,
            "outputs": outputs or [],
            "rootFaults": root_faults or {},
            "valueFaults": [],
            "selectedOutcomeId": selected_outcome,
        }

    def outcome_response(
        self, action: Action, request: dict[str, Any], outcome: Outcome
    ) -> Response:
        """The HTTP answer to the pipeline's ``outcome`` (raising :class:`Problem`)."""
        if isinstance(outcome, Replied):
            try:
                return json_response(self.final_answer(action, request, outcome))
            except OutcomeError as exc:
                raise Problem(500, f"the handler of {action.uri_part!r}: {exc}") from None
        if isinstance(outcome, Deferred):
            # ctx.defer() answers on the engine's in topic later (App.reply_later), which
            # Flow cannot hear: a Flow action answers later through WAIT and its callback.
            raise Problem(
                501,
                f"the handler of {action.uri_part!r} deferred its reply (ctx.defer()); as a "
                "Flow action it must answer, and a long one answers WAIT then calls back",
            )
        failure = outcome.failure
        if isinstance(outcome, ErrorReplied) and failure.stage not in _CLIENT_STAGES:
            # A malformed request is the caller's to fix (400), even where the scenario
            # answers failures with an error reply; a failed handler is the rootFaults case.
            return json_response(self.final_answer(action, request, outcome))
        if isinstance(outcome, LeftForRedelivery):
            raise Problem(503, f"the service is stopping; try again ({failure.message})")
        if failure.stage in _CLIENT_STAGES:
            raise Problem(400, failure.message, violations=tuple(failure.violations))
        raise Problem(500, failure.message)  # the gate redacts the request's secrets

    def final_answer(
        self, action: Action, request: dict[str, Any], outcome: Outcome
    ) -> dict[str, Any]:
        """The ServiceResponse that ends the action (what a callback carries, too).

        Raises :class:`OutcomeError` when the reply chose an outcome not declared.
        """
        if isinstance(outcome, Replied):
            outputs = engine_values(action.outputs, outcome.payload or {})
            outcomes = self.outcomes.get(action.uri_part)
            selected = (
                None if outcomes is None else outcomes.select(outcome.payload, action.uri_part)
            )
            return self.service_response(request, outputs=outputs, selected_outcome=selected)
        if isinstance(outcome, ErrorReplied):
            outputs = engine_values(action.outputs, outcome.payload)
            error = str(outcome.payload.get("error", outcome.failure.message))
            error = self.gate.redacted(error)
            return self.service_response(request, outputs=outputs, root_faults={"error": error})
        assert isinstance(outcome, (DeadLettered, LeftForRedelivery))
        error = self.gate.redacted(outcome.failure.message)
        return self.service_response(request, root_faults={"error": error})

    async def aclose(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for WAITing actions; cancel those still running."""
        pending = set(self._background)
        if not pending:
            return
        log.info(
            "waiting for %d running action(s) to finish",
            len(pending),
            extra={"event": "flow.shutdown"},
        )
        _, still = await asyncio.wait(pending, timeout=timeout)
        for task in still:
            log.error(
                "an action still running after %.1fs at shutdown was cancelled; its answer is lost",
                timeout,
                extra={"event": "flow.shutdown.cancelled"},
            )
            task.cancel()


def read_configuration(
    configuration: Configuration | None, gate: Gate, body: Mapping[str, Any]
) -> ConfigurationValues | None:
    """The request's configuration values (``None`` when none are declared); 400 if bad.

    Their secret values are given to the gate, which redacts them from the answer.
    """
    if configuration is None:
        return None
    try:
        values = configuration.read(body)
    except ConfigurationError as exc:
        raise Problem(400, str(exc), violations=exc.violations) from None
    gate.secret(values.secret_values)
    return values


def callback_headers(request: Request, body: Mapping[str, Any]) -> dict[str, str]:
    """The headers of the callback answering ``request``, besides ``Content-Type``.

    ``ManyWhoTenant`` is the request's ``tenantId``; ``Authorization`` is forwarded: the
    request's header, else the ServiceRequest's ``authorization`` field.
    """
    headers: dict[str, str] = {}
    tenant = body.get("tenantId")
    if isinstance(tenant, str) and tenant:
        headers["ManyWhoTenant"] = tenant
    authorization = request.headers.get("authorization") or body.get("authorization")
    if isinstance(authorization, str) and authorization:
        headers["Authorization"] = authorization
    return headers


async def _reported(handling: Awaitable[Outcome], trace: RequestTrace) -> Outcome:
    """The outcome of ``handling``, reported to ``trace`` (a traced action's span ends)."""
    outcome = await handling
    trace.finished(outcome, None)
    return outcome


def _headers(action: Action, body: Mapping[str, Any]) -> dict[str, str]:
    """The headers the pipeline sees for a Flow request (see the module doc)."""
    headers: dict[str, str] = {}
    attributes = body.get("attributes")
    if isinstance(attributes, dict):
        declared = {h.name for h in action.scenario.headers}
        headers.update(
            (key, value)
            for key, value in attributes.items()
            if key in declared and isinstance(value, str)
        )
    state = body.get("stateId")
    tenant = body.get("tenantId")
    if isinstance(state, str) and state:
        headers["flowStateId"] = state
    if isinstance(tenant, str) and tenant:
        headers["flowTenantId"] = tenant
    headers.setdefault(
        PROCESS_INSTANCE_ID, state if isinstance(state, str) and state else str(uuid.uuid4())
    )
    return headers
