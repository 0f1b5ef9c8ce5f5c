"""The HTTP concerns every Flow endpoint shares: :class:`Gate` and :class:`Problem`.

A :class:`Gate` authenticates a request (HTTP Basic, compared in constant time), reads its
body as a JSON object within a size cap, and turns every failure into Flow's problem
answer: ``{"kind": "service", "uri", "statusCode", "message"}`` with the header
``X-ManyWho-Service-Problem-Kind: service`` (what the Java SDK's exception mapper answers,
4xx included), plus ``violations`` when a request broke a model. Every rejected request
(a 4xx) leaves one WARNING line naming the method, path, status and reason; a failure of
the service itself (a 5xx) one ERROR line. No answer and no log line carries a traceback
or a secret: the token, and any value the gate is told is secret, are redacted.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import contextvars
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from flowintegrations.codec import JsonCodec
from flowintegrations.errors import CodecError
from flowintegrations.validation import Violation
from flowintegrations.vocabulary import redact

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "PROBLEM_KIND_HEADER",
    "Endpoint",
    "Gate",
    "Problem",
    "json_response",
]

log = logging.getLogger("flowintegrations.flow")

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
"""The largest request body a service reads by default (4 MiB)."""

PROBLEM_KIND_HEADER = "X-ManyWho-Service-Problem-Kind"
"""The header Flow reads to tell a service failure from other errors."""

_JSON_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)

_REQUEST_SECRETS: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "flowintegrations_flow_request_secrets", default=()
)

Endpoint = Callable[[Request], Awaitable[Response]]
"""What a :class:`Gate` guards: a request in, an answer out (raising :class:`Problem`)."""


class Problem(Exception):  # noqa: N818 - an answer, not an error
    """An answer other than 200, raised deep in a request to the one place that sends it.

    ``message`` is what the answer says (the gate redacts secrets from it);
    ``violations`` list what a model rejected; ``headers`` are added to the answer.
    ``refusal`` (default: a 4xx) makes the gate log the answer as a rejected request; a
    failure (a 5xx) is logged where it happened.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        violations: tuple[Violation, ...] = (),
        headers: Mapping[str, str] | None = None,
        refusal: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.refusal = status < 500 if refusal is None else refusal
        self.status = status
        self.message = message
        self.violations = violations
        self.headers = dict(headers or {})


