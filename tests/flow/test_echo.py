"""echoed and culture: what an answer repeats of its request, fit for the platform."""

from __future__ import annotations

from typing import Any

import pytest

from flowintegrations.flow.echo import CULTURE_FIELDS, culture, echoed

TENANT = "3b8f7c2e-1d4a-4f6b-9e0c-5a7d2b1c9e01"
ENGINE_CULTURE = {
    "id": None,
    "developerName": None,
    "developerSummary": None,
    "brand": None,
    "language": "EN",
    "country": "USA",
    "variant": None,
}


def test_the_engines_culture_is_echoed_as_sent() -> None:
    """A culture as the engine sends it comes back unchanged (code added as null)."""
    assert culture(ENGINE_CULTURE) == {**ENGINE_CULTURE, "code": None}


def fields(*dropped: str, **given: Any) -> dict[str, Any]:
    """Every Culture field null but ``given``, without ``dropped``."""
    found = {name: given.get(name) for name in CULTURE_FIELDS}
    return {k: v for k, v in found.items() if k not in dropped}


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("EN", None),
        ([], None),
        ({"": 1, "language": 7, "country": "RO"}, fields("language", country="RO")),
        ({"id": "not-a-uuid", "language": "ro"}, fields(language="ro")),
        ({"id": TENANT}, fields(id=TENANT)),
        ({"language": "\ud800"}, fields("language")),
    ],
)
def test_a_culture_keeps_only_what_the_platform_can_read(sent: Any, kept: Any) -> None:
    """Unknown keys, non-text values, a non-UUID id and lone surrogates are left out."""
    assert culture(sent) == kept


def test_a_service_response_echoes_token_tenant_culture_and_annotations() -> None:
    """Fields of the right type are echoed; a non-UUID tenantId or a non-text token is null."""
    assert echoed(
        {"token": "t", "tenantId": TENANT, "culture": None, "annotations": {"a": "b"}}
    ) == {"token": "t", "tenantId": TENANT, "culture": None, "annotations": {"a": "b"}}
    assert echoed(
        {"token": 5, "tenantId": "tenant-1", "annotations": {"a": 1, "b": None, "c": "d"}}
    ) == {"token": None, "tenantId": None, "culture": None, "annotations": {"b": None, "c": "d"}}
