"""Message headers a scenario declares: :class:`Header`."""

from __future__ import annotations

import attrs

from flowintegrations.errors import CatalogError

__all__ = ["DEFAULT_HEADERS", "Header"]


def _check_name(instance: Header, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value:
        raise CatalogError(f"a header name must be a non-empty string, got {value!r}", "$.name")


@attrs.frozen(cache_hash=True)
class Header:
    """A header that travels with a scenario's messages.

    ``mandatory`` headers must be present on every request. ``propagate`` headers are
    copied from the request onto the reply (every undeclared header is copied too, since
    the engine correlates replies by the headers it sent). A ``secret`` header (a ``jwt``
    token, say) is never logged and never shown in a repr or an error message.
    """

    name: str = attrs.field(validator=_check_name)
    mandatory: bool = attrs.field(default=False, kw_only=True)
    description: str = attrs.field(default="", kw_only=True)
    propagate: bool = attrs.field(default=True, kw_only=True)
    secret: bool = attrs.field(default=False, kw_only=True)


DEFAULT_HEADERS: tuple[Header, ...] = (Header("processInstanceId", mandatory=True),)
"""The headers of a scenario that declares none: ``processInstanceId``, mandatory."""
