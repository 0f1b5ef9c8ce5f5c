"""Sphinx roles in docstrings become cross-references in the API reference.

The docstrings name other objects the way Sphinx does: ``:class:`~flowintegrations.App```,
``:meth:`start```, ``:func:`EngineClient.request <flowintegrations.EngineClient.request>```.
mkdocstrings does not read roles, so this griffe extension (loaded through the python
handler's ``extensions:`` option in mkdocs.yml) rewrites them once the package is loaded:

- a name is resolved the way a reader would: a member of the owning class, then of the
  module, then what the module imports; ``.name`` is relative to the current module;
  a dotted name resolves its first part and keeps the rest;
- the reference points at the object's canonical path, which mkdocstrings registers for
  every object it renders (whichever public page renders it);
- ``~`` shows the last part only, ``!`` never links, ``title <target>`` shows the title;
  functions and methods get ``()`` as Sphinx shows them;
- a name that resolves to nothing rendered (a builtin, a private module) is shown as code
  without a link: the reference is *optional*, so it never fails ``mkdocs build --strict``.

It also drops the "value" of instance attributes: for ``self.transport = transport if
transport is not None else InMemoryTransport()`` griffe keeps the right-hand side, which is
code from ``__init__``, not a default a reader can rely on.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import griffe

ROLE = re.compile(
    r":(?P<kind>class|meth|func|attr|exc|mod|data|obj|const):`(?P<body>[^`\n]+)`",
)
"""One Sphinx cross-reference role, as written in a docstring."""

EXPLICIT_TITLE = re.compile(r"^(?P<title>.+?)\s*<(?P<target>[^<>]+)>$")
"""``title <target>`` inside a role."""

CALLABLE_KINDS = frozenset({"func", "meth"})
"""Roles shown with ``()`` after the name, as Sphinx shows them."""


def walk(obj: griffe.Object) -> Iterator[griffe.Object]:
    """``obj`` and every object defined in it (aliases are skipped: they are not docstrings)."""
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from walk(member)  # type: ignore[arg-type]  # not an alias, so an Object


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


def set_in_a_method(attribute: griffe.Attribute) -> bool:
    """Whether ``attribute`` is only assigned in a method (``self.x = ...``), not in the class.

    griffe labels an attribute of the class body both ``class-attribute`` and
    ``instance-attribute``; one assigned in ``__init__`` only the latter.
    """
    return "instance-attribute" in attribute.labels and "class-attribute" not in attribute.labels


class SphinxRoles(griffe.Extension):
    """Rewrites the roles of every docstring of a package once it is loaded."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        """Convert the roles of ``pkg``'s docstrings; clear instance attributes' values."""
        for obj in walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = convert(obj.docstring.value, obj)
            if isinstance(obj, griffe.Attribute) and set_in_a_method(obj):
                obj.value = None
