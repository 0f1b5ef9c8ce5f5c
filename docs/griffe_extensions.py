"""griffe extensions that make the API reference read as a reference, not as source.

Both are loaded by the python handler's ``extensions:`` option in mkdocs.yml, and run once
the package is loaded, before anything is rendered.

**SphinxRoles**: the docstrings name other objects the way Sphinx does
(``:class:`~flowintegrations.App```, ``:meth:`start```, ``:func:`EngineClient.request
<flowintegrations.EngineClient.request>```); mkdocstrings does not read roles, so each
becomes a cross-reference:

- a name is resolved the way a reader would: a member of the owning class, then of the
  module, then what the module imports; ``.name`` is relative to the current module; a
  dotted name resolves its first part and keeps the rest;
- the reference points at the object's canonical path, which mkdocstrings registers for
  every object it renders (whichever public page renders it);
- ``~`` shows the last part only, ``!`` never links, ``title <target>`` shows the title;
  functions and methods get ``()`` as Sphinx shows them;
- a name that resolves to nothing rendered (a builtin, a private module) is shown as code
  without a link: the reference is *optional*, so it never fails ``mkdocs build --strict``.

**DefaultValues**: griffe keeps the right-hand side of every assignment as the attribute's
value, and mkdocstrings prints it after ``=``. Two kinds of right-hand side are code, not
values:

- an attribute assigned in a method (``self.transport = transport if transport is not
  None else InMemoryTransport()`` in ``__init__``) has no default: nothing is shown;
- an attrs or dataclass field (``attempts: int = attrs.field(default=3, validator=...)``)
  shows its ``default=`` (``3``), or a call of its ``factory=`` / ``default_factory=``
  (``FrozenDict()``); a field without one is required: nothing is shown.
  ``attrs.Factory(list)`` as a default reads ``list()``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import griffe


def walk(obj: griffe.Object) -> Iterator[griffe.Object]:
    """``obj`` and every object defined in it (aliases are skipped: they are defined elsewhere)."""
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from walk(member)  # type: ignore[arg-type]  # not an alias, so an Object


ROLE = re.compile(
    r":(?P<kind>class|meth|func|attr|exc|mod|data|obj|const):`(?P<body>[^`\n]+)`",
)
"""One Sphinx cross-reference role, as written in a docstring."""

EXPLICIT_TITLE = re.compile(r"^(?P<title>.+?)\s*<(?P<target>[^<>]+)>$")
"""``title <target>`` inside a role."""

CALLABLE_KINDS = frozenset({"func", "meth"})
"""Roles shown with ``()`` after the name, as Sphinx shows them."""


def canonical(path: str, collection: griffe.ModulesCollection) -> str:
    """The path of the object ``path`` names in the end (through re-exports), if known."""
    try:
        found = collection[path]
    except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return path
    try:
        return str(found.canonical_path)
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return path


def resolve(name: str, scope: griffe.Object) -> str | None:
    """The full path of ``name`` as written in a docstring of ``scope``, or None if unknown."""
    if name.startswith("."):
        module = scope.module
        relative = module.path + name
        if relative in module.modules_collection:
            return relative
        name = name.lstrip(".")
    first, _, rest = name.partition(".")
    if first == scope.package.name:
        return name
    try:
        head = scope.resolve(first)
    except griffe.NameResolutionError:
        return None
    return f"{head}.{rest}" if rest else head


def reference(match: re.Match[str], scope: griffe.Object) -> str:
    """The HTML that replaces one role: an optional cross-reference, shown as code."""
    kind, body = match["kind"], match["body"].strip()
    explicit = EXPLICIT_TITLE.match(body)
    if explicit:
        title, target = explicit["title"], explicit["target"].strip()
    else:
        title = target = body
    link = not target.startswith("!")
    target = target.lstrip("!")
    if target.startswith("~"):
        target = target[1:]
        title = target.rsplit(".", 1)[-1]
    elif not explicit:
        title = target
    if kind in CALLABLE_KINDS and not explicit and not title.endswith(")"):
        title += "()"
    code = f"<code>{html.escape(title)}</code>"
    path = resolve(target, scope) if link else None
    if path is None:
        return code
    identifier = html.escape(canonical(path, scope.modules_collection), quote=True)
    return f'<autoref identifier="{identifier}" optional>{code}</autoref>'


def convert(text: str, scope: griffe.Object) -> str:
    """``text`` (a docstring of ``scope``) with every role replaced by a cross-reference."""
    return ROLE.sub(lambda match: reference(match, scope), text)


class SphinxRoles(griffe.Extension):
    """Rewrites the roles of every docstring of a package once it is loaded."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        """Convert the roles of every docstring of ``pkg``."""
        for obj in walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = convert(obj.docstring.value, obj)


FIELD_FUNCTIONS = frozenset(
    {"attrs.field", "attr.ib", "attr.attrib", "attr.field", "dataclasses.field", "field"}
)
"""Calls that declare a field, as written in a class body."""

FACTORY_FUNCTIONS = frozenset({"attrs.Factory", "attr.Factory", "Factory"})
"""``attrs.Factory(f)``: a default made by calling ``f``."""

FACTORY_KEYWORDS = ("factory", "default_factory")
"""Keywords of a field call that name a function making the default."""


def set_in_a_method(attribute: griffe.Attribute) -> bool:
    """Whether ``attribute`` is only assigned in a method (``self.x = ...``), not in the class.

    griffe labels an attribute of the class body both ``class-attribute`` and
    ``instance-attribute``; one assigned in ``__init__`` only the latter.
    """
    return "instance-attribute" in attribute.labels and "class-attribute" not in attribute.labels


def called(value: str | griffe.Expr | None, functions: frozenset[str]) -> griffe.ExprCall | None:
    """``value`` if it is a call of one of ``functions`` (by the name written), else None."""
    if isinstance(value, griffe.ExprCall) and str(value.function) in functions:
        return value
    return None


def made_by(factory: str | griffe.Expr) -> str | None:
    """How a default made by calling ``factory`` reads (``list()``); None for a lambda."""
    if isinstance(factory, griffe.ExprLambda):
        return None
    return f"{factory}()"


def field_default(call: griffe.ExprCall) -> str | griffe.Expr | None:
    """The default a field call declares, as a reader would write it; None when required."""
    keywords = {
        arg.name: arg.value for arg in call.arguments if isinstance(arg, griffe.ExprKeyword)
    }
    if "default" in keywords:
        default = keywords["default"]
        factory = called(default, FACTORY_FUNCTIONS)
        if factory is not None and factory.arguments:
            return made_by(factory.arguments[0])
        return default
    for keyword in FACTORY_KEYWORDS:
        if keyword in keywords:
            return made_by(keywords[keyword])
    return None


def shown_value(attribute: griffe.Attribute) -> str | griffe.Expr | None:
    """The value the reference should show after ``=`` for ``attribute`` (None: no ``=``)."""
    if set_in_a_method(attribute):
        return None
    call = called(attribute.value, FIELD_FUNCTIONS)
    if call is not None:
        return field_default(call)
    return attribute.value


class DefaultValues(griffe.Extension):
    """Replaces the values of a package's attributes by the defaults they stand for."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        """Rewrite the value of every attribute of ``pkg`` (see the module's docstring)."""
        for obj in walk(pkg):
            if isinstance(obj, griffe.Attribute):
                obj.value = shown_value(obj)
