"""Every problem of a catalog file in one run: :func:`check_catalog`.

Loading stops at the structure: a scenario with a bad topic name is not built, so its
references and examples are never looked at. To report those too, the broken parts are
cut out of a copy of the file (the array element a problem is in: a topic binding, a
property, a scenario...) and the rest is loaded again, until it loads; then references,
enumerations and examples are checked on what is left. Paths always point into the
original file. A problem that cutting could itself have caused (an example that names a
property cut out, a reference to a cut definition) is not reported: the scopes in which
something was cut out of a model are left out of the later rounds.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from flowintegrations.errors import CatalogError, CatalogProblem
from flowintegrations.model import Catalog, json_path_step
from flowintegrations.model.catalog import parse_json, unreadable_file
from flowintegrations.model.wire import structure_catalog
from flowintegrations.validation.examples import example_problems

__all__ = ["CatalogReport", "check_catalog"]

_ROUNDS = 8
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]")
_UNESCAPES = {"\\\\": "\\", "\\'": "'", "\\n": "\n", "\\r": "\r", "\\t": "\t"}
_REQUIRED_INTEGRATION_KEYS = frozenset({"name", "identifier"})
_MODEL_KEYS = frozenset({"inputModel", "outputModel", "examples", "errorReply"})

Token = str | int


@attrs.frozen
class CatalogReport:
    """What :func:`check_catalog` found: the catalog (when it loads) and every problem."""

    source: str
    catalog: Catalog | None
    problems: tuple[CatalogProblem, ...]

    @property
    def ok(self) -> bool:
        """Whether the catalog has no problem at all."""
        return not self.problems


def check_catalog(
    source: str | os.PathLike[str] | Mapping[str, Any], *, name: str = ""
) -> CatalogReport:
    """Load ``source`` (a path or parsed catalog JSON) and report every problem in it.

    Structure, references, enumerations, examples and example exchanges are all checked
    in one run, each problem with its JSON path in the file. ``name`` is what the report
    calls the source (default: the path).
    """
    if isinstance(source, Mapping):
        data: Any = source
        label = name or "<catalog>"
    else:
        label = name or str(source)
        try:
            data = parse_json(Path(source).read_text(encoding="utf-8"), str(source))
        except (OSError, UnicodeDecodeError) as exc:
            problem = CatalogProblem("$", unreadable_file(source, exc))
            return CatalogReport(label, None, (problem,))
        except CatalogError as exc:
            return CatalogReport(label, None, exc.problems)
    try:
        catalog = structure_catalog(data)
    except CatalogError as exc:
        return _salvaged(label, data, exc.problems)
    return CatalogReport(label, catalog, tuple(_example_problems(catalog, None)))


def _example_problems(catalog: Catalog, pruned: Any) -> list[CatalogProblem]:
    problems = []
    for index, integration in enumerate(catalog.integrations):
        for p in example_problems(integration):
            path = f"$.integrations[{index}]{p.path[1:]}"
            if pruned is not None:
                path = _original(pruned, path)
            problems.append(CatalogProblem(path, p.message, p.value))
    return problems


class _Indexed(list[Any]):
    """A JSON array of the pruned copy that remembers each element's original index."""

    origin: list[int]


def _indexed(value: Any) -> Any:
    if isinstance(value, list):
        copied = _Indexed(_indexed(v) for v in value)
        copied.origin = list(range(len(value)))
        return copied
    if isinstance(value, Mapping):
        return {k: _indexed(v) for k, v in value.items()}
    return copy.copy(value)


def _salvaged(label: str, data: Any, first: tuple[CatalogProblem, ...]) -> CatalogReport:
    reported = list(first)
    pruned = _indexed(data)
    cut: list[tuple[Token, ...]] = []  # original paths cut out
    # original scopes whose later problems may be artifacts, and whether only examples' are
    tainted: list[tuple[tuple[Token, ...], bool]] = []
    # (path in the pruned copy, path in the original file) of the problems to cut out
    pending = [(t, t) for t in (_tokens(p.path) for p in first) if t is not None]
    for _ in range(_ROUNDS):
        targets: dict[tuple[Token, ...], tuple[Token, ...] | None] = {}
        for here, original in pending:
            covered = any(_under(original, c) for c in cut)
            target = _target(here, covered=covered)
            if target is not None:
                targets[target] = _tokens(_original(pruned, _render(target)))
        progress = False
        # Deepest and last first, so that no cut moves the elements of another.
        for target in sorted(targets, key=_sort_key, reverse=True):
            where = targets[target]
            if where is not None and _delete(pruned, target):
                progress = True
                cut.append(where)
                scope = _scope(where)
                if scope is not None:
                    tainted.append(scope)
        if not progress:
            break
        try:
            catalog = structure_catalog(pruned)
        except CatalogError as exc:
            pending = []
            for problem in exc.problems:
                now_at = _tokens(problem.path)
                path = _original(pruned, problem.path)
                was_at = _tokens(path)
                if now_at is None or was_at is None:
                    continue
                pending.append((now_at, was_at))
                if _new(was_at, cut, tainted):
                    reported.append(CatalogProblem(path, problem.message, problem.value))
            continue
        for problem in _example_problems(catalog, pruned):
            found_at = _tokens(problem.path)
            if found_at is not None and _new(found_at, cut, tainted):
                reported.append(problem)
        break
    return CatalogReport(label, None, tuple(dict.fromkeys(reported)))


