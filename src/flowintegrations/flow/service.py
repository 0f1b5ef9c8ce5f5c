"""The App's scenarios served to Boomi Flow over HTTP: :class:`FlowService`.

An ASGI application (Starlette underneath; uvicorn or any ASGI server runs it) speaking
Flow's External Service API (``FLOW-SERVICES.md``), under ``path`` (the "Path to Service").
It is a small app of parts, each a module of its own:

``POST /metadata``, ``POST /metadata/install``
    The describe answer: one message action per handled scenario, and the types.
``POST /actions/{uriPart}``
    Message actions (:mod:`.actions`): run through the App's handling pipeline.
``POST /data`` (Load), ``PUT /data`` (Save), ``POST /data/delete`` (Delete)
    Data resources (:mod:`.data_resources`), through the handlers registered with
    :meth:`FlowService.load`, :meth:`~FlowService.save` and :meth:`~FlowService.delete`.
``POST /file`` (list), ``POST /file/content`` (upload, multipart)
    File resources (:mod:`.file_resources`), through :meth:`FlowService.list_files` and
    :meth:`~FlowService.upload_file`.
``GET /health``
    200 ``{"status": "ok"}``; the only endpoint that needs no credentials.

Authentication, body limits and problem answers (any other path a 404, a wrong method a
405, each Flow's JSON problem) are the :class:`~.http.Gate`'s, shared by every part.
Settings (:mod:`.configuration`) and action outcomes (:mod:`.outcomes`) are declared on
the service. The service is built once (:meth:`FlowService.build`): at the start of the
ASGI lifespan, or at the first request or the first look at :attr:`~FlowService.actions`;
registration ends there. Its shutdown (the lifespan's end, :meth:`FlowService.aclose`)
waits for WAITing actions and closes the pipeline.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from typing import Any, TypeVar

import attrs
import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Router
from starlette.routing import Route as HttpRoute
from starlette.types import Receive, Scope, Send

from flowintegrations.app import App
from flowintegrations.errors import HandlerRegistrationError
from flowintegrations.flow.actions import MessageActions, read_configuration
from flowintegrations.flow.callbacks import CallbackSender, UndeliveredCallback
from flowintegrations.flow.configuration import Configuration
from flowintegrations.flow.data import FlowRequest
from flowintegrations.flow.data_resources import DataAction, DataResources
from flowintegrations.flow.describe import describe_answer
from flowintegrations.flow.echo import culture
from flowintegrations.flow.file_resources import DEFAULT_MAX_UPLOAD_BYTES, FileResources
from flowintegrations.flow.http import (
    DEFAULT_MAX_BODY_BYTES,
    PROBLEM_KIND_HEADER,
    Gate,
    json_response,
)
from flowintegrations.flow.openapi import openapi_document
from flowintegrations.flow.outcomes import Outcomes
from flowintegrations.flow.query import MAX_PAGE_SIZE
from flowintegrations.flow.types import Action, Shape, build_actions
from flowintegrations.model import DataModel, Integration
from flowintegrations.retry import Retry
from flowintegrations.runtime import Pipeline, Route
from flowintegrations.vocabulary import REDACTED

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_UPLOAD_BYTES",
    "PROBLEM_KIND_HEADER",
    "SERVICE_TYPES",
    "FlowService",
]

_F = TypeVar("_F", bound=Callable[..., Any])

SERVICE_TYPES = "service"
"""The identifier of the integration that holds the types declared for a service."""


@attrs.frozen
class _Built:
    """What :meth:`FlowService.build` makes: the served actions, types and the ASGI app."""

    pipeline: Pipeline | None
    actions: MessageActions
    types: tuple[Shape, ...]
    describe: dict[str, Any]
    asgi: Starlette


class FlowService:
    """The App's integrations served as one Boomi Flow service (an ASGI application).

    ``app`` is the :class:`~flowintegrations.App` whose handlers become message actions;
    ``path`` the "Path to Service" every endpoint is under (``""`` or ``/fs/name``).
    ``username`` and ``token``, when set, are the basic-auth credentials Flow must send
    (compared in constant time; the token is never logged or shown in a repr).
    ``sync_timeout`` is how long an action may run before Flow is told to WAIT;
    ``max_body_bytes`` caps request bodies; a STRING property whose name is in
    ``date_time_properties`` travels as ``ContentDateTime``. ``callback_attempts``,
    ``callback_backoff`` and ``callback_timeout`` govern delivering a WAITing action's
    final answer (``callback_retry``, a :class:`~flowintegrations.Retry`, replaces the first
    two; ``callback_transport`` replaces httpx's network transport, for tests);
    ``shutdown_timeout`` bounds how long closing waits for actions still running.

    Data actions and files (:mod:`flowintegrations.flow.data`): ``types`` declares named
    models for the service beside the integrations' definitions; ``id_properties`` names
    the property holding a type's externalId (default ``"id"``); ``max_page_size`` caps a
    Load's ``limit``; ``max_upload_bytes`` caps an uploaded file (413 past it).

    Settings (:mod:`flowintegrations.flow.configuration`): ``configuration`` declares the
    values the Flow builder fills in when installing the service (each top-level property
    one setting); every request's are checked against it and handed to handlers
    (``ctx.configuration``, ``request.configuration_values``). A property named in
    ``secret_configuration``, or whose name contains ``password`` or ``secret``, is a
    ``ContentPassword`` whose value is never shown.

    Outcomes (:mod:`flowintegrations.flow.outcomes`): ``outcomes`` maps an action (its
    scenario identifier or uriPart) to the :class:`~flowintegrations.flow.Outcomes` it
    declares; its reply chooses one, answered as ``selectedOutcomeId``.
    """

    def __init__(
        self,
        app: App,
        *,
        path: str = "",
        username: str | None = None,
        token: str | None = None,
        sync_timeout: float = 25.0,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        date_time_properties: Collection[str] = (),
        wait_message: str = "The action is still running; its result will follow.",
        callback_attempts: int = 5,
        callback_backoff: float = 0.5,
        callback_timeout: float = 10.0,
        callback_transport: httpx.AsyncBaseTransport | None = None,
        callback_retry: Retry | None = None,
        shutdown_timeout: float = 30.0,
        types: Mapping[str, DataModel] | None = None,
        id_properties: Mapping[str, str] | None = None,
        max_page_size: int = MAX_PAGE_SIZE,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
        configuration: DataModel | None = None,
        secret_configuration: Collection[str] = (),
        outcomes: Mapping[str, Outcomes] | None = None,
    ) -> None:
        _check_path(path)
        _check_credentials(username, token)
        if sync_timeout <= 0 or max_body_bytes <= 0:
            msg = "sync_timeout and max_body_bytes must be positive"
            raise ValueError(msg)
        self.app = app
        self.path = path
        self.username = username
        self._token = token
        self.sync_timeout = sync_timeout
        self.max_body_bytes = max_body_bytes
        self.date_time_properties = frozenset(date_time_properties)
        self.wait_message = wait_message
        self.shutdown_timeout = shutdown_timeout
        self.callbacks = CallbackSender(
            attempts=callback_attempts,
            backoff=callback_backoff,
            timeout=callback_timeout,
            transport=callback_transport,
            retry=callback_retry,
        )
        self.max_page_size = max_page_size
        self.max_upload_bytes = max_upload_bytes
        self.id_properties = dict(id_properties or {})
        self._declared = (
            Integration("Service types", SERVICE_TYPES, definitions=dict(types)) if types else None
        )
        self.configuration = (
            None if configuration is None else Configuration(configuration, secret_configuration)
        )
        self.outcomes = dict(outcomes or {})
        self._gate = Gate(username=username, token=token, max_body_bytes=max_body_bytes)
        self._data = DataResources(
            self._integrations,
            gate=self._gate,
            id_properties=id_properties,
            max_page_size=max_page_size,
            prepare=self._configured,
        )
        self._files = FileResources(
            gate=self._gate,
            max_page_size=max_page_size,
            max_upload_bytes=max_upload_bytes,
            prepare=self._configured,
        )
        self._built: _Built | None = None
        self._started = False
        self._actions_prefix = f"{path}/actions/"
        self._lifespan_router = Router(lifespan=self._lifespan)

    def __repr__(self) -> str:
        token = None if self._token is None else REDACTED
        actions = "<not built>" if self._built is None else sorted(self._built.actions.actions)
        return (
            f"FlowService(path={self.path!r}, actions={actions!r}, "
            f"username={self.username!r}, token={token!r})"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection (HTTP requests and the lifespan)."""
        if scope["type"] == "lifespan":
            await self._lifespan_router(scope, receive, send)
            return
        built = self._start()
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].startswith(self._actions_prefix)
            and len(scope["path"]) > len(self._actions_prefix)
        ):
            # Message actions, Flow's hot path, skip the router: the gate already turns every
            # failure into a JSON answer, which is what Starlette's middleware is for.
            uri_part = scope["path"][len(self._actions_prefix) :]
            response = await built.actions.answer(Request(scope, receive), uri_part)
            await response(scope, receive, send)
            return
        await built.asgi(scope, receive, send)

    # Serving options --------------------------------------------------------------------

    @property
    def requires_credentials(self) -> bool:
        """Whether requests must carry credentials (a username and token are set)."""
        return not self._gate.open

    def configure(
        self, *, path: str | None = None, username: str | None = None, token: str | None = None
    ) -> None:
        """Set the path and credentials a server was given (``flowintegrations serve``).

        ``None`` leaves a setting as it is. A setting the service already has with another
        value raises ``ValueError`` naming it (never showing a token), as do a bad path and
        a username without a token; once built, a new path or new credentials raise
        :class:`~flowintegrations.errors.HandlerRegistrationError`.
        """
        new_path = self.path if path is None else path
        new_username = self.username if username is None else username
        new_token = self._token if token is None else token
        if (new_path, new_username, new_token) == (self.path, self.username, self._token):
            return
        if self._built is not None:
            msg = "set the path and credentials before the service serves its first request"
            raise HandlerRegistrationError(msg)
        if self.path and new_path != self.path:
            msg = f"the path {new_path!r} conflicts with the service's own {self.path!r}"
            raise ValueError(msg)
        if self.username is not None and new_username != self.username:
            msg = (
                f"the username {new_username!r} conflicts with the service's own {self.username!r}"
            )
            raise ValueError(msg)
        if self._token is not None and new_token != self._token:
            msg = "the token given conflicts with the one the service sets"
            raise ValueError(msg)
        _check_path(new_path)
        _check_credentials(new_username, new_token)
        self.path, self.username, self._token = new_path, new_username, new_token
        self._actions_prefix = f"{new_path}/actions/"
        self._gate.credentials(new_username, new_token)

    # Building ---------------------------------------------------------------------------

    def build(self) -> None:
        """Build what is served from what is registered; registration ends here.

        Called at the start of the ASGI lifespan (or by the first request, or by a look at
        :attr:`actions`, :meth:`describe` or :meth:`endpoints`); calling it again does
        nothing. Raises :class:`~flowintegrations.errors.HandlerRegistrationError` when
        nothing is served (no handler, no data action, no file handler).
        """
        if self._built is None:
            self._built = self._build()

    def _build(self) -> _Built:
        try:
            pipeline: Pipeline | None = self.app.pipeline
        except HandlerRegistrationError:
            if not (self._data.types or self._files.served):
                raise
            pipeline = None  # data actions or files only: no message actions
        routes: tuple[Route, ...] = () if pipeline is None else tuple(pipeline.routes)
        actions, types = build_actions(
            [(r.integration, r.scenario) for r in routes],
            integrations=self._integrations(),
            date_time_properties=self.date_time_properties,
        )
        self._data.freeze({shape.type_name: shape for shape in types})
        message_actions = MessageActions(
            pipeline,
            {a.uri_part: (a, r) for a, r in zip(actions, routes, strict=True)},
            gate=self._gate,
            callbacks=self.callbacks,
            sync_timeout=self.sync_timeout,
            wait_message=self.wait_message,
            telemetry=self.app.telemetry,
            configuration=self.configuration,
            outcomes=self._action_outcomes(actions),
        )
        describe = describe_answer(actions, types, bound=self._data.bound, files=self._files.served)
        if self.configuration is not None:
            describe["configurationValues"] = self.configuration.describe()
        for described in describe["actions"]:
            uri_part = described["uriPart"].removeprefix("actions/")
            chosen = message_actions.outcomes.get(uri_part)
            if chosen is not None:
                described["serviceActionOutcomes"] = chosen.describe(uri_part)
        gate = self._gate
        served: list[BaseRoute] = [
            HttpRoute("/metadata", gate.guard(self._describe_answer), methods=["POST"]),
            HttpRoute("/metadata/install", gate.guard(self._describe_answer), methods=["POST"]),
            HttpRoute("/openapi.json", gate.guard(self._openapi), methods=["GET"]),
            HttpRoute("/actions/{uri_part:path}", self._action, methods=["POST"]),
            *self._data.routes(),
            *self._files.routes(),
            HttpRoute("/health", _health, methods=["GET"]),
        ]
        asgi = Starlette(
            routes=[Mount(self.path, routes=served)],
            exception_handlers={HTTPException: gate.http_exception},
        )
        return _Built(pipeline, message_actions, types, describe, asgi)

    def _start(self) -> _Built:
        """Build if needed, and take the pipeline into use (once, until :meth:`aclose`)."""
        self.build()
        built = self._built
        assert built is not None
        if not self._started:
            self._started = True
            if built.pipeline is not None:
                built.pipeline.start()
        return built

    def _action_outcomes(self, actions: tuple[Action, ...]) -> dict[str, Outcomes]:
        """``outcomes`` keyed by uriPart (each key a uriPart or a scenario identifier)."""
        found: dict[str, Outcomes] = {}
        for key, outcomes in self.outcomes.items():
            matches = [a for a in actions if a.uri_part == key] or [
                a for a in actions if a.scenario.identifier == key
            ]
            if len(matches) != 1:
                known = ", ".join(a.uri_part for a in actions) or "none"
                what = "no action" if not matches else "more than one action"
                msg = f"outcomes for {key!r}: {what} is called that (actions: {known})"
                raise HandlerRegistrationError(msg)
            (action,) = matches
            outcomes.check(action.scenario)
            found[action.uri_part] = outcomes
        return found

    def _configured(self, request: FlowRequest) -> FlowRequest:
        """A data or file request with its configuration values read (400 when bad)."""
        values = read_configuration(self.configuration, self._gate, request.body)
        if values is None:
            return request
        return attrs.evolve(request, configuration_values=values)

    def _integrations(self) -> tuple[Integration, ...]:
        declared = (self._declared,) if self._declared is not None else ()
        return (*self.app.integrations, *declared)

    # Registering data actions and file handlers -----------------------------------------

    def _registrar(self, type_name: str, action: DataAction) -> Callable[[_F], _F]:
        self._data.type(type_name)  # an unknown type fails here, at the decorator

        def register(fn: _F) -> _F:
            self._data.register(type_name, action, fn)
            return fn

        return register

    def load(self, type_name: str) -> Callable[[_F], _F]:
        """Register the Load handler of ``type_name``: ``fn(query[, request]) -> Page | rows``.

        ``query`` is a :class:`~flowintegrations.flow.Query` (``query.apply(rows)`` filters,
        sorts and pages a list of dicts); the handler returns a
        :class:`~flowintegrations.flow.Page` or rows (dicts); more than ``query.limit`` rows
        mean there are more. Raises ``HandlerRegistrationError`` for an unknown type, a type
        without its id property, a second Load, or a bad signature.
        """
        return self._registrar(type_name, DataAction.LOAD)

    def save(self, type_name: str) -> Callable[[_F], _F]:
        """Register the Save handler of ``type_name``: ``fn(objects[, request]) -> rows``.

        ``objects`` are validated :class:`~flowintegrations.flow.FlowObject` s (an
        ``external_id`` of ``None`` is a new object); the handler returns them saved: dicts
        whose id property is set, or FlowObjects.
        """
        return self._registrar(type_name, DataAction.SAVE)

    def delete(self, type_name: str) -> Callable[[_F], _F]:
        """Register the Delete handler of ``type_name``: ``fn(objects[, request]) -> None``."""
        return self._registrar(type_name, DataAction.DELETE)

    def list_files(self, fn: _F) -> _F:
        """Register ``fn(request) -> Iterable[FileInfo]``, the files of ``request``'s path.

        The service filters, orders and pages them by the request's list filter.
        """
        self._files.register_list(fn)
        return fn

    def upload_file(self, fn: _F) -> _F:
        """Register ``fn(upload[, request]) -> FileInfo``, storing an :class:`Upload`."""
        self._files.register_upload(fn)
        return fn

    # What is served ---------------------------------------------------------------------

    @property
    def data_types(self) -> tuple[str, ...]:
        """The names of the types with data actions."""
        return tuple(self._data.types)

    @property
    def actions(self) -> tuple[Action, ...]:
        """The message actions served, one per handled scenario (builds the service)."""
        self.build()
        assert self._built is not None
        return tuple(action for action, _ in self._built.actions.actions.values())

    def endpoints(self) -> list[tuple[str, str]]:
        """Every (method, path) served, actions included, for listings and start lines."""
        served = [
            ("POST", f"{self.path}/metadata"),
            ("POST", f"{self.path}/metadata/install"),
            *(("POST", f"{self.path}/actions/{a.uri_part}") for a in self.actions),
        ]
        if self._data.types:
            served += [
                ("POST", f"{self.path}/data"),
                ("PUT", f"{self.path}/data"),
                ("POST", f"{self.path}/data/delete"),
            ]
        if self._files.list_handler:
            served.append(("POST", f"{self.path}/file"))
        if self._files.upload_handler:
            served.append(("POST", f"{self.path}/file/content"))
        served.append(("GET", f"{self.path}/health"))
        return served

    def describe(self) -> dict[str, Any]:
        """The describe answer (as ``/metadata`` sends it, without culture and uri)."""
        self.build()
        assert self._built is not None
        return self._built.describe

    @property
    def undelivered_callbacks(self) -> tuple[UndeliveredCallback, ...]:
        """Final answers of WAITing actions that could not be delivered (newest last)."""
        return tuple(self.callbacks.undelivered)

    @property
    def running(self) -> int:
        """How many WAITing actions are still running (or delivering their answer)."""
        return 0 if self._built is None else self._built.actions.running

    # Lifecycle --------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _lifespan(self, _: object) -> AsyncIterator[None]:
        self._start()
        try:
            yield
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Stop: refuse new requests, let WAITing actions finish, close what was opened.

        From the start of closing, a request is answered 503 (``the service is stopping``)
        and the pipeline handles this service's requests as stopping: a handler's failed try
        is not retried (a 503, or a callback with ``rootFaults``). Waits up to
        ``shutdown_timeout`` for running actions and the delivery of their answers; then
        closes the callback client and lets the pipeline's worker threads go. Idempotent;
        the ASGI lifespan calls it at shutdown. Afterwards the service may serve again (the
        next request starts it).
        """
        built = self._built
        pipeline = None if built is None else built.pipeline
        # The gate answers new requests 503; the actions hand the pipeline the same flag
        # (its `stopping`), so that only this service's requests stop retrying, not those
        # of an App that shares the pipeline on Kafka.
        self._gate.stopping = True
        try:
            if built is not None:
                await built.actions.aclose(self.shutdown_timeout)
            await self.callbacks.aclose()
        finally:
            self._gate.stopping = False
            if self._started:
                self._started = False
                if pipeline is not None:
                    pipeline.close()

    # Endpoints --------------------------------------------------------------------------

    async def _openapi(self, request: Request) -> Response:
        """``GET /openapi.json``: the service's OpenAPI document (behind the same auth)."""
        return json_response(openapi_document(self, credentials=self.requires_credentials))

    async def _describe_answer(self, request: Request) -> Response:
        body, _ = await self._gate.read(request)
        answer = dict(self.describe())
        answer["culture"] = culture(body.get("culture"))
        uri = body.get("uri")
        answer["uri"] = uri if isinstance(uri, str) else None
        return json_response(answer)

    async def _action(self, request: Request) -> Response:
        built = self._start()
        return await built.actions.answer(request, request.path_params["uri_part"])


def _check_path(path: str) -> None:
    if path and (not path.startswith("/") or path.endswith("/")):
        msg = f"path must be empty or start with '/' and not end with one, got {path!r}"
        raise ValueError(msg)


def _check_credentials(username: str | None, token: str | None) -> None:
    if token is not None and not token:
        msg = "token must not be empty; pass None to serve without authentication"
        raise ValueError(msg)
    if username is not None and token is None:
        # Basic auth would then take the username with an empty password.
        msg = f"the username {username!r} needs a token: Flow sends both"
        raise ValueError(msg)


async def _health(request: Request) -> Response:
    return json_response({"status": "ok"})
