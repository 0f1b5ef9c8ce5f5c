"""A record's key and headers as NATS headers, and back.

NATS headers are text: nats-py sends a ``dict[str, str]`` (one value a name, the value
trimmed, CR and LF made spaces) and reads one back the same way, with a value that is not
UTF-8 turned into U+FFFD and a name that is not ASCII dropped. A
:class:`~flowintegrations.transport.Record`'s headers are ``(name, bytes)`` pairs whose order
and duplicates matter. So:

* Headers that NATS carries as they are (an HTTP token for a name, seen once, a UTF-8 value
  without CR, LF, U+FFFD or spaces at either end, a name not starting with ``Fi-`` or
  ``Nats-``) travel as plain NATS headers, which any NATS client reads.
* When any header does not, *all* of them also travel, byte for byte and in order, in the
  one header ``Fi-Headers`` (base64 of length-prefixed names and values); a reader takes
  that one when it is there.
* The key (bytes, or none) travels base64-encoded in ``Fi-Key``.

A message this transport cannot read back faithfully (a ``Fi-Headers`` or ``Fi-Key`` that
does not decode, a plain value nats-py had to replace with U+FFFD) becomes a record whose
only header is :data:`~flowintegrations.vocabulary.UNREADABLE_HEADERS`, which the App's
header checks refuse: it is dead-lettered, never a crash.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct

from flowintegrations.transport.base import Headers
from flowintegrations.vocabulary import UNREADABLE_HEADERS, UNREADABLE_HEADERS_VALUE

__all__ = ["HEADERS", "KEY", "UNREADABLE", "from_nats", "to_nats"]

HEADERS = "Fi-Headers"
"""The NATS header carrying every record header, in order, byte for byte."""

KEY = "Fi-Key"
"""The NATS header carrying the record's key (base64; absent for a record without one)."""

UNREADABLE: Headers = ((UNREADABLE_HEADERS, UNREADABLE_HEADERS_VALUE),)
"""The headers of a record whose NATS headers cannot be read back faithfully."""

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_RESERVED = ("fi-", "nats-")
_LENGTHS = struct.Struct(">HI")


class UnreadableHeadersError(ValueError):
    """NATS headers that do not decode into a record's key and headers."""


def _plain(name: str, value: bytes, seen: set[str]) -> str | None:
    """``value`` as the text of a plain NATS header, or None if NATS would change it."""
    if name in seen or not _TOKEN.fullmatch(name) or name.lower().startswith(_RESERVED):
        return None
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text != text.strip() or "\r" in text or "\n" in text or "\ufffd" in text:
        return None
    return text


def _envelope(headers: Headers) -> str:
    parts = bytearray()
    for name, value in headers:
        encoded = name.encode("utf-8", "surrogatepass")
        parts += _LENGTHS.pack(len(encoded), len(value))
        parts += encoded
        parts += value
    return base64.b64encode(bytes(parts)).decode("ascii")


def _open(text: str) -> Headers:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        msg = f"{HEADERS} is not base64"
        raise UnreadableHeadersError(msg) from exc
    headers: list[tuple[str, bytes]] = []
    at = 0
    while at < len(data):
        if at + _LENGTHS.size > len(data):
            msg = f"{HEADERS} ends inside a header"
            raise UnreadableHeadersError(msg)
        name_length, value_length = _LENGTHS.unpack_from(data, at)
        at += _LENGTHS.size
        end = at + name_length + value_length
        if end > len(data):
            msg = f"{HEADERS} ends inside a header"
            raise UnreadableHeadersError(msg)
        try:
            name = data[at : at + name_length].decode("utf-8", "surrogatepass")
        except UnicodeDecodeError as exc:
            msg = f"{HEADERS} holds a name that is not UTF-8"
            raise UnreadableHeadersError(msg) from exc
        headers.append((name, data[at + name_length : end]))
        at = end
    return tuple(headers)


def to_nats(key: bytes | None, headers: Headers) -> dict[str, str] | None:
    """The NATS headers that carry ``key`` and ``headers`` (None when there is nothing)."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    faithful = True
    for name, value in headers:
        text = _plain(name, value, seen)
        seen.add(name)
        if text is None:
            faithful = False
        else:
            out[name] = text
    if not faithful:
        out[HEADERS] = _envelope(headers)
    if key is not None:
        out[KEY] = base64.b64encode(key).decode("ascii")
    return out or None


def from_nats(nats_headers: dict[str, str] | None) -> tuple[bytes | None, Headers]:
    """The record key and headers that ``nats_headers`` carry.

    Raises :class:`UnreadableHeadersError` when they cannot be read back faithfully.
    """
    if not nats_headers:
        return None, ()
    key: bytes | None = None
    encoded_key = nats_headers.get(KEY)
    if encoded_key is not None:
        try:
            key = base64.b64decode(encoded_key, validate=True)
        except (binascii.Error, ValueError) as exc:
            msg = f"{KEY} is not base64"
            raise UnreadableHeadersError(msg) from exc
    envelope = nats_headers.get(HEADERS)
    if envelope is not None:
        return key, _open(envelope)
    headers: list[tuple[str, bytes]] = []
    for name, text in nats_headers.items():
        if name.lower().startswith(_RESERVED):
            continue
        if "\ufffd" in text:
            msg = f"the value of header {name!r} is not UTF-8 (NATS replaced bytes of it)"
            raise UnreadableHeadersError(msg)
        headers.append((name, text.encode("utf-8")))
    return key, tuple(headers)