def _sort_key(tokens: tuple[Token, ...]) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, t, "") if isinstance(t, int) else (1, 0, t) for t in tokens)


def _new(
    tokens: tuple[Token, ...],
    cut: list[tuple[Token, ...]],
    tainted: list[tuple[tuple[Token, ...], bool]],
) -> bool:
    if any(_under(tokens, c) for c in cut):
        return False
    about_examples = "examples" in tokens or "example" in tokens
    return not any(
        _under(tokens, scope) and (about_examples or not examples_only)
        for scope, examples_only in tainted
    )


def _under(tokens: tuple[Token, ...], prefix: tuple[Token, ...]) -> bool:
    return tokens[: len(prefix)] == prefix


def _target(tokens: tuple[Token, ...], *, covered: bool) -> tuple[Token, ...] | None:
    """What to cut for a problem at ``tokens``: the array element it is in, or its key."""
    deep = [k for k, t in enumerate(tokens) if isinstance(t, int) and k >= 3]
    if deep:
        return tokens[: deep[-1] + 1]
    if not tokens:
        return None
    if len(tokens) == 1:
        return tokens  # a key of the root: formatVersion, an unknown key...
    if len(tokens) >= 3 and isinstance(tokens[1], int):
        key = tokens[2]
        if len(tokens) == 3 and not covered and key not in _REQUIRED_INTEGRATION_KEYS:
            return tokens  # an optional key of the integration
        if len(tokens) > 3 and not covered:
            return tokens  # a definition, or another key below the integration
    if len(tokens) >= 2 and isinstance(tokens[1], int):
        return tokens[:2]  # nothing smaller to cut: the integration
    return None


def _scope(original: tuple[Token, ...]) -> tuple[tuple[Token, ...], bool] | None:
    """The scope whose later problems cutting ``original`` may cause, if any.

    Cutting a definition or an enumeration may leave references to it unresolved: every
    later problem of the integration may be an artifact. Cutting a part of a scenario's
    model may only make its examples look wrong.
    """
    if len(original) < 3 or not isinstance(original[1], int):
        return None
    if original[2] in ("definitions", "enumerations"):
        return original[:2], False
    if original[2] == "scenarios" and len(original) > 5 and original[4] in _MODEL_KEYS:
        return original[:4], True
    return None


def _delete(data: Any, target: tuple[Token, ...]) -> bool:
    node = data
    for step in target[:-1]:
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return False
        elif not isinstance(node, Mapping) or step not in node:
            return False
        node = node[step]
    last = target[-1]
    if isinstance(last, int) and isinstance(node, _Indexed) and last < len(node):
        del node[last]
        del node.origin[last]
        return True
    if isinstance(last, str) and isinstance(node, dict) and last in node:
        del node[last]
        return True
    return False


def _tokens(path: str) -> tuple[Token, ...] | None:
    if not path.startswith("$"):
        return None
    tokens: list[Token] = []
    position = 1
    while position < len(path):
        found = _STEP.match(path, position)
        if found is None:
            return None
        key, index, quoted = found.groups()
        if index is not None:
            tokens.append(int(index))
        elif quoted is not None:
            tokens.append(_unescape(quoted))
        else:
            tokens.append(key)
        position = found.end()
    return tuple(tokens)


def _unescape(quoted: str) -> str:
    return re.sub(
        r"\\u([0-9a-f]{4})|\\.",
        lambda m: (
            chr(int(m.group(1), 16)) if m.group(1) else _UNESCAPES.get(m.group(0), m.group(0))
        ),
        quoted,
    )


def _render(tokens: tuple[Token, ...]) -> str:
    return "$" + "".join(f"[{t}]" if isinstance(t, int) else json_path_step(t) for t in tokens)


def _original(pruned: Any, path: str) -> str:
    """``path`` in the pruned copy, as a path in the original file."""
    tokens = _tokens(path)
    if tokens is None:
        return path
    node: Any = pruned
    result: list[Token] = []
    for step in tokens:
        if isinstance(step, int) and isinstance(node, _Indexed) and step < len(node):
            result.append(node.origin[step])
            node = node[step]
        elif isinstance(step, str) and isinstance(node, Mapping) and step in node:
            result.append(step)
            node = node[step]
        else:
            result.append(step)
            node = None
    return _render(tuple(result))
