"""File resources: :class:`FileInfo` (a ``$File``), :class:`Upload`, and reading an upload.

Flow lists files with ``POST /file`` and uploads one with ``POST /file/content``, a
``multipart/form-data`` request of two parts: the FileDataRequest (``application/json``)
and the file. As in the Java SDK, parts are told apart by content type, not by name: the
request is the ``application/json`` part without a file name (or, failing that, the first
``application/json`` part), the file is the first other part. A missing part is a
:class:`UploadError` (400); a file larger than the service's limit is
:class:`UploadTooLarge` (413).

File names are data. :attr:`Upload.name` is what the client sent (control characters
removed, at most 255 characters); nothing here uses it as a path, and a handler must not
either: store the content under an id of your own (:attr:`Upload.safe_name` is a name
that is safe to show or to use as a last path component, never ``..`` or empty).
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterable, Mapping
from typing import Any

import attrs
from python_multipart.multipart import MultipartParser, parse_options_header

from flowintegrations.errors import FlowIntegrationsError
from flowintegrations.flow.types import ContentType, Field, FieldKind, Shape
from flowintegrations.model import PropertyType

__all__ = [
    "FILE_SHAPE",
    "FILE_TYPE",
    "FileInfo",
    "Upload",
    "UploadError",
    "UploadTooLarge",
    "read_upload",
]

FILE_TYPE = "$File"
"""The type name of a file in Flow."""

_FILE_PROPERTIES = (
    ("Id", "id", ContentType.STRING),
    ("Name", "name", ContentType.STRING),
    ("Mime Type", "mime_type", ContentType.STRING),
    ("Kind", "kind", ContentType.STRING),
    ("Description", "description", ContentType.STRING),
    ("Date Created", "date_created", ContentType.DATE_TIME),
    ("Date Modified", "date_modified", ContentType.DATE_TIME),
    ("Download Uri", "download_uri", ContentType.STRING),
    ("Embed Uri", "embed_uri", ContentType.STRING),
    ("Icon Uri", "icon_uri", ContentType.STRING),
)

FILE_SHAPE = Shape(
    FILE_TYPE,
    tuple(
        Field(name, FieldKind.SCALAR, content, scalar=PropertyType.STRING)
        for name, _, content in _FILE_PROPERTIES
    ),
    additional=False,
    summary="A file",
)
"""The ``$File`` type: its properties as Flow names them."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]")


class UploadError(FlowIntegrationsError, ValueError):
    """An upload that cannot be read: not multipart, or a part missing (a 400)."""


class UploadTooLarge(UploadError):  # noqa: N818 - reads as the answer it is (413)
    """An uploaded file larger than the service allows (a 413)."""


@attrs.frozen
class FileInfo:
    """A file as Flow lists it (a ``$File`` object); ``id`` is its externalId.

    Dates are ISO 8601 text (or ``None``).
    """

    id: str
    name: str
    mime_type: str = attrs.field(default="application/octet-stream", kw_only=True)
    kind: str = attrs.field(default="", kw_only=True)
    description: str = attrs.field(default="", kw_only=True)
    date_created: str | None = attrs.field(default=None, kw_only=True)
    date_modified: str | None = attrs.field(default=None, kw_only=True)
    download_uri: str | None = attrs.field(default=None, kw_only=True)
    embed_uri: str | None = attrs.field(default=None, kw_only=True)
    icon_uri: str | None = attrs.field(default=None, kw_only=True)

    def properties(self) -> dict[str, Any]:
        """This file as a ``$File`` payload, keyed by Flow's property names."""
        found = {name: getattr(self, attribute) for name, attribute, _ in _FILE_PROPERTIES}
        return {name: value for name, value in found.items() if value is not None}


@attrs.frozen
class Upload:
    """An uploaded file: its ``name`` (data, never a path), MIME type, size and content.

    ``request`` is the FileDataRequest that came with it (``resource_path`` its
    ``resourcePath``).
    """

    name: str
    mime_type: str
    data: bytes = attrs.field(repr=False)
    request: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    @property
    def size(self) -> int:
        """The file's size in bytes."""
        return len(self.data)

    @property
    def resource_path(self) -> str | None:
        """The ``resourcePath`` of the request, when it is text."""
        value = self.request.get("resourcePath")
        return value if isinstance(value, str) else None

    @property
    def safe_name(self) -> str:
        """``name`` with every character but letters, digits, ``._ -`` made ``_``.

        Never empty, never ``.`` or ``..``, at most 255 characters: safe to show or to use
        as the last component of a path (an id of your own is better still).
        """
        cleaned = _UNSAFE.sub("_", self.name)[:255].strip(" ")
        if cleaned.strip(".") == "":
            return "file"
        return cleaned

    def open(self) -> io.BytesIO:
        """The content as a binary stream."""
        return io.BytesIO(self.data)


