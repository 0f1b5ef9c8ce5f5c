# ruff: noqa: D101, D102, PLW0108 - TEMPORARY stand-in, deleted when main has the runtime
"""TEMPORARY: a stand-in for ``flowintegrations.runtime`` until the runtime-core commit lands.

Installed by ``tests/flow/conftest.py`` only when ``flowintegrations.runtime`` cannot be
imported; it implements the announced API (Pipeline, Route, Origin, Outcome, ...) over the
current App. Delete this file once main has the runtime.
"""

from __future__ import annotations

import asyncio
import enum
import sys
import types
from collections.abc import Mapping
from typing import Any

import attrs

from flowintegrations import App, Context, ValidationError
from flowintegrations.validation import Violation, decode_headers, scenario_validators


class Stage(str, enum.Enum):
    HEADERS = "headers"
    DECODE = "decode"
    REQUEST = "request"
    HANDLER = "handler"
    REPLY = "reply"
    INTERNAL = "internal"


@attrs.frozen
class Origin:
    topic: str
    partition: int
    offset: int
    key: bytes | None


@attrs.frozen
class Failure:
    stage: Stage
    error: BaseException
    attempts: int

    @property
    def violations(self) -> tuple[Violation, ...]:
        return getattr(self.error, "violations", ())

    @property
    def message(self) -> str:
        return str(self.error)


@attrs.frozen
class Replied:
    payload: dict[str, Any] | None
    attempts: int


@attrs.frozen
class ErrorReplied:
    payload: dict[str, Any]
    failure: Failure


@attrs.frozen
class DeadLettered:
    failure: Failure


@attrs.frozen
class LeftForRedelivery:
    failure: Failure


@attrs.frozen(eq=False)
class Route:
    integration: Any
    scenario: Any
    registration: Any


class Pipeline:
    def __init__(self, app: App) -> None:
        self.app = app
        self.routes = tuple(
            Route(r.integration, r.scenario, r) for r in app._registrations.values()
        )
        self._validators = {
            id(r): scenario_validators(r.integration, r.scenario) for r in self.routes
        }

    def route(self, scenario: Any) -> Route:
        for r in self.routes:
            if scenario in (r.scenario, r.scenario.identifier):
                return r
        raise LookupError(scenario)

    async def handle(
        self, route: Route, payload: Any, headers: Mapping[str, str], *, origin: Origin
    ) -> Any:
        reg = route.registration
        try:
            decoded = decode_headers(headers.items(), route.scenario.headers)
        except ValidationError as exc:
            return DeadLettered(Failure(Stage.HEADERS, exc, 0))
        request, reply = self._validators[id(route)]
        try:
            request.validate(payload)
        except ValidationError as exc:
            return DeadLettered(Failure(Stage.REQUEST, exc, 0))
        argument = (
            self.app._converter.structure(payload, reg.request_type)
            if reg.request_type
            else payload
        )
        attempt = 0
        while True:
            attempt += 1
            ctx = Context(
                headers=decoded,
                process_instance_id=decoded.get("processInstanceId"),
                integration=route.integration,
                scenario=route.scenario,
                environment=self.app.environment,
                topic=origin.topic,
                partition=origin.partition,
                offset=origin.offset,
                key=origin.key,
                attempt=attempt,
            )
            args = (argument, ctx) if reg.takes_context else (argument,)
            try:
                if reg.is_async:
                    result = await reg.handler(*args)
                else:
                    result = await asyncio.to_thread(reg.handler, *args)
            except Exception as exc:
                if self.app.retry.should_retry(exc, attempt):
                    await asyncio.sleep(self.app.retry.delay(attempt))
                    continue
                failure = Failure(Stage.HANDLER, exc, attempt)
                break
            if result is not None and attrs.has(type(result)):
                result = attrs.asdict(result)
            try:
                if result is not None:
                    reply.validate(result)
            except ValidationError as exc:
                failure = Failure(Stage.REPLY, exc, attempt)
                break
            return Replied(result, attempt)
        if route.scenario.error_reply:
            return ErrorReplied({"error": failure.message}, failure)
        return DeadLettered(failure)


def install() -> None:
    """Put the stand-in in place when the real runtime is missing."""
    try:
        import flowintegrations.runtime  # noqa: F401, PLC0415
    except ImportError:
        module = types.ModuleType("flowintegrations.runtime")
        for name in (
            "Stage",
            "Origin",
            "Failure",
            "Replied",
            "ErrorReplied",
            "DeadLettered",
            "LeftForRedelivery",
            "Route",
            "Pipeline",
        ):
            setattr(module, name, globals()[name])
        module.Outcome = Any  # type: ignore[attr-defined]
        sys.modules["flowintegrations.runtime"] = module
        App.pipeline = property(lambda self: Pipeline(self))  # type: ignore[attr-defined]
