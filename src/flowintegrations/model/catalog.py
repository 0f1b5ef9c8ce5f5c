"""A set of integrations, loaded from and dumped to a catalog file: :class:`Catalog`."""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from flowintegrations.errors import CatalogError, CatalogProblem
from flowintegrations.model.datamodel import _duplicates, _to_tuple
from flowintegrations.model.integration import Integration

if TYPE_CHECKING:
    from flowintegrations.model.diff import CatalogDiff

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

    def diff(self, other: Catalog) -> CatalogDiff:
        """Every change from this catalog (the old one) to ``other`` (the new one).

        Each :class:`~flowintegrations.model.diff.Change` says whether it breaks the engine,
        the adapter or neither, and names the processes of the scenario's ``used_by``.
        """
        from flowintegrations.model.diff import diff_catalogs  # noqa: PLC0415 - diff imports us

        return diff_catalogs(self.integrations, other.integrations)

    @classmethod
    def load(cls, source: str | os.PathLike[str] | Mapping[str, Any]) -> Catalog:
        """Load a catalog from a file path, a JSON string or an already parsed mapping.

        A ``str`` whose first non-blank character is ``{`` or ``[`` is JSON text; any other
        ``str`` is a path. Raises :class:`~flowintegrations.CatalogError` whose ``problems``
        name the JSON path of every problem found (and whose ``source`` names the file).
        Loading never executes anything the file says.
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
            raise CatalogError(unreadable_file(path, exc)) from exc
        data = parse_json(text, str(path))
        try:
            return structure_catalog(data)
        except CatalogError as exc:
            raise CatalogError(exc.problems, source=str(path)) from None

    def dump(self) -> dict[str, Any]:
        """This catalog as catalog-file JSON data; ``Catalog.load(c.dump()) == c``."""
        from flowintegrations.model.wire import unstructure_catalog  # noqa: PLC0415

        return unstructure_catalog(self)

    def dumps(self, *, indent: int | None = 2) -> str:
        """This catalog as catalog-file JSON text."""
        return json.dumps(self.dump(), indent=indent, ensure_ascii=False) + "\n"


def unreadable_file(path: str | os.PathLike[str], exc: OSError | UnicodeDecodeError) -> str:
    """Why the catalog file at ``path`` cannot be read, in words (no errno, no repeated path).

    ``cannot read catalog file 'nope.json': no such file``.
    """
    return f"cannot read catalog file {str(path)!r}: {read_error_reason(exc)}"


def read_error_reason(exc: OSError | UnicodeDecodeError) -> str:
    """Why a file could not be read as text, in a few words: ``no such file``."""
    if isinstance(exc, UnicodeDecodeError):
        return f"it is not UTF-8 text ({exc})"
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "it is a directory"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return (exc.strerror or str(exc)).lower()


class _DuplicateKeyError(ValueError):
    """A key given twice in one JSON object; ``position`` is where its second use starts."""

    def __init__(self, key: str, position: int | None = None) -> None:
        super().__init__(key, position)
        self.key = key
        self.position = position


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    msg = f"{name} is not valid JSON"
    raise ValueError(msg)


def _locate_duplicate_key(text: str) -> int | None:
    """Where the first duplicate key of ``text`` starts, found by parsing it again.

    The C parser that reads catalogs does not say where an object is; this slower second
    pass, run only once a duplicate was found, uses the pure-Python scanner, which hands
    each object its offset. Objects are checked in the order the first pass completed them,
    so the key found is the one that pass reported.
    """
    decoder: Any = json.JSONDecoder(parse_constant=_reject_constant)
    parse_pairs: Any = getattr(json.decoder, "JSONObject")  # noqa: B009 - not in typeshed
    make_scanner: Any = getattr(json.scanner, "py_make_scanner")  # noqa: B009 - idem

    def parse_object(
        s_and_end: tuple[str, int], strict: bool, scan_once: Any, *_: Any
    ) -> tuple[dict[str, Any], int]:
        pairs, end = parse_pairs(s_and_end, strict, scan_once, None, list, {})
        s, position = s_and_end  # just past the "{"
        seen: set[str] = set()
        for key, _value in pairs:
            position = _skip_whitespace(s, position)
            if key in seen:
                raise _DuplicateKeyError(key, position)
            seen.add(key)
            # The object parsed, so it is well formed: "key" : value , "key" ...
            _, position = decoder.parse_string(s, position + 1, strict)
            position = _skip_whitespace(s, position) + 1
            _, position = scan_once(s, _skip_whitespace(s, position))
            position = _skip_whitespace(s, position) + 1
        return dict(pairs), end

    decoder.parse_object = parse_object
    decoder.scan_once = make_scanner(decoder)
    try:
        decoder.decode(text)
    except _DuplicateKeyError as exc:
        return exc.position
    except (ValueError, RecursionError):  # nested deeper than this parser goes: no position
        return None
    return None


def _skip_whitespace(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\n\r":
        position += 1
    return position


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
    except _DuplicateKeyError as exc:
        message = f"{origin}: duplicate key {exc.key!r} in one object"
        position = _locate_duplicate_key(text)
        if position is not None:
            where = json.JSONDecodeError("", text, position)
            message += f" at line {where.lineno}, column {where.colno}"
        raise CatalogError((CatalogProblem("$", message),)) from exc
    except ValueError as exc:
        raise CatalogError((CatalogProblem("$", f"{origin}: {exc}"),)) from exc
    except RecursionError:
        message = f"{origin} is not readable: its arrays and objects are nested too deeply"
        raise CatalogError((CatalogProblem("$", message),)) from None
