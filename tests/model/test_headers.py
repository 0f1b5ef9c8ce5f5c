"""Header: the declared headers of a scenario."""

from __future__ import annotations

import attrs
import pytest

from flowintegrations import CatalogError, Header
from flowintegrations.model import DEFAULT_HEADERS
from support.exact import exactly


def test_header_defaults() -> None:
    """A header is optional, propagated, not secret and undescribed by default."""
    header = Header("processInstanceUuid")
    assert (
        header.mandatory,
        header.propagate,
        header.secret,
        header.description,
    ) == (False, True, False, "")


def test_header_options_are_keyword_only() -> None:
    """Only the name is positional."""
    with pytest.raises(TypeError):
        Header("jwt", True)  # type: ignore[misc]


def test_header_is_frozen() -> None:
    """A Header cannot be changed once built."""
    header = Header("jwt")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        header.secret = True  # type: ignore[misc]


def test_empty_header_name_is_rejected() -> None:
    """A header needs a non-empty name."""
    message = "$.name: a header name must be a non-empty string, got ''"
    with pytest.raises(CatalogError, match=exactly(message)):
        Header("")


def test_default_headers_are_a_mandatory_process_instance_id() -> None:
    """The default headers of a scenario are processInstanceId, mandatory."""
    assert (Header("processInstanceId", mandatory=True),) == DEFAULT_HEADERS
