"""The engine's vocabulary, defined once.

Header names, environment variables, the engine's topic pattern, and how secrets are kept
out of text (:func:`redact`, :data:`REDACTED`).

This module imports nothing of the SDK, so every layer may use it (as every layer may use
:mod:`flowintegrations.errors`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

__all__ = [
    "BOOTSTRAP_VAR",
    "CORRELATION_HEADERS",
    "DEFAULT_ENGINE_PATTERN",
    "DEFER_SECRET_VAR",
    "ENVIRONMENT_VAR",
    "FLOW_TOKEN_VAR",
    "KAFKA_SETTING_PREFIX",
    "MAX_MESSAGE_BYTES",
    "PROCESS_INSTANCE_ID",
    "PROCESS_INSTANCE_UUID",
    "REDACTED",
    "STATE_DIR_VAR",
    "UNREADABLE_HEADERS",
    "UNREADABLE_HEADERS_VALUE",
    "encodable",
    "is_encodable",
    "redact",
]

PROCESS_INSTANCE_ID = "processInstanceId"
"""The header the engine correlates a reply by (mandatory on every scenario by default)."""

PROCESS_INSTANCE_UUID = "processInstanceUuid"
"""The header whose value becomes the reply's Kafka key, when the request has it."""

CORRELATION_HEADERS = (
    PROCESS_INSTANCE_ID,
    PROCESS_INSTANCE_UUID,
    "destinationId",
    "callbacksForAction",
    "fxContext",
    "Fx-AppId",
    "Fx-RootAppId",
    "Fx-Organization-Id",
)
"""The headers the engine puts on a request and correlates the reply by (copied back)."""

ENVIRONMENT_VAR = "FLOWINTEGRATIONS_ENV"
"""The environment whose topic bindings are used when none is given in code."""

BOOTSTRAP_VAR = "FLOWINTEGRATIONS_KAFKA_BOOTSTRAP"
"""Kafka bootstrap servers for the CLI and the tests (``host:port[,host:port...]``)."""

FLOW_TOKEN_VAR = "FLOWINTEGRATIONS_FLOW_TOKEN"  # noqa: S105 - a variable's name
"""The basic-auth token ``flowintegrations serve`` requires of Flow (with ``--username``)."""
DEFER_SECRET_VAR = "FLOWINTEGRATIONS_DEFER_SECRET"  # noqa: S105 - a variable's name
"""The secret that signs deferred-reply tokens when ``App(defer_secret=...)`` is not given."""

KAFKA_SETTING_PREFIX = "FLOWINTEGRATIONS_KAFKA_"
"""``FLOWINTEGRATIONS_KAFKA_<NAME>`` environment variables set Kafka security settings."""

MAX_MESSAGE_BYTES = 1024 * 1024
"""The size limit everything agrees on by default: the largest value the codec decodes,
the largest record the in-memory transport and the Kafka producer (``message.max.bytes``)
send. A request that passes decoding can always be dead-lettered (in full, or reduced)."""

DEFAULT_ENGINE_PATTERN = "ai.flowx.{env}.engine.receive.*"
"""The topic pattern the engine reads replies from; ``{env}`` is the environment."""

UNREADABLE_HEADERS = "flowintegrations.unreadable-headers"
"""The one header a transport gives a record whose headers it cannot read.

confluent-kafka cannot decode a header *name* that is not UTF-8 (and crashes if asked
twice), so the Kafka transport hands such a record on with this header alone (value
:data:`UNREADABLE_HEADERS_VALUE`, which is not UTF-8 on purpose): the header checks then
refuse it, and it is dead-lettered at stage ``headers`` instead of stopping the adapter.
"""

UNREADABLE_HEADERS_VALUE = b"\xff"
"""The value of :data:`UNREADABLE_HEADERS`: never valid UTF-8, so no fast path accepts it."""

STATE_DIR_VAR = "FLOWINTEGRATIONS_STATE_DIR"
"""Where state that must survive a restart is kept (records that crashed the client)."""

REDACTED = "<redacted>"
"""What stands in for a secret wherever it would be shown: logs, reprs, errors, headers."""

_MIN_PREFIX = 8
"""A truncated secret is still redacted when at least this many of its characters show."""

_TRUNCATION_MARKS = ("...", "\u2026")


def _forms(secret: str) -> set[str]:
    """The ways ``secret`` may appear in text: as is, and escaped by json, repr or ascii."""
    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    for quoted in (repr(secret), ascii(secret)):
        forms.add(quoted[1:-1])
    forms.add(secret.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace"))
    return {form for form in forms if form}


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret in ``secrets`` replaced by :data:`REDACTED`.

    A secret is found as it is and in its escaped forms (as ``json.dumps``, ``repr()`` and
    ``ascii()`` write it inside their quotes), and also when a message cut it short: a
    prefix of at least eight of its characters followed by ``...`` is redacted too.
    Longer secrets are replaced first, so a secret that contains another goes whole.
    """
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms |= _forms(secret)
    if not forms:
        return text
    for form in sorted(forms, key=len, reverse=True):
        if form in text:
            text = text.replace(form, REDACTED)
        if len(form) > _MIN_PREFIX:
            text = _redact_truncated(text, form)
    return text


def _redact_truncated(text: str, form: str) -> str:
    """Replace a prefix of ``form`` cut short by a truncation mark."""
    for mark in _TRUNCATION_MARKS:
        start = text.find(form[:_MIN_PREFIX])
        while start != -1:
            end = text.find(mark, start)
            if end != -1 and form.startswith(text[start:end]):
                text = text[:start] + REDACTED + text[end + len(mark) :]
            start = text.find(form[:_MIN_PREFIX], start + 1)
    return text


def is_encodable(text: str) -> bool:
    r"""Whether ``text`` encodes as UTF-8: JSON lets a lone surrogate (``"\ud800"``) through."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def encodable(text: str) -> str:
    r"""``text`` made safe to encode as UTF-8: lone surrogates become ``\udXXX`` escapes.

    Every text the SDK puts in a header or a log line goes through this, so that a hostile
    string (``"\ud800"`` is valid JSON) cannot make building a dead letter fail.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text
