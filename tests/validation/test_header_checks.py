"""Header checks: mandatory headers present, values UTF-8, secrets never shown."""

from __future__ import annotations

import pytest

from flowintegrations import Header, ValidationError, Violation
from flowintegrations.validation import decode_headers
from flowintegrations.vocabulary import REDACTED, UNREADABLE_HEADERS, UNREADABLE_HEADERS_VALUE
from support.exact import exactly

DECLARED = (
    Header("processInstanceId", mandatory=True),
    Header("jwt", secret=True, propagate=False),
)
SECRET = b"eyJhbGciOiJIUzI1NiJ9.secret-token"


def violations_of(raw: list[tuple[str, bytes | str]]) -> tuple[Violation, ...]:
    """The violations decode_headers raises for ``raw`` against DECLARED."""
    with pytest.raises(ValidationError) as caught:
        decode_headers(raw, DECLARED)
    return caught.value.violations


def test_bytes_and_str_values_are_decoded() -> None:
    """UTF-8 bytes and str values both come back as str."""
    raw: list[tuple[str, bytes | str]] = [
        ("processInstanceId", b"1001"),
        ("Fx-AppId", "app"),
        ("name", "Zoë".encode()),
    ]
    expected = {"processInstanceId": "1001", "Fx-AppId": "app", "name": "Zoë"}
    assert decode_headers(raw, DECLARED) == expected


def test_later_header_of_the_same_name_wins() -> None:
    """When a header repeats, its last value is kept."""
    raw: list[tuple[str, bytes | str]] = [("processInstanceId", b"1"), ("processInstanceId", b"2")]
    assert decode_headers(raw, DECLARED) == {"processInstanceId": "2"}


def test_undeclared_headers_are_kept() -> None:
    """Headers nobody declared pass through (the engine correlates by them)."""
    raw: list[tuple[str, bytes | str]] = [("callbacksForAction", b"cb")]
    assert decode_headers(raw) == {"callbacksForAction": "cb"}


def test_missing_mandatory_header() -> None:
    """A mandatory header that is absent is a 'required' violation at its path."""
    expected = (Violation("$.processInstanceId", "required", "is mandatory but missing"),)
    assert violations_of([("jwt", b"t")]) == expected


def test_optional_header_may_be_missing() -> None:
    """A declared header that is not mandatory may be absent."""
    assert decode_headers([("processInstanceId", "1")], DECLARED) == {"processInstanceId": "1"}


def test_non_utf8_value_is_a_violation_not_a_crash() -> None:
    """A value that is not UTF-8 is an 'encoding' violation carrying the raw bytes."""
    raw: list[tuple[str, bytes | str]] = [("processInstanceId", b"1"), ("Fx-AppId", b"\xff")]
    expected = (Violation("$['Fx-AppId']", "encoding", "is not valid UTF-8", b"\xff"),)
    assert violations_of(raw) == expected


def test_value_that_is_neither_bytes_nor_str() -> None:
    """A value that is neither bytes nor str is an 'encoding' violation."""
    raw: list[tuple[str, bytes | str]] = [("processInstanceId", None)]  # type: ignore[list-item]
    expected = (Violation("$.processInstanceId", "encoding", "is not bytes or str", None),)
    assert violations_of(raw) == expected


def test_undecodable_mandatory_header_is_reported_once() -> None:
    """A mandatory header that is present but not UTF-8 is not also reported as missing."""
    expected = (Violation("$.processInstanceId", "encoding", "is not valid UTF-8", b"\xc3"),)
    assert violations_of([("processInstanceId", b"\xc3")]) == expected


def test_every_header_violation_is_reported() -> None:
    """Encoding problems and missing headers are all reported together."""
    raw: list[tuple[str, bytes | str]] = [("a", b"\xff"), ("b", b"\xfe")]
    expected = [
        ("$.a", "encoding"),
        ("$.b", "encoding"),
        ("$.processInstanceId", "required"),
    ]
    assert [(v.path, v.rule) for v in violations_of(raw)] == expected


def test_header_name_cannot_forge_a_line_in_the_error() -> None:
    """A newline in a header name is escaped in the path: one line per violation, no forgery."""
    raw: list[tuple[str, bytes | str]] = [
        ("processInstanceId", b"1"),
        ("x\n  $.jwt: forged", b"\xff"),
    ]
    message = "invalid headers (1 violation):\n  $['x\\n  $.jwt: forged']: is not valid UTF-8"
    with pytest.raises(ValidationError, match=exactly(message)):
        decode_headers(raw, DECLARED)


def test_error_message_names_headers_as_the_subject() -> None:
    """The error says the headers are invalid and lists each violation."""
    message = "invalid headers (1 violation):\n  $.processInstanceId: is mandatory but missing"
    with pytest.raises(ValidationError, match=exactly(message)):
        decode_headers([], DECLARED)


def test_secret_value_that_is_not_utf8_is_redacted() -> None:
    """A secret header's bad value is replaced by the redaction marker in the violation."""
    raw: list[tuple[str, bytes | str]] = [("processInstanceId", b"1"), ("jwt", SECRET + b"\xff")]
    expected = (Violation("$.jwt", "encoding", "is not valid UTF-8", REDACTED),)
    assert violations_of(raw) == expected


def test_secret_value_never_appears_in_the_error() -> None:
    """Neither the message, the repr nor the violations of the error contain a secret value."""
    raw: list[tuple[str, bytes | str]] = [("jwt", SECRET + b"\xff"), ("x", b"\xff")]
    with pytest.raises(ValidationError) as caught:
        decode_headers(raw, DECLARED)
    shown = str(caught.value) + repr(caught.value) + repr(caught.value.violations)
    assert ("secret-token" in shown, REDACTED in shown) == (False, True)


def test_valid_secret_value_is_decoded() -> None:
    """A valid secret header is decoded like any other (only its display is guarded)."""
    raw: list[tuple[str, bytes | str]] = [("processInstanceId", b"1"), ("jwt", SECRET)]
    assert decode_headers(raw, DECLARED)["jwt"] == SECRET.decode()


def test_header_repr_holds_no_value() -> None:
    """A Header declaration carries no value to leak: its repr shows the declaration only."""
    expected = "Header(name='jwt', mandatory=False, description='', propagate=False, secret=True)"
    assert repr(DECLARED[1]) == expected


def test_headers_a_transport_could_not_read_are_refused_as_a_whole() -> None:
    """The unreadable-headers marker is one encoding violation at $, nothing else."""
    raw = ((UNREADABLE_HEADERS, UNREADABLE_HEADERS_VALUE),)
    with pytest.raises(ValidationError) as caught:
        decode_headers(raw, (Header("processInstanceId", mandatory=True),))
    assert [(v.path, v.rule, v.message) for v in caught.value.violations] == [
        ("$", "encoding", "cannot be read: a header name is not UTF-8")
    ]