def encode_json(body: Any) -> bytes:
    """``body`` as compact JSON bytes, non-ASCII escaped.

    ASCII escapes: a hostile lone surrogate in a value cannot break encoding the answer.
    """
    return _JSON_ENCODER.encode(body).encode("ascii")


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON answer (see :func:`encode_json`)."""
    return Response(
        encode_json(body), status_code=status, headers=headers, media_type="application/json"
    )


class Gate:
    """Authentication, body reading and problem answers for the endpoints of one service.

    ``username`` and ``token``, when set, are the basic-auth credentials a request must
    carry (with neither, every request passes). ``max_body_bytes`` caps a JSON body (413
    past it). :meth:`redacted` removes the token, and the values the request being answered
    gave to :meth:`secret`, from a text. While :attr:`stopping` is set, every request is
    answered 503 (the service is shutting down).
    """

    def __init__(
        self,
        *,
        username: str | None,
        token: str | None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.username = username
        self._token = token
        self.max_body_bytes = max_body_bytes
        self.codec = JsonCodec(max_bytes=max_body_bytes)
        self.stopping = False
        self._secrets: tuple[str, ...] = (token,) if token else ()

    def credentials(self, username: str | None, token: str | None) -> None:
        """Require ``username`` and ``token`` from now on (both ``None``: nothing)."""
        self.username = username
        self._token = token
        self._secrets = (token,) if token else ()

    @property
    def open(self) -> bool:
        """Whether requests pass without credentials (neither username nor token set)."""
        return self._token is None and self.username is None

    @staticmethod
    def secret(values: Collection[str]) -> None:
        """Redact ``values`` from the answer and the log lines of the request being answered.

        Kept in a context variable: each request (an asyncio task) has its own.
        """
        _REQUEST_SECRETS.set(tuple(v for v in values if v))

    def redacted(self, text: str) -> str:
        """``text`` with the token and the request's secret values replaced by ``<redacted>``."""
        secrets = [*self._secrets, *_REQUEST_SECRETS.get()]
        return redact(text, secrets) if secrets else text

    def authenticate(self, request: Request) -> None:
        """Raise a 401 :class:`Problem` unless the request carries the credentials."""
        if self.open:
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
            raise Problem(
                401,
                "authentication required: HTTP Basic with the service's username and token",
                headers={"WWW-Authenticate": 'Basic realm="flowintegrations"'},
            )

    async def read(self, request: Request) -> tuple[dict[str, Any], bool]:
        r"""The request body as a JSON object: 413 past the cap, 400 when it is not one.

        Also whether its text escapes a surrogate (``\udXXX``): only then can a string in
        it be a lone surrogate, which no answer could encode.
        """
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise Problem(413, self.too_large())
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise Problem(413, self.too_large())
            chunks.append(chunk)
        data = b"".join(chunks)
        return self.decode(data, "the request body"), b"\\ud" in data or b"\\uD" in data

    def decode(self, data: bytes, what: str) -> dict[str, Any]:
        """``data`` as a JSON object (empty text: ``{}``); 400 naming ``what`` otherwise."""
        if not data.strip():
            return {}
        try:
            body = self.codec.decode(data)
        except CodecError as exc:
            raise Problem(400, f"{what} {exc}".replace("body value", "body")) from None
        if not isinstance(body, dict):
            raise Problem(400, f"{what} must be a JSON object")
        return body

    def too_large(self) -> str:
        """The message of a 413 for a JSON body."""
        return f"the request body is larger than the {self.max_body_bytes} bytes allowed"

    async def answer(self, request: Request, endpoint: Endpoint) -> Response:
        """Authenticate, run ``endpoint``, and turn every failure into a JSON answer."""
        # This request's secrets start empty and end with it (a server may run several
        # requests in one task); work it starts in the background keeps them.
        secrets = _REQUEST_SECRETS.set(())
        try:
            self.authenticate(request)
            if self.stopping:
                raise Problem(503, "the service is stopping; try again", refusal=True)
            return await endpoint(request)
        except Problem as problem:
            return self.problem(request.method, request.url.path, problem)
        except Exception as exc:  # noqa: BLE001 - the one boundary: never a traceback out
            return self.internal(request.method, request.url.path, exc)
        finally:
            _REQUEST_SECRETS.reset(secrets)

    def guard(self, endpoint: Endpoint) -> Endpoint:
        """``endpoint`` behind :meth:`answer`, as a Starlette route's endpoint."""

        async def guarded(request: Request) -> Response:
            return await self.answer(request, endpoint)

        return guarded

    def internal(self, method: str, path: str, error: BaseException) -> Response:
        """The 500 answer to ``error``, an unexpected failure of the service (logged)."""
        log.error(
            "internal error answering %s %s: %s",
            method,
            path,
            self.redacted(f"{type(error).__name__}: {error}"),
            extra={"event": "flow.internal"},
        )
        return self.problem(method, path, Problem(500, "internal error in the service"))

    def problem(self, method: str, path: str, problem: Problem) -> Response:
        """The JSON problem answer; a rejected request (4xx) is logged in one line."""
        message = self.redacted(problem.message)
        path = self.redacted(path)
        if problem.refusal:
            log.warning(
                "rejected %s %s: %d %s",
                method,
                path[:200],
                problem.status,
                message[:300],
                extra={"event": "flow.rejected", "status": problem.status},
            )
        body: dict[str, Any] = {
            "kind": "service",
            "uri": path,
            "statusCode": problem.status,
            "message": message,
        }
        if problem.violations:
            body["violations"] = [v.to_json() for v in problem.violations]
        headers = dict(problem.headers)
        headers[PROBLEM_KIND_HEADER] = "service"
        return json_response(body, problem.status, headers)

    async def http_exception(self, request: Request, exc: Exception) -> Response:
        """Starlette's own refusals (no route: 404, wrong method: 405) as problem answers."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        headers = exc.headers if isinstance(exc, HTTPException) else None
        if status == 404:
            message = f"no endpoint {request.url.path[:200]!r}"
        elif status == 405:
            allowed = (headers or {}).get("Allow", "")
            message = f"{request.method} is not allowed here (allowed: {allowed})"
        else:
            message = str(getattr(exc, "detail", "")) or "the request was refused"
        return self.problem(
            request.method, request.url.path, Problem(status, message, headers=headers)
        )
