"""What an answer echoes of its request, made fit for the platform: :func:`echoed`.

Flow's answers repeat parts of the request (a ServiceResponse its ``token``,
``tenantId``, ``culture`` and ``annotations``; every answer its ``culture``). The platform
parses them with its own types (Java holds ``tenantId`` and a culture's ``id`` as UUIDs),
so a request that sent something else must not make an answer the platform cannot read:
what does not fit is null, or left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flowintegrations.vocabulary import is_encodable

__all__ = ["CULTURE_FIELDS", "culture", "echoed", "uuid_text"]

CULTURE_FIELDS = (
    "id",
    "developerName",
    "developerSummary",
    "brand",
    "language",
    "country",
    "variant",
    "code",
)
"""The fields of a Culture (the engine's CultureAPI, the Java SDK's Culture)."""

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def culture(value: Any) -> dict[str, str | None] | None:
    """A request's ``culture`` fit to be echoed in an answer, or ``None``.

    Answers echo the request's culture; the platform parses it as a Culture, so only its
    fields with text (or null) values are kept, and an ``id`` only when it is a UUID (Java
    holds it as one). Anything that is not an object is ``None``.
    """
    if not isinstance(value, dict):
        return None
    kept: dict[str, str | None] = {}
    for key in CULTURE_FIELDS:
        found = value.get(key)
        if found is None or (isinstance(found, str) and is_encodable(found)):
            kept[key] = found
    kept["id"] = uuid_text(kept.get("id"))
    return kept


def uuid_text(value: Any) -> str | None:
    """``value`` when it is a UUID's text (the platform parses its ids as UUIDs), else ``None``."""
    return value if isinstance(value, str) and _UUID.fullmatch(value) else None


def echoed(request: Mapping[str, Any]) -> dict[str, Any]:
    """What a ServiceResponse echoes of ``request``, each field fit for the platform.

    ``token`` (text), ``tenantId`` (a UUID: Java parses it as one), ``culture`` (see
    :func:`culture`) and ``annotations`` (text to text); a field that does not fit is
    null, so a malformed request never makes an answer the platform cannot read.
    """
    token = request.get("token")
    annotations = request.get("annotations")
    if isinstance(annotations, dict):
        annotations = {
            k: v
            for k, v in annotations.items()
            if isinstance(k, str)
            and is_encodable(k)
            and (v is None or (isinstance(v, str) and is_encodable(v)))
        }
    else:
        annotations = None
    return {
        "token": token if isinstance(token, str) and is_encodable(token) else None,
        "tenantId": uuid_text(request.get("tenantId")),
        "culture": culture(request.get("culture")),
        "annotations": annotations,
    }