class _Part:
    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.size = 0

    def content_type(self) -> str:
        value, _ = parse_options_header(self.headers.get("content-type", ""))
        return value.decode("latin-1").lower()

    def filename(self) -> str | None:
        _, options = parse_options_header(self.headers.get("content-disposition", ""))
        raw = options.get(b"filename")
        return None if raw is None else raw.decode("utf-8", "replace")


class _Collector:
    """python-multipart's callbacks, collecting the parts and holding the file to its limit."""

    def __init__(self, max_file_bytes: int) -> None:
        self.max_file_bytes = max_file_bytes
        self.parts: list[_Part] = []
        self._field: list[bytes] = []
        self._value: list[bytes] = []

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self.begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value,
            "on_header_end": self.header_end,
            "on_part_data": self.data,
        }

    def begin(self) -> None:
        self.parts.append(_Part())

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._field.append(data[start:end])

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._value.append(data[start:end])

    def header_end(self) -> None:
        name = b"".join(self._field).decode("latin-1").lower()
        self.parts[-1].headers[name] = b"".join(self._value).decode("latin-1")
        self._field.clear()
        self._value.clear()

    def data(self, chunk: bytes, start: int, end: int) -> None:
        part = self.parts[-1]
        part.size += end - start
        if part.size > self.max_file_bytes:
            msg = f"the file is larger than the {self.max_file_bytes} bytes allowed"
            raise UploadTooLarge(msg)
        part.chunks.append(chunk[start:end])


def _pick(parts: list[_Part]) -> tuple[_Part, _Part]:
    """The request part and the file part, by content type (see the module)."""
    json_parts = [p for p in parts if p.content_type() == "application/json"]
    request = next((p for p in json_parts if p.filename() is None), None)
    if request is None and json_parts:
        request = json_parts[0]
    others = [p for p in parts if p is not request]
    file = next((p for p in others if p.filename() is not None), others[0] if others else None)
    if request is None:
        msg = "the upload has no application/json part (the FileDataRequest)"
        raise UploadError(msg)
    if file is None:
        msg = "the upload has no file part"
        raise UploadError(msg)
    return request, file


async def read_upload(
    content_type: str, body: AsyncIterable[bytes], *, max_file_bytes: int, max_json_bytes: int
) -> tuple[bytes, Upload]:
    """Read a multipart upload: the FileDataRequest part's bytes, and the file.

    The :class:`Upload` has an empty ``request``: the caller decodes the JSON and adds it.
    Raises :class:`UploadError` (a part missing, not multipart) or :class:`UploadTooLarge`.
    """
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind.lower() != b"multipart/form-data" or not boundary:
        msg = "an upload is multipart/form-data (a JSON part and a file part)"
        raise UploadError(msg)
    collector = _Collector(max_file_bytes)
    parser = MultipartParser(boundary, collector.callbacks())
    total = 0
    try:
        async for chunk in body:
            total += len(chunk)
            if total > max_file_bytes + max_json_bytes:
                msg = f"the file is larger than the {max_file_bytes} bytes allowed"
                raise UploadTooLarge(msg)
            parser.write(chunk)
        parser.finalize()
    except UploadError:
        raise
    except Exception as exc:  # noqa: BLE001 - python-multipart's errors are many; all are 400
        msg = f"the upload is not valid multipart/form-data ({type(exc).__name__})"
        raise UploadError(msg) from None
    request, file = _pick(collector.parts)
    if request.size > max_json_bytes:
        msg = f"the FileDataRequest part is larger than the {max_json_bytes} bytes allowed"
        raise UploadTooLarge(msg)
    upload = Upload(
        name=_CONTROL.sub("", file.filename() or "")[:255],
        mime_type=file.content_type() or "application/octet-stream",
        data=b"".join(file.chunks),
    )
    return b"".join(request.chunks), upload
