"""A set of integrations, loaded from and dumped to a catalog file: :class:`Catalog`."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from flowintegrations.errors import CatalogError, CatalogProblem
from flowintegrations.model.datamodel import _duplicates, _to_tuple
from flowintegrations.model.integration import Integration

__all__ = ["FORMAT_VERSION", "Catalog"]

FORMAT_VERSION = 1
"""The catalog file format this library writes (and the newest it reads)."""


@attrs.frozen(cache_hash=True)
class Catalog:
    """A set of integrations with unique identifiers, as kept in a catalog file.

    The file is JSON whose keys mirror the engine's admin UI (``name``, ``identifier``,
    ``systemName``, ``scenarios``, ``topics`` with ``out``/``in``/``environment``,
    ``inputModel``, ``outputModel``, ...). Its JSON Schema is ``docs/catalog.schema.json``.
    """

    integrations: tuple[Integration, ...] = attrs.field(default=(), converter=_to_tuple)

    def __attrs_post_init__(self) -> None:
        problems = list(
            _duplicates(
                [i.identifier for i in self.integrations],
                "$.integrations",
                "integration identifier",
                ".identifier",
            )
        )
        if problems:
            raise CatalogError(problems)

    def __iter__(self) -> Iterator[Integration]:
        return iter(self.integrations)

    def integration(self, identifier: str) -> Integration:
        """The integration called ``identifier``; raises :class:`~flowintegrations.CatalogError`."""
        for integration in self.integrations:
            if integration.identifier == identifier:
                return integration
        known = ", ".join(repr(i.identifier) for i in self.integrations) or "none"
        raise CatalogError(
            f"the catalog has no integration {identifier!r} (it has: {known})", "$.integrations"
        )

    @classmethod
    def load(cls, source: str | os.PathLike[str] | Mapping[str, Any]) -> Catalog:
        """Load a catalog from a file path, a JSON string or an already parsed mapping.

        A ``str`` whose first non-blank character is ``{`` or ``[`` is JSON text; any other
        ``str`` is a path. Raises :class:`~flowintegrations.CatalogError` whose ``problems``
        name the JSON path of every problem found. Loading never executes anything the file says.
        """
        from flowintegrations.model.wire import structure_catalog  # noqa: PLC0415

        if isinstance(source, Mapping):
            return structure_catalog(source)
        if isinstance(source, str) and source.lstrip().startswith(("{", "[")):
            return structure_catalog(parse_json(source, "<string>"))
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogError(f"cannot read catalog file {str(path)!r}: {exc}") from exc
        return structure_catalog(parse_json(text, str(path)))

    def dump(self) -> dict[str, Any]:
        """This catalog as catalog-file JSON data; ``Catalog.load(c.dump()) == c``."""
        from flowintegrations.model.wire import unstructure_catalog  # noqa: PLC0415

        return unstructure_catalog(self)

    def dumps(self, *, indent: int | None = 2) -> str:
        """This catalog as catalog-file JSON text."""
        return json.dumps(self.dump(), indent=indent, ensure_ascii=False) + "\n"


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            msg = f"duplicate key {key!r} in one object"
            raise ValueError(msg)
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    msg = f"{name} is not valid JSON"
    raise ValueError(msg)


def parse_json(text: str, origin: str) -> Any:
    """Parse catalog JSON strictly (no duplicate keys, no NaN); errors name line and column."""
    try:
        return json.loads(
            text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant
        )
    except json.JSONDecodeError as exc:
        problem = CatalogProblem(
            "$", f"{origin} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        )
        raise CatalogError((problem,)) from exc
    except ValueError as exc:
        raise CatalogError((CatalogProblem("$", f"{origin}: {exc}"),)) from exc
