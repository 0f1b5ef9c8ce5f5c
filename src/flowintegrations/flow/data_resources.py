"""Data resources (``/data``): :class:`DataResources`, dispatching on :class:`DataAction`.

``POST /data`` loads, ``PUT /data`` saves and ``POST /data/delete`` deletes objects of a
type, through the handlers registered for it (:mod:`.data` says what a type is and how
ids travel; :mod:`.query` how a Load's list filter is read).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from flowintegrations.errors import HandlerRegistrationError, ValidationError
from flowintegrations.flow.data import (
    DEFAULT_ID_PROPERTY,
    DataHandler,
    DataType,
    FlowRequest,
    page_of,
)
from flowintegrations.flow.echo import culture
from flowintegrations.flow.http import Gate, Problem, json_response
from flowintegrations.flow.query import MAX_PAGE_SIZE, QueryError
from flowintegrations.flow.types import Shape
from flowintegrations.flow.values import FlowValueError
from flowintegrations.model import DataModel, Integration

__all__ = ["DataAction", "DataResources", "RequestHook"]

RequestHook = Callable[[FlowRequest], FlowRequest]
"""What the service does to a :class:`FlowRequest` before a handler sees it."""


class DataAction(enum.Enum):
    """A data action: what a request to ``/data`` asks for."""

    LOAD = "load"
    """``POST /data``: objects matching a list filter, a page at a time."""
    SAVE = "save"
    """``PUT /data``: create or update objects; answers them saved."""
    DELETE = "delete"
    """``POST /data/delete``: delete objects; answers none."""


def type_models(integrations: tuple[Integration, ...]) -> dict[str, tuple[DataModel, Integration]]:
    """Every type by its Flow name (named as :mod:`.types` names definitions)."""
    counts: dict[str, int] = {}
    for integration in integrations:
        for name in integration.definitions:
            counts[name] = counts.get(name, 0) + 1
    found = {}
    for integration in integrations:
        for name, model in integration.definitions.items():
            flow_name = name if counts[name] == 1 else f"{integration.identifier}.{name}"
            found[flow_name] = (model, integration)
    return found


class DataResources:
    """The types with data actions, their handlers, and the ``/data`` endpoints.

    ``integrations`` gives the types (by their Flow names); ``id_properties`` names each
    type's id property (default ``"id"``); ``max_page_size`` caps a Load's ``limit``.
    Handlers are registered with :meth:`register` until :meth:`freeze`.
    """

    def __init__(
        self,
        integrations: Callable[[], tuple[Integration, ...]],
        *,
        gate: Gate,
        id_properties: Mapping[str, str] | None = None,
        max_page_size: int = MAX_PAGE_SIZE,
        prepare: RequestHook | None = None,
    ) -> None:
        self._integrations = integrations
        self.gate = gate
        self.id_properties = dict(id_properties or {})
        self.max_page_size = max_page_size
        self.prepare = prepare
        self.types: dict[str, DataType] = {}
        self.frozen = False

    def type(self, type_name: str) -> DataType:
        """The data type named ``type_name``, made on first use.

        Raises :class:`HandlerRegistrationError` for an unknown type, or once frozen.
        """
        found = self.types.get(type_name)
        if found is None:
            if self.frozen:
                msg = "register data actions before the service serves its first request"
                raise HandlerRegistrationError(msg)
            models = type_models(self._integrations())
            if type_name not in models:
                known = ", ".join(repr(n) for n in models) or "none"
                msg = (
                    f"no type {type_name!r}: a type is a definition of the app's integrations "
                    f"or one of FlowService(types=...) (types: {known})"
                )
                raise HandlerRegistrationError(msg)
            model, integration = models[type_name]
            found = DataType(
                type_name,
                model,
                definitions=integration.definitions,
                enumerations={e.name: e.values for e in integration.enumerations},
                id_property=self.id_properties.get(type_name, DEFAULT_ID_PROPERTY),
            )
            self.types[type_name] = found
        return found

    def register(self, type_name: str, action: DataAction, fn: Any) -> None:
        """Register ``fn`` as the ``action`` handler of ``type_name``.

        Raises :class:`HandlerRegistrationError` once frozen (see :meth:`type`).
        """
        data_type = self.type(type_name)
        if self.frozen:
            msg = "register data actions before the service serves its first request"
            raise HandlerRegistrationError(msg)
        data_type.register(action.value, fn)

    def freeze(self, shapes: Mapping[str, Shape]) -> None:
        """End registration; give each data type its shape (from the built types)."""
        self.frozen = True
        for name, data_type in self.types.items():
            data_type.shape = shapes[name]

    @property
    def bound(self) -> list[str]:
        """The names of the types with at least one handler."""
        return [name for name, t in self.types.items() if t.handled]

    def routes(self) -> list[Route]:
        """The Starlette routes of the data actions (relative to the service's path)."""
        return [
            Route("/data", self.gate.guard(self.load), methods=["POST"]),
            Route("/data", self.gate.guard(self.save), methods=["PUT"]),
            Route("/data/delete", self.gate.guard(self.delete), methods=["POST"]),
        ]

    async def load(self, request: Request) -> Response:
        """``POST /data``."""
        return await self.run(request, DataAction.LOAD)

    async def save(self, request: Request) -> Response:
        """``PUT /data``."""
        return await self.run(request, DataAction.SAVE)

    async def delete(self, request: Request) -> Response:
        """``POST /data/delete``."""
        return await self.run(request, DataAction.DELETE)

    def _handled_type(
        self, body: dict[str, Any], action: DataAction
    ) -> tuple[DataType, DataHandler]:
        described = body.get("objectDataType")
        name = described.get("developerName") if isinstance(described, dict) else None
        if not isinstance(name, str):
            raise Problem(400, "objectDataType.developerName (the type) is missing")
        data_type = self.types.get(name)
        handler = getattr(data_type, action.value) if data_type is not None else None
        if data_type is None or handler is None:
            known = ", ".join(sorted(n for n, t in self.types.items() if getattr(t, action.value)))
            raise Problem(
                404, f"no {action.value} for type {name[:100]!r} (types: {known or 'none'})"
            )
        return data_type, handler

    async def run(self, request: Request, action: DataAction) -> Response:
        """Read the request, call the type's ``action`` handler, answer its objects."""
        body, surrogates = await self.gate.read(request)
        data_type, handler = self._handled_type(body, action)
        flow_request = FlowRequest.from_body(data_type.name, body)
        if self.prepare is not None:
            flow_request = self.prepare(flow_request)
        more = False
        try:
            if action is DataAction.LOAD:
                query = data_type.query(body.get("listFilter"), max_limit=self.max_page_size)
                page = page_of(await handler(query, flow_request), query)
                rows: Any = page.objects
                more = page.more
                token = page.offset_token
            else:
                token = None
                objects = data_type.read_objects(
                    body.get("objectData"),
                    check_unicode=surrogates,
                    validate=action is DataAction.SAVE,
                )
                result = await handler(objects, flow_request)
                rows = () if action is DataAction.DELETE else (result or ())
        except (QueryError, FlowValueError) as exc:
            raise Problem(400, str(exc), violations=exc.violations) from None
        except ValidationError as exc:
            if exc.subject != "objects":
                raise
            raise Problem(400, str(exc), violations=exc.violations) from None
        try:
            answer = data_type.answer_objects(rows, f"{action.value} result")
        except (ValidationError, FlowValueError) as exc:
            # The handler's rows break the type: its bug, never sent to Flow.
            raise Problem(500, f"the {action.value} handler answered {exc}") from None
        found: dict[str, Any] = {
            "objectData": answer,
            "hasMoreResults": more,
            "culture": culture(body.get("culture")),
        }
        if token is not None:
            found["offsetToken"] = token
        return json_response(found)
