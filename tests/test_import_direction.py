"""Layers only import downward (DESIGN.md, Architecture), checked on every import statement.

Every module under ``src/flowintegrations`` is parsed with :mod:`ast`, and every import is
collected: top-level and function-local, inside ``if TYPE_CHECKING:`` too, ``import x`` and
``from x import y``, absolute and relative. Each module belongs to a layer, and a layer may
import only the layers listed for it in ``MAY_IMPORT``. The few imports that may cross a
line anyway are in two small tables below, each with its reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import attrs
import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "flowintegrations"

# Module (or package) -> layer; the longest matching prefix wins.
LAYERS = {
    # the leaf modules every layer may use
    "flowintegrations.errors": "leaf",
    "flowintegrations.vocabulary": "leaf",
    "flowintegrations.repeats": "leaf",
    # the typed domain core
    "flowintegrations.model": "model",
    # data model -> schema -> compiled validator, and the one payload walker
    "flowintegrations.validation": "validation",
    # moving records; knows no models
    "flowintegrations.transport": "transport",
    # small helpers of the runtime that know no models
    "flowintegrations.codec": "support",
    "flowintegrations.retry": "support",
    # the handling pipeline and what it is made of
    "flowintegrations.runtime": "runtime",
    "flowintegrations.context": "runtime",
    "flowintegrations.deadletter": "runtime",
    "flowintegrations.deferred": "runtime",
    "flowintegrations.replies": "runtime",
    # what ties the layers together
    "flowintegrations.app": "wiring",
    "flowintegrations.client": "wiring",
    "flowintegrations.flow": "wiring",
    "flowintegrations.observability": "wiring",
    "flowintegrations.loading": "wiring",
    "flowintegrations.asyncapi": "wiring",
    "flowintegrations.demo": "wiring",
    # on top: test helpers, the command line, the package namespace itself
    "flowintegrations.testing": "top",
    "flowintegrations.cli": "top",
    "flowintegrations.__main__": "top",
    "flowintegrations": "top",
}

_BELOW_WIRING = {"leaf", "model", "validation", "transport", "support", "runtime"}
MAY_IMPORT = {
    "leaf": {"leaf"},
    "model": {"leaf", "model"},
    "validation": {"leaf", "model", "validation"},
    "transport": {"leaf", "transport"},
    "support": {"leaf", "support"},
    "runtime": {"leaf", "support", "model", "validation", "transport", "runtime"},
    "wiring": _BELOW_WIRING | {"wiring"},
    "top": _BELOW_WIRING | {"wiring", "top"},
}

FACADES = {
    ("flowintegrations.model.datamodel", "DataModel.json_schema"): "builds the schema lazily",
    ("flowintegrations.model.datamodel", "DataModel.validate"): "validates lazily",
    ("flowintegrations.model.catalog", "Catalog.load"): "may check a catalog lazily",
    ("flowintegrations.model.catalog", "Catalog.dump"): "may check a catalog lazily",
    ("flowintegrations.model.checks", "property_example_problems"): "checks examples lazily",
}
"""The model's facades (DESIGN.md): only these functions may import the validation layer,
and only inside the function, so that importing the model never imports validation."""

KNOWN_EXCEPTIONS = {
    (
        "flowintegrations.errors",
        "flowintegrations.validation.violations",
    ): "an annotation only, under TYPE_CHECKING: never imported at run time",
}
"""Imports that cross a line, as (importing module, imported module), with the reason."""


@attrs.frozen
class Import:
    """One import statement: who imports what, where."""

    module: str
    function: str | None
    target: str
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    base = SRC.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


class _Collector(ast.NodeVisitor):
    """Every import of one module, with the function (``Class.method``) it sits in."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.scope: list[str] = []
        self.functions: list[str] = []
        self.found: list[Import] = []

    def _enter(self, node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scope.append(node.name)
        is_function = not isinstance(node, ast.ClassDef)
        if is_function:
            self.functions.append(".".join(self.scope))
        self.generic_visit(node)
        if is_function:
            self.functions.pop()
        self.scope.pop()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._enter(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._enter(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._enter(node)

    def _add(self, target: str, node: ast.stmt) -> None:
        if target == PACKAGE or target.startswith(f"{PACKAGE}."):
            function = self.functions[-1] if self.functions else None
            self.found.append(Import(self.module, function, target, node.lineno))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")
            base = base[: len(base) - (node.level - 1)]
            source = ".".join([*base, *([node.module] if node.module else [])])
        else:
            source = node.module or ""
        for alias in node.names:
            # "from pkg import submodule" imports the submodule; anything else, pkg itself.
            candidate = f"{source}.{alias.name}"
            self._add(candidate if _is_module(candidate) else source, node)


def _all_imports() -> list[Import]:
    found: list[Import] = []
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        collector = _Collector(_module_name(path), path.name == "__init__.py")
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        found.extend(collector.found)
    return found


IMPORTS = _all_imports()


def layer(module: str) -> str:
    """The layer of ``module``: the entry of its longest prefix in LAYERS."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in LAYERS:
            return LAYERS[prefix]
    msg = f"{module} is in no layer: add it to LAYERS"
    raise AssertionError(msg)


def _allowed(found: Import) -> bool:
    if layer(found.target) in MAY_IMPORT[layer(found.module)]:
        return True
    if (found.module, found.target) in KNOWN_EXCEPTIONS:
        return True
    facade = (found.module, found.function) in FACADES
    return facade and layer(found.target) == "validation"


def test_the_collector_sees_every_kind_of_import() -> None:
    """Function-local, relative and "from package import module" imports are all collected."""
    source = (
        "from . import walker\n"
        "from ..model import Property\n"
        "import flowintegrations.errors\n"
        "class C:\n"
        "    def f(self):\n"
        "        from flowintegrations.validation.schema import to_json_schema\n"
    )
    collector = _Collector("flowintegrations.validation.x", is_package=False)
    collector.visit(ast.parse(source))
    expected = [
        Import("flowintegrations.validation.x", None, "flowintegrations.validation.walker", 1),
        Import("flowintegrations.validation.x", None, "flowintegrations.model", 2),
        Import("flowintegrations.validation.x", None, "flowintegrations.errors", 3),
        Import("flowintegrations.validation.x", "C.f", "flowintegrations.validation.schema", 6),
    ]
    assert expected == collector.found


def test_every_module_is_in_a_layer() -> None:
    """Each module of the package belongs to a layer of LAYERS."""
    modules = {found.module for found in IMPORTS} | {found.target for found in IMPORTS}
    unplaced = sorted(m for m in modules if not any(_prefixes(m) & LAYERS.keys()))
    assert unplaced == []


def _prefixes(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:end]) for end in range(1, len(parts) + 1)}


@pytest.mark.parametrize("module_layer", sorted(MAY_IMPORT))
def test_layers_only_import_downward(module_layer: str) -> None:
    """No module imports a layer its own layer may not use, outside the two tables."""
    wrong = [
        f"{found.module}:{found.line} imports {found.target}"
        for found in IMPORTS
        if layer(found.module) == module_layer and not _allowed(found)
    ]
    assert wrong == []


def test_the_model_imports_validation_only_inside_its_facades() -> None:
    """The model's imports of the validation layer sit in exactly the facade functions."""
    crossing = {
        (found.module, found.function)
        for found in IMPORTS
        if layer(found.module) == "model" and layer(found.target) == "validation"
    }
    assert crossing <= FACADES.keys()


def test_the_model_has_its_two_schema_facades() -> None:
    """DataModel.json_schema and DataModel.validate reach validation by a lazy import."""
    facades = {
        (found.module, found.function)
        for found in IMPORTS
        if layer(found.module) == "model" and layer(found.target) == "validation"
    }
    expected = {
        ("flowintegrations.model.datamodel", "DataModel.json_schema"),
        ("flowintegrations.model.datamodel", "DataModel.validate"),
    }
    assert expected <= facades


def test_nothing_below_imports_the_top() -> None:
    """No layer below the wiring imports testing, cli, app, client or flow."""
    top = ("testing", "cli", "app", "client", "flow")
    wrong = [
        f"{found.module}:{found.line} imports {found.target}"
        for found in IMPORTS
        if layer(found.module) in _BELOW_WIRING
        and any(f"{PACKAGE}.{name}" in _prefixes(found.target) for name in top)
        and (found.module, found.target) not in KNOWN_EXCEPTIONS
    ]
    assert wrong == []


def test_every_known_exception_still_happens() -> None:
    """A known exception that the code no longer needs is taken out of the table."""
    happening = {(found.module, found.target) for found in IMPORTS}
    assert set(KNOWN_EXCEPTIONS) <= happening


NAMED_CONSTRUCTORS = {
    ("flowintegrations.model.datamodel", "DataModel.from_json_sample"): "profiles.py builds it",
    ("flowintegrations.model.datamodel", "DataModel.from_json_schema"): "profiles.py builds it",
}
"""Named constructors whose body lives in the module that builds the value, imported inside
the function (like the validation facades): the only imports a cycle may go through."""


def _cycles(imports: list[Import]) -> list[list[str]]:
    """The groups of modules that import each other, directly or around a loop (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for found in imports:
        lazy = (found.module, found.function)
        if lazy in FACADES or lazy in NAMED_CONSTRUCTORS or found.target == found.module:
            continue
        graph.setdefault(found.module, set()).add(found.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return groups


def test_the_cycle_finder_finds_a_loop_of_three() -> None:
    """A -> b -> c -> a is one group; a module importing only downward is in none."""
    imports = [
        Import("p.a", None, "p.b", 1),
        Import("p.b", "f", "p.c", 1),
        Import("p.c", None, "p.a", 1),
        Import("p.d", None, "p.a", 1),
    ]
    assert _cycles(imports) == [["p.a", "p.b", "p.c"]]


def test_no_modules_import_each_other() -> None:
    """No import cycle, counting function-local and TYPE_CHECKING imports (facades aside)."""
    assert _cycles(IMPORTS) == []
