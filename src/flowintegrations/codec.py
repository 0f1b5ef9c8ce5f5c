"""Message bytes <-> JSON values, strictly: UTF-8 only, finite numbers only, bounded size.

The engine speaks JSON on both topics. Decoding is where hostile bytes first meet the
library, so everything that can go wrong becomes a :class:`~flowintegrations.errors.CodecError`
with a sentence that says what and where (byte/line/column), never a crash.
"""

from __future__ import annotations

import json
import json.encoder
import re
from math import isfinite
from typing import Any

from flowintegrations.errors import CodecError
from flowintegrations.vocabulary import MAX_MESSAGE_BYTES

__all__ = ["DEFAULT_MAX_BYTES", "JsonCodec"]

DEFAULT_MAX_BYTES = MAX_MESSAGE_BYTES
"""Kafka's default ``message.max.bytes``: a value larger than this is refused on decode."""


def _c_encoder(encoder: json.JSONEncoder) -> Any:
    """``encoder``'s settings in json's C encoder, without the cycle check (None: no C)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    return make(
        None,  # no cycle check: no state shared between calls
        encoder.default,
        json.encoder.encode_basestring_ascii
        if encoder.ensure_ascii
        else json.encoder.encode_basestring,
        None,  # no indent
        encoder.key_separator,
        encoder.item_separator,
        encoder.sort_keys,
        encoder.skipkeys,
        encoder.allow_nan,
    )


def _reject_constant(name: str) -> Any:
    msg = f"{name} is not valid JSON"
    raise ValueError(msg)


class _OutOfRangeError(ValueError):
    """A number literal that a float cannot hold (``1e400``): it would decode as infinity."""


def _finite_float(literal: str) -> float:
    # Called by the decoder for every number with a fraction or an exponent; integers are
    # exact at any size and never come here.
    value = float(literal)
    if isfinite(value):
        return value
    raise _OutOfRangeError(literal)


# A JSON text tokenised just enough to find numbers outside strings (on the error path only).
_STRING_OR_NUMBER = re.compile(
    r'"(?:[^"\\]|\\.)*"|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?'
)


def _out_of_range(text: str, literal: str) -> str:
    """The codec's sentence for ``literal``, found at its first place outside a string."""
    for match in _STRING_OR_NUMBER.finditer(text):
        if match.group() == literal:
            start = match.start()
            line = text.count("\n", 0, start) + 1
            column = start - text.rfind("\n", 0, start)
            where = f" at line {line}, column {column}"
            break
    else:  # cannot happen: the decoder read the literal outside a string
        where = ""
    return f"value is not JSON: number {literal}{where} is out of range"


class JsonCodec:
    """Decode and encode message values as UTF-8 JSON.

    ``max_bytes`` bounds what is decoded; nesting deeper than the interpreter's recursion
    limit is refused rather than crashing the loop. A number too large for a float
    (``1e400``) is refused too, where :mod:`json` would return infinity: no JSON value
    decodes to ``inf`` or ``nan``.
    """

    __slots__ = ("_decoder", "_encoder", "_iterencode", "_scan", "max_bytes")

    def __init__(self, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._decoder = json.JSONDecoder(parse_float=_finite_float, parse_constant=_reject_constant)
        # The decoder's C scanner, called directly on the happy path (what decode() does
        # minus two regex matches for surrounding whitespace); anything else takes the
        # full path below, which also words the errors.
        self._scan: Any = getattr(self._decoder, "scan_once")  # noqa: B009 - untyped in typeshed
        self._encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        # The encoder's C core, made once: JSONEncoder.encode() makes it anew for every
        # value (with a dict for the cycle check and a closure), half of its ~2 us for a
        # small reply. Made without the cycle check's dict, it holds no state, so threads
        # share it; a value that contains itself ends in RecursionError, and then the
        # full encoder below says what is wrong.
        self._iterencode: Any = _c_encoder(self._encoder)

    def decode(self, data: bytes) -> Any:
        """The JSON value in ``data``; raises :class:`CodecError` saying what is wrong."""
        if len(data) > self.max_bytes:
            msg = f"value is {len(data)} bytes, more than the {self.max_bytes} allowed"
            raise CodecError(msg)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            msg = f"value is not UTF-8: invalid byte at position {exc.start}"
            raise CodecError(msg) from None
        try:
            value, end = self._scan(text, 0)
        except _OutOfRangeError as exc:
            raise CodecError(_out_of_range(text, str(exc))) from None
        except (StopIteration, ValueError, RecursionError):
            pass
        else:
            if end == len(text):
                return value
        try:
            return self._decoder.decode(text)
        except json.JSONDecodeError as exc:
            msg = f"value is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
            raise CodecError(msg) from None
        except _OutOfRangeError as exc:
            raise CodecError(_out_of_range(text, str(exc))) from None
        except ValueError as exc:
            msg = f"value is not JSON: {exc}"
            raise CodecError(msg) from None
        except RecursionError:
            msg = "value is nested too deeply"
            raise CodecError(msg) from None

    def encode(self, value: Any) -> bytes:
        """``value`` as compact UTF-8 JSON; raises :class:`CodecError` for non-JSON values."""
        iterencode = self._iterencode
        if iterencode is not None:
            try:
                return "".join(iterencode(value, 0)).encode("utf-8")
            except (TypeError, ValueError, RecursionError):
                pass  # the full encoder words it, as ever
        try:
            return self._encoder.encode(value).encode("utf-8")
        except (TypeError, ValueError, RecursionError) as exc:
            msg = f"cannot encode the value as JSON: {exc}"
            raise CodecError(msg) from None
