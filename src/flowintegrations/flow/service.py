"""The App's scenarios served to Boomi Flow over HTTP: :class:`FlowService`.

An ASGI application (Starlette underneath; uvicorn or any ASGI server runs it) speaking
Flow's External Service API (``FLOW-SERVICES.md``), under ``path`` (the "Path to Service"):

``POST /metadata``, ``POST /metadata/install``
    The describe answer: one message action per handled scenario, and the types.
``POST /actions/{uriPart}``
    Run a message action through the App's handling pipeline, the same one Kafka messages
    take: the request is validated, the handler called (retried per ``app.retry``), its
    reply validated. Answers ``FORWARD`` with the outputs, or ``WAIT`` when the handler is
    still running after ``sync_timeout`` seconds (the final answer then goes to the
    request's ``callbackUri``).
``POST /data`` (Load), ``PUT /data`` (Save), ``POST /data/delete`` (Delete)
    Data actions on a type, through the handlers registered with :meth:`FlowService.load`,
    :meth:`~FlowService.save` and :meth:`~FlowService.delete` (:mod:`.data`, :mod:`.query`).
``POST /file`` (list), ``POST /file/content`` (upload, multipart)
    File resources, through :meth:`FlowService.list_files` and
    :meth:`~FlowService.upload_file` (:mod:`.files`).
``GET /health``
    200 ``{"status": "ok"}``; the only endpoint that needs no credentials.

Answers to what goes wrong: bad credentials 401 (with ``WWW-Authenticate: Basic``), a body
over ``max_body_bytes`` 413, malformed JSON or values or a request the model rejects 400
with every problem and its path, an unknown action 404, a handler that still fails after
its retries 500 with Flow's problem body and ``X-ManyWho-Service-Problem-Kind: service``
(or, for a scenario with ``error_reply=True``, 200 with the error in ``rootFaults``), a
pipeline that is stopping 503. No answer carries a traceback.

Headers: the pipeline checks the scenario's mandatory headers. ``processInstanceId`` is the
request's ``stateId`` (the Flow state plays the process instance), or a fresh UUID when
there is none; ``flowStateId`` and ``flowTenantId`` carry the state and tenant when given;
a request ``attributes`` entry named like one of the scenario's declared headers becomes
that header.

Why one module of this size: it is the one ASGI application and every endpoint of the Flow
protocol shares its authentication, body reading, problem answers and lifecycle; the
value conversion, describe, query, callbacks and types live in their own modules. The data
and file endpoints are the candidates to move out next (a mixin per resource kind).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import itertools
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as HttpRoute
from starlette.types import Receive, Scope, Send

from flowintegrations.app import App
from flowintegrations.codec import JsonCodec
from flowintegrations.errors import CodecError, HandlerRegistrationError, ValidationError
from flowintegrations.flow.callbacks import CallbackSender, UndeliveredCallback
from flowintegrations.flow.data import (
    DEFAULT_ID_PROPERTY,
    DataHandler,
    DataType,
    FlowRequest,
    page_of,
)
from flowintegrations.flow.describe import describe_answer
from flowintegrations.flow.files import (
    FILE_SHAPE,
    FILE_TYPE,
    FileInfo,
    UploadError,
    UploadTooLarge,
    read_upload,
)
from flowintegrations.flow.query import MAX_PAGE_SIZE, Query, QueryError
from flowintegrations.flow.types import Action, Shape, build_actions
from flowintegrations.flow.values import (
    FlowValueError,
    engine_values,
    object_data,
    payload_from_values,
)
from flowintegrations.model import DataModel, Integration, PropertyType
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
from flowintegrations.validation import Violation
from flowintegrations.vocabulary import PROCESS_INSTANCE_ID, REDACTED, redact

if TYPE_CHECKING:
    from flowintegrations.runtime.telemetry import RequestTrace

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_UPLOAD_BYTES",
    "PROBLEM_KIND_HEADER",
    "SERVICE_TYPES",
    "FlowService",
]

log = logging.getLogger("flowintegrations.flow")

_F = TypeVar("_F", bound=Callable[..., Any])

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
"""The largest request body a service reads by default (4 MiB)."""

DEFAULT_MAX_UPLOAD_BYTES = 16 * 1024 * 1024
"""The largest file an upload may carry by default (16 MiB)."""

SERVICE_TYPES = "service"
"""The identifier of the integration that holds the types declared for a service."""

PROBLEM_KIND_HEADER = "X-ManyWho-Service-Problem-Kind"
"""The header Flow reads to tell a service failure from other errors."""

_CLIENT_STAGES = frozenset({Stage.HEADERS, Stage.DECODE, Stage.REQUEST})
_JSON_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


class _Problem(Exception):  # noqa: N818 - an answer, not an error
    """An answer other than 200, raised deep in a request to the one place that sends it."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        violations: tuple[Violation, ...] = (),
        kind: str = "api",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.violations = violations
        self.kind = kind
        self.headers = dict(headers or {})


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    # ASCII escapes: a hostile lone surrogate in a value cannot break encoding the answer.
    return Response(
        _JSON_ENCODER.encode(body).encode("ascii"),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


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
    final answer (``callback_transport`` replaces httpx's network transport, for tests);
    ``shutdown_timeout`` bounds how long closing waits for actions still running.

    Data actions and files (:mod:`flowintegrations.flow.data`): ``types`` declares named
    models for the service beside the integrations' definitions; ``id_properties`` names
    the property holding a type's externalId (default ``"id"``); ``max_page_size`` caps a
    Load's ``limit``; ``max_upload_bytes`` caps an uploaded file (413 past it).
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
        shutdown_timeout: float = 30.0,
        types: Mapping[str, DataModel] | None = None,
        id_properties: Mapping[str, str] | None = None,
        max_page_size: int = MAX_PAGE_SIZE,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    ) -> None:
        if path and (not path.startswith("/") or path.endswith("/")):
            msg = f"path must be empty or start with '/' and not end with one, got {path!r}"
            raise ValueError(msg)
        if sync_timeout <= 0 or max_body_bytes <= 0:
            msg = "sync_timeout and max_body_bytes must be positive"
            raise ValueError(msg)
        if token is not None and not token:
            msg = "token must not be empty; pass None to serve without authentication"
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
        )
        self._codec = JsonCodec(max_bytes=max_body_bytes)
        self._pipeline: Pipeline | None = None
        self._actions: dict[str, tuple[Action, Route]] | None = None
        self._types: tuple[Shape, ...] = ()
        self._describe: dict[str, Any] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._offsets = itertools.count()
        self._actions_prefix = f"{path}/actions/"
        self.max_page_size = max_page_size
        self.max_upload_bytes = max_upload_bytes
        self.id_properties = dict(id_properties or {})
        self._declared = (
            Integration("Service types", SERVICE_TYPES, definitions=dict(types)) if types else None
        )
        self._data: dict[str, DataType] = {}
        self._list_files: DataHandler | None = None
        self._upload_file: DataHandler | None = None
        self._asgi = Starlette(
            routes=[
                HttpRoute(f"{path}/metadata", self._metadata, methods=["POST"]),
                HttpRoute(f"{path}/metadata/install", self._metadata, methods=["POST"]),
                HttpRoute(f"{path}/actions/{{uri_part:path}}", self._action, methods=["POST"]),
                HttpRoute(f"{path}/data", self._data_load, methods=["POST"]),
                HttpRoute(f"{path}/data", self._data_save, methods=["PUT"]),
                HttpRoute(f"{path}/data/delete", self._data_delete, methods=["POST"]),
                HttpRoute(f"{path}/file", self._files_list, methods=["POST"]),
                HttpRoute(f"{path}/file/content", self._files_upload, methods=["POST"]),
                HttpRoute(f"{path}/health", self._health, methods=["GET"]),
            ],
            lifespan=self._lifespan,
        )

    def __repr__(self) -> str:
        token = None if self._token is None else REDACTED
        return (
            f"FlowService(path={self.path!r}, actions={sorted(self._routes())!r}, "
            f"username={self.username!r}, token={token!r})"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection (HTTP requests and the lifespan)."""
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].startswith(self._actions_prefix)
            and len(scope["path"]) > len(self._actions_prefix)
        ):
            # Message actions, Flow's hot path, skip the router: _answer already turns every
            # failure into a JSON answer, which is what Starlette's middleware is for.
            request = Request(scope, receive)
            uri_part = scope["path"][len(self._actions_prefix) :]
            response = await self._answer(request, lambda r: self._run_action(r, uri_part))
            await response(scope, receive, send)
            return
        await self._asgi(scope, receive, send)

    # What is served ---------------------------------------------------------------------

    def _routes(self) -> dict[str, tuple[Action, Route]]:
        if self._actions is None:
            try:
                pipeline: Pipeline | None = self.app.pipeline
            except HandlerRegistrationError:
                if not (self._data or self._list_files or self._upload_file):
                    raise
                pipeline = None  # data actions or files only: no message actions
            routes: tuple[Route, ...] = ()
            if pipeline is not None:
                pipeline.start()
                routes = tuple(pipeline.routes)
            actions, self._types = build_actions(
                [(r.integration, r.scenario) for r in routes],
                integrations=self._integrations(),
                date_time_properties=self.date_time_properties,
            )
            shapes = {shape.type_name: shape for shape in self._types}
            for name, data_type in self._data.items():
                data_type.shape = shapes[name]
            self._pipeline = pipeline
            self._actions = {a.uri_part: (a, r) for a, r in zip(actions, routes, strict=True)}
        return self._actions

    def _integrations(self) -> tuple[Integration, ...]:
        declared = (self._declared,) if self._declared is not None else ()
        return (*self.app.integrations, *declared)

    def _type_models(self) -> dict[str, tuple[DataModel, Integration]]:
        """Every type by its Flow name (named as :mod:`.types` names definitions)."""
        integrations = self._integrations()
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

    # Registering data actions and file handlers -----------------------------------------

    def _data_type(self, type_name: str) -> DataType:
        found = self._data.get(type_name)
        if found is None:
            if self._actions is not None:
                msg = "register data actions before the service serves its first request"
                raise HandlerRegistrationError(msg)
            models = self._type_models()
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
            self._data[type_name] = found
        return found

    def _registrar(self, type_name: str, action: str) -> Callable[[_F], _F]:
        data_type = self._data_type(type_name)

        def register(fn: _F) -> _F:
            data_type.register(action, fn)
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
        return self._registrar(type_name, "load")

    def save(self, type_name: str) -> Callable[[_F], _F]:
        """Register the Save handler of ``type_name``: ``fn(objects[, request]) -> rows``.

        ``objects`` are validated :class:`~flowintegrations.flow.FlowObject` s (an
        ``external_id`` of ``None`` is a new object); the handler returns them saved: dicts
        whose id property is set, or FlowObjects.
        """
        return self._registrar(type_name, "save")

    def delete(self, type_name: str) -> Callable[[_F], _F]:
        """Register the Delete handler of ``type_name``: ``fn(objects[, request]) -> None``."""
        return self._registrar(type_name, "delete")

    def list_files(self, fn: _F) -> _F:
        """Register ``fn(request) -> Iterable[FileInfo]``, the files of ``request``'s path.

        The service filters, orders and pages them by the request's list filter.
        """
        if self._list_files is not None:
            raise HandlerRegistrationError("the service already has a list_files handler")
        self._list_files = DataHandler.of(fn, "list_files")
        return fn

    def upload_file(self, fn: _F) -> _F:
        """Register ``fn(upload[, request]) -> FileInfo``, storing an :class:`Upload`."""
        if self._upload_file is not None:
            raise HandlerRegistrationError("the service already has an upload_file handler")
        self._upload_file = DataHandler.of(fn, "upload_file")
        return fn

    @property
    def data_types(self) -> tuple[str, ...]:
        """The names of the types with data actions."""
        return tuple(self._data)

    @property
    def actions(self) -> tuple[Action, ...]:
        """The message actions served, one per handled scenario (built on first use)."""
        return tuple(action for action, _ in self._routes().values())

    def endpoints(self) -> list[tuple[str, str]]:
        """Every (method, path) served, actions included, for listings and start lines."""
        served = [
            ("POST", f"{self.path}/metadata"),
            ("POST", f"{self.path}/metadata/install"),
            *(("POST", f"{self.path}/actions/{uri}") for uri in self._routes()),
        ]
        if self._data:
            served += [
                ("POST", f"{self.path}/data"),
                ("PUT", f"{self.path}/data"),
                ("POST", f"{self.path}/data/delete"),
            ]
        if self._list_files:
            served.append(("POST", f"{self.path}/file"))
        if self._upload_file:
            served.append(("POST", f"{self.path}/file/content"))
        served.append(("GET", f"{self.path}/health"))
        return served

    def describe(self) -> dict[str, Any]:
        """The describe answer (as ``/metadata`` sends it, without culture and uri)."""
        if self._describe is None:
            self._routes()
            self._describe = describe_answer(
                self.actions,
                self._types,
                bound=[name for name, t in self._data.items() if t.handled],
                files=bool(self._list_files or self._upload_file),
            )
        return self._describe

    @property
    def undelivered_callbacks(self) -> tuple[UndeliveredCallback, ...]:
        """Final answers of WAITing actions that could not be delivered (newest last)."""
        return tuple(self.callbacks.undelivered)

    @property
    def running(self) -> int:
        """How many WAITing actions are still running (or delivering their answer)."""
        return len(self._background)

    # Lifecycle --------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _lifespan(self, _: Starlette) -> AsyncIterator[None]:
        self._routes()
        try:
            yield
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Let WAITing actions finish, then close the callback client and the pipeline.

        Waits up to ``shutdown_timeout`` for running actions and the delivery of their
        answers; then lets the pipeline's worker threads go (the next request starts them
        again). Idempotent; the ASGI lifespan calls it at shutdown.
        """
        pending = set(self._background)
        if pending:
            log.info(
                "waiting for %d running action(s) to finish",
                len(pending),
                extra={"event": "flow.shutdown"},
            )
            _, still = await asyncio.wait(pending, timeout=self.shutdown_timeout)
            for task in still:
                log.error(
                    "an action still running after %.1fs at shutdown was cancelled; its "
                    "answer is lost",
                    self.shutdown_timeout,
                    extra={"event": "flow.shutdown.cancelled"},
                )
                task.cancel()
        await self.callbacks.aclose()
        pipeline, self._pipeline, self._actions = self._pipeline, None, None
        if pipeline is not None:
            pipeline.close()

    # Endpoints --------------------------------------------------------------------------

    async def _health(self, request: Request) -> Response:
        return _json({"status": "ok"})

    async def _metadata(self, request: Request) -> Response:
        return await self._answer(request, self._describe_answer)

    async def _describe_answer(self, request: Request) -> Response:
        body, _ = await self._read(request)
        answer = dict(self.describe())
        answer["culture"] = body.get("culture")
        answer["uri"] = body.get("uri")
        return _json(answer)

    async def _action(self, request: Request) -> Response:
        uri_part = request.path_params["uri_part"]
        return await self._answer(request, lambda r: self._run_action(r, uri_part))

    async def _answer(self, request: Request, endpoint: Any) -> Response:
        """Authenticate, run ``endpoint``, and turn every failure into a JSON answer."""
        try:
            self._authenticate(request)
            response: Response = await endpoint(request)
        except _Problem as problem:
            return self._problem_response(request, problem)
        except Exception as exc:  # noqa: BLE001 - the one boundary: never a traceback out
            log.error(
                "internal error answering %s %s: %s",
                request.method,
                request.url.path,
                self._redacted(f"{type(exc).__name__}: {exc}"),
                extra={"event": "flow.internal"},
            )
            internal = _Problem(500, "internal error in the service", kind="service")
            return self._problem_response(request, internal)
        return response

    def _problem_response(self, request: Request, problem: _Problem) -> Response:
        body: dict[str, Any] = {
            "kind": problem.kind,
            "uri": str(request.url.path),
            "statusCode": problem.status,
            "message": self._redacted(problem.message),
        }
        if problem.violations:
            body["violations"] = [v.to_json() for v in problem.violations]
        headers = dict(problem.headers)
        if problem.kind == "service":
            headers[PROBLEM_KIND_HEADER] = "service"
        return _json(body, problem.status, headers)

    def _redacted(self, text: str) -> str:
        return redact(text, [self._token] if self._token else [])

    def _authenticate(self, request: Request) -> None:
        if self._token is None and self.username is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        user = secret = b""
        if scheme.lower() == "basic":
            with contextlib.suppress(binascii.Error, ValueError):
                user, _, secret = base64.b64decode(encoded.strip(), validate=True).partition(b":")
        # Both compared every time, in constant time: no early exit tells what was wrong.
        user_ok = hmac.compare_digest(user, (self.username or "").encode())
        token_ok = hmac.compare_digest(secret, (self._token or "").encode())
        if not (user_ok and token_ok) or scheme.lower() != "basic":
            raise _Problem(
                401,
                "authentication required: HTTP Basic with the service's username and token",
                headers={"WWW-Authenticate": 'Basic realm="flowintegrations"'},
            )

    async def _read(self, request: Request) -> tuple[dict[str, Any], bool]:
        r"""The request body as a JSON object: 413 past the cap, 400 when it is not one.

        Also whether its text escapes a surrogate (``\udXXX``): only then can a string in
        it be a lone surrogate, which no answer could encode.
        """
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise _Problem(413, self._too_large())
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _Problem(413, self._too_large())
            chunks.append(chunk)
        data = b"".join(chunks)
        if not data.strip():
            return {}, False
        try:
            body = self._codec.decode(data)
        except CodecError as exc:
            raise _Problem(400, f"the request body {exc}".replace("body value", "body")) from None
        if not isinstance(body, dict):
            raise _Problem(400, "the request body must be a JSON object")
        return body, b"\\ud" in data or b"\\uD" in data

    def _too_large(self) -> str:
        return f"the request body is larger than the {self.max_body_bytes} bytes allowed"

    # Message actions --------------------------------------------------------------------

    async def _run_action(self, request: Request, uri_part: str) -> Response:
        found = self._routes().get(uri_part)
        if found is None:
            known = ", ".join(sorted(self._routes())) or "none"
            raise _Problem(404, f"no action {uri_part[:100]!r} (actions: {known})")
        action, route = found
        body, surrogates = await self._read(request)
        try:
            payload = payload_from_values(
                action.inputs, body.get("inputs"), check_unicode=surrogates
            )
        except FlowValueError as exc:
            raise _Problem(400, str(exc), violations=exc.violations) from None
        headers = _headers(action, body)
        origin = Origin(
            topic=f"flow:actions/{action.uri_part}",
            partition=0,
            offset=next(self._offsets),
            key=None,
        )
        pipeline = self._pipeline
        assert pipeline is not None  # built by _routes() above
        telemetry = self.app.telemetry
        trace = None
        if telemetry is not None:
            trace = telemetry.served(route, origin, headers, request.headers)
        handling = pipeline.handle(route, payload, headers, origin=origin, trace=trace)
        if trace is not None:
            handling = _reported(handling, trace)
        callback = body.get("callbackUri")
        if not (isinstance(callback, str) and callback.startswith(("http://", "https://"))):
            # Nowhere to send a later answer: this request waits for it, however long.
            return self._outcome_response(action, body, await handling)
        task = asyncio.ensure_future(handling)
        done, _ = await asyncio.wait({task}, timeout=self.sync_timeout)
        if not done:
            self._finish_later(task, action, body, callback)
            return _json(self._service_response(body, invoke_type="WAIT"))
        return self._outcome_response(action, body, task.result())

    def _finish_later(
        self, task: asyncio.Future[Outcome], action: Action, body: dict[str, Any], uri: str
    ) -> None:
        state = body.get("stateId") if isinstance(body.get("stateId"), str) else None

        async def finish() -> None:
            try:
                answer = self._final_answer(action, body, await task)
            except Exception as exc:  # noqa: BLE001 - still tell Flow, never lose the state
                log.error(
                    "internal error finishing a WAITing action: %s",
                    self._redacted(f"{type(exc).__name__}: {exc}"),
                    extra={"event": "flow.internal"},
                )
                answer = self._service_response(
                    body, root_faults={"error": "internal error in the service"}
                )
            await self.callbacks.deliver(uri, self._encode(answer), state_id=state)

        background = asyncio.ensure_future(finish())
        self._background.add(background)
        background.add_done_callback(self._background.discard)

    @staticmethod
    def _encode(body: dict[str, Any]) -> bytes:
        return _JSON_ENCODER.encode(body).encode("ascii")

    def _service_response(
        self,
        request: Mapping[str, Any],
        *,
        invoke_type: str = "FORWARD",
        outputs: list[dict[str, Any]] | None = None,
        root_faults: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        return {
            "token": request.get("token"),
            "tenantId": request.get("tenantId"),
            "culture": request.get("culture"),
            "annotations": request.get("annotations"),
            "invokeType": invoke_type,
            "waitMessage": self.wait_message if invoke_type == "WAIT" else None,
            "outputs": outputs or [],
            "rootFaults": root_faults or {},
            "valueFaults": {},
        }

    def _outcome_response(
        self, action: Action, request: dict[str, Any], outcome: Outcome
    ) -> Response:
        if isinstance(outcome, Replied):
            return _json(self._final_answer(action, request, outcome))
        if isinstance(outcome, Deferred):
            # ctx.defer() answers on the engine's in topic later (App.reply_later), which
            # Flow cannot hear: a Flow action answers later through WAIT and its callback.
            raise _Problem(
                501,
                f"the handler of {action.uri_part!r} deferred its reply (ctx.defer()); as a "
                "Flow action it must answer, and a long one answers WAIT then calls back",
            )
        failure = outcome.failure
        if isinstance(outcome, ErrorReplied) and failure.stage not in _CLIENT_STAGES:
            # A malformed request is the caller's to fix (400), even where the scenario
            # answers failures with an error reply; a failed handler is the rootFaults case.
            return _json(self._final_answer(action, request, outcome))
        if isinstance(outcome, LeftForRedelivery):
            raise _Problem(503, f"the service is stopping; try again ({failure.message})")
        if failure.stage in _CLIENT_STAGES:
            raise _Problem(400, failure.message, violations=tuple(failure.violations))
        raise _Problem(500, failure.message, kind="service")

    def _final_answer(
        self, action: Action, request: dict[str, Any], outcome: Outcome
    ) -> dict[str, Any]:
        """The ServiceResponse that ends the action (what a callback carries, too)."""
        if isinstance(outcome, Replied):
            outputs = engine_values(action.outputs, outcome.payload or {})
            return self._service_response(request, outputs=outputs)
        if isinstance(outcome, ErrorReplied):
            outputs = engine_values(action.outputs, outcome.payload)
            error = str(outcome.payload.get("error", outcome.failure.message))
            return self._service_response(request, outputs=outputs, root_faults={"error": error})
        assert isinstance(outcome, (DeadLettered, LeftForRedelivery))
        return self._service_response(request, root_faults={"error": outcome.failure.message})

    # Data actions -----------------------------------------------------------------------

    async def _data_load(self, request: Request) -> Response:
        return await self._answer(request, lambda r: self._data_action(r, "load"))

    async def _data_save(self, request: Request) -> Response:
        return await self._answer(request, lambda r: self._data_action(r, "save"))

    async def _data_delete(self, request: Request) -> Response:
        return await self._answer(request, lambda r: self._data_action(r, "delete"))

    def _handled_type(self, body: dict[str, Any], action: str) -> tuple[DataType, DataHandler]:
        self._routes()
        described = body.get("objectDataType")
        name = described.get("developerName") if isinstance(described, dict) else None
        if not isinstance(name, str):
            raise _Problem(400, "objectDataType.developerName (the type) is missing")
        data_type = self._data.get(name)
        handler = getattr(data_type, action) if data_type is not None else None
        if data_type is None or handler is None:
            known = ", ".join(sorted(n for n, t in self._data.items() if getattr(t, action)))
            raise _Problem(404, f"no {action} for type {name[:100]!r} (types: {known or 'none'})")
        return data_type, handler

    async def _data_action(self, request: Request, action: str) -> Response:
        body, surrogates = await self._read(request)
        data_type, handler = self._handled_type(body, action)
        flow_request = FlowRequest.from_body(data_type.name, body)
        more = False
        try:
            if action == "load":
                query = data_type.query(body.get("listFilter"), max_limit=self.max_page_size)
                page = page_of(await handler(query, flow_request), query)
                rows: Any = page.objects
                more = page.more
            else:
                objects = data_type.read_objects(
                    body.get("objectData"), check_unicode=surrogates, validate=action == "save"
                )
                result = await handler(objects, flow_request)
                rows = () if action == "delete" else (result or ())
        except (QueryError, FlowValueError) as exc:
            raise _Problem(400, str(exc), violations=exc.violations) from None
        except ValidationError as exc:
            if exc.subject != "objects":
                raise
            raise _Problem(400, str(exc), violations=exc.violations) from None
        try:
            answer = data_type.answer_objects(rows, f"{action} result")
        except (ValidationError, FlowValueError) as exc:
            # The handler's rows break the type: its bug, never sent to Flow.
            raise _Problem(500, f"the {action} handler answered {exc}", kind="service") from None
        return _json({"objectData": answer, "hasMoreResults": more, "culture": body.get("culture")})

    # Files ------------------------------------------------------------------------------

    async def _files_list(self, request: Request) -> Response:
        return await self._answer(request, self._list)

    async def _files_upload(self, request: Request) -> Response:
        return await self._answer(request, self._upload)

    async def _list(self, request: Request) -> Response:
        handler = self._list_files
        if handler is None:
            raise _Problem(404, "this service lists no files")
        body, _ = await self._read(request)
        try:
            query = Query.from_list_filter(
                body.get("listFilter"),
                type_name=FILE_TYPE,
                columns=dict.fromkeys(FILE_SHAPE.by_name, PropertyType.STRING),
                id_property="Id",
                max_limit=self.max_page_size,
            )
        except QueryError as exc:
            raise _Problem(400, str(exc), violations=exc.violations) from None
        flow_request = FlowRequest.from_body(FILE_TYPE, body)
        files = await handler(flow_request, flow_request)
        page = query.apply(_file_properties(files))
        answer = object_data(FILE_SHAPE, page.objects, (row["Id"] for row in page.objects))
        return _json(
            {"objectData": answer, "hasMoreResults": page.more, "culture": body.get("culture")}
        )

    async def _upload(self, request: Request) -> Response:
        handler = self._upload_file
        if handler is None:
            raise _Problem(404, "this service takes no uploads")
        try:
            raw, upload = await read_upload(
                request.headers.get("content-type", ""),
                request.stream(),
                max_file_bytes=self.max_upload_bytes,
                max_json_bytes=self.max_body_bytes,
            )
        except UploadTooLarge as exc:
            raise _Problem(413, str(exc)) from None
        except UploadError as exc:
            raise _Problem(400, str(exc)) from None
        try:
            body = self._codec.decode(raw) if raw.strip() else {}
        except CodecError as exc:
            raise _Problem(400, f"the FileDataRequest part {exc}") from None
        if not isinstance(body, dict):
            raise _Problem(400, "the FileDataRequest part must be a JSON object")
        upload = attrs.evolve(upload, request=body)
        saved = await handler(upload, FlowRequest.from_body(FILE_TYPE, body))
        rows = _file_properties([saved])
        answer = object_data(FILE_SHAPE, rows, [rows[0]["Id"]])
        return _json(
            {"objectData": answer, "hasMoreResults": False, "culture": body.get("culture")}
        )


def _file_properties(files: Any) -> list[dict[str, Any]]:
    rows = []
    for file in files or ():
        if not isinstance(file, FileInfo):
            msg = f"a file handler returns FileInfo values, got {type(file).__name__}"
            raise TypeError(msg)
        rows.append(file.properties())
    return rows


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
