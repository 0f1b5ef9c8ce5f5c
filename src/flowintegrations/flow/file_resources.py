"""File resources (``/file``): :class:`FileResources`.

``POST /file`` lists files (filtered, ordered and paged by the request's list filter) and
``POST /file/content`` uploads one, through the handlers registered with
:meth:`FileResources.register_list` and :meth:`~FileResources.register_upload`
(:mod:`.files` says what a ``$File`` is and how a multipart upload is read).

An upload is ``multipart/form-data`` (the FileDataRequest and the file), or the bare file
as ``application/octet-stream``: then its name is the ``filename`` of a
``Content-Disposition`` header (``"file"`` without one) and its request is empty.

``POST /file/delete`` is not supported: it answers the problem the Java SDK answers, a 500
of kind ``service``, so that the engine reads it exactly as it reads the SDK's (it is
logged as a refused request, not as a failure of the service).
"""

from __future__ import annotations

import re
from typing import Any

import attrs
from python_multipart.multipart import parse_options_header
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from flowintegrations.errors import HandlerRegistrationError
from flowintegrations.flow.data import DataHandler, FlowRequest
from flowintegrations.flow.data_resources import RequestHook
from flowintegrations.flow.echo import culture
from flowintegrations.flow.files import (
    FILE_SHAPE,
    FILE_TYPE,
    FileInfo,
    Upload,
    UploadError,
    UploadTooLarge,
    read_upload,
)
from flowintegrations.flow.http import Gate, Problem, json_response
from flowintegrations.flow.query import MAX_PAGE_SIZE, Query, QueryError
from flowintegrations.flow.writing import object_data
from flowintegrations.model import PropertyType

__all__ = ["DEFAULT_MAX_UPLOAD_BYTES", "FileResources"]

DEFAULT_MAX_UPLOAD_BYTES = 16 * 1024 * 1024
"""The largest file an upload may carry by default (16 MiB)."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class FileResources:
    """The file handlers of a service and the ``/file`` endpoints.

    ``max_page_size`` caps a list's ``limit``; ``max_upload_bytes`` an uploaded file (413
    past it); JSON parts are capped by the gate's ``max_body_bytes``.
    """

    def __init__(
        self,
        *,
        gate: Gate,
        max_page_size: int = MAX_PAGE_SIZE,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
        prepare: RequestHook | None = None,
    ) -> None:
        self.gate = gate
        self.max_page_size = max_page_size
        self.max_upload_bytes = max_upload_bytes
        self.prepare = prepare
        self.list_handler: DataHandler | None = None
        self.upload_handler: DataHandler | None = None

    @property
    def served(self) -> bool:
        """Whether the service lists or takes files."""
        return self.list_handler is not None or self.upload_handler is not None

    def register_list(self, fn: Any) -> None:
        """Register the list handler; raises HandlerRegistrationError for a second one."""
        if self.list_handler is not None:
            raise HandlerRegistrationError("the service already has a list_files handler")
        self.list_handler = DataHandler.of(fn, "list_files")

    def register_upload(self, fn: Any) -> None:
        """Register the upload handler; raises HandlerRegistrationError for a second one."""
        if self.upload_handler is not None:
            raise HandlerRegistrationError("the service already has an upload_file handler")
        self.upload_handler = DataHandler.of(fn, "upload_file")

    def routes(self) -> list[Route]:
        """The Starlette routes of the file resources (relative to the service's path)."""
        return [
            Route("/file", self.gate.guard(self.list), methods=["POST"]),
            Route("/file/content", self.gate.guard(self.upload), methods=["POST"]),
            Route("/file/delete", self.gate.guard(self.delete), methods=["POST"]),
        ]

    def _request(self, body: dict[str, Any]) -> FlowRequest:
        flow_request = FlowRequest.from_body(FILE_TYPE, body)
        return flow_request if self.prepare is None else self.prepare(flow_request)

    async def list(self, request: Request) -> Response:
        """``POST /file``: the files of the request's path, filtered and paged."""
        handler = self.list_handler
        if handler is None:
            raise Problem(404, "this service lists no files")
        body, _ = await self.gate.read(request)
        try:
            query = Query.from_list_filter(
                body.get("listFilter"),
                type_name=FILE_TYPE,
                columns=dict.fromkeys(FILE_SHAPE.by_name, PropertyType.STRING),
                id_property="Id",
                max_limit=self.max_page_size,
            )
        except QueryError as exc:
            raise Problem(400, str(exc), violations=exc.violations) from None
        flow_request = self._request(body)
        files = await handler(flow_request, flow_request)
        page = query.apply(_file_properties(files))
        answer = object_data(FILE_SHAPE, page.objects, (row["Id"] for row in page.objects))
        return json_response(
            {
                "objectData": answer,
                "hasMoreResults": page.more,
                "culture": culture(body.get("culture")),
            }
        )

    async def upload(self, request: Request) -> Response:
        """``POST /file/content``: store one uploaded file, answer its ``$File``."""
        handler = self.upload_handler
        if handler is None:
            raise Problem(404, "this service takes no uploads")
        content_type = request.headers.get("content-type", "")
        if parse_options_header(content_type)[0].lower() == b"application/octet-stream":
            upload, body = await self._bare_upload(request), {}
        else:
            try:
                raw, upload = await read_upload(
                    content_type,
                    request.stream(),
                    max_file_bytes=self.max_upload_bytes,
                    max_json_bytes=self.gate.max_body_bytes,
                )
            except UploadTooLarge as exc:
                raise Problem(413, str(exc)) from None
            except UploadError as exc:
                raise Problem(400, str(exc)) from None
            body = self.gate.decode(raw, "the FileDataRequest part")
            upload = attrs.evolve(upload, request=body)
        saved = await handler(upload, self._request(body))
        rows = _file_properties([saved])
        answer = object_data(FILE_SHAPE, rows, [rows[0]["Id"]])
        return json_response(
            {
                "objectData": answer,
                "hasMoreResults": False,
                "culture": culture(body.get("culture")),
            }
        )

    async def _bare_upload(self, request: Request) -> Upload:
        """An ``application/octet-stream`` upload: the body is the file."""
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_upload_bytes:
                msg = f"the file is larger than the {self.max_upload_bytes} bytes allowed"
                raise Problem(413, msg)
            chunks.append(chunk)
        _, options = parse_options_header(request.headers.get("content-disposition", ""))
        name = options.get(b"filename", b"file").decode("utf-8", "replace")
        return Upload(
            name=_CONTROL.sub("", name)[:255] or "file",
            mime_type="application/octet-stream",
            data=b"".join(chunks),
        )

    async def delete(self, request: Request) -> Response:
        """``POST /file/delete``: not supported (see the module)."""
        raise Problem(500, "deleting files is not supported by this service", refusal=True)


def _file_properties(files: Any) -> list[dict[str, Any]]:
    rows = []
    for file in files or ():
        if not isinstance(file, FileInfo):
            msg = f"a file handler returns FileInfo values, got {type(file).__name__}"
            raise TypeError(msg)
        rows.append(file.properties())
    return rows
