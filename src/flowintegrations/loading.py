"""Finding an :class:`~flowintegrations.App` from a ``MODULE:APP`` or ``path.py:APP`` spec.

The command line (``flowintegrations run``, ``list``, ``check``) and the pytest plugin
(ini ``flowintegrations_apps``) both name apps this way; this module is the one loader
they share, so that neither top layer imports the other.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from flowintegrations.app import App
from flowintegrations.errors import FlowIntegrationsError

__all__ = ["load_app", "load_module_file", "load_object"]


def load_app(spec: str, *, environment: str | None = None) -> App:
    """The :class:`~flowintegrations.App` named by ``module:attribute`` or ``file.py:attribute``.

    A module is imported with the current directory on ``sys.path``; a file (a name ending
    in ``.py`` or holding a ``/``) is executed as a module named after its stem, with its
    directory on ``sys.path``. ``environment``, when given, replaces the app's environment.

    Raises :class:`~flowintegrations.FlowIntegrationsError` naming what is missing (the
    module, the file, the attribute), or what the attribute is when it is not an app; errors
    raised by the module's own code (an import *it* makes included) propagate.
    """
    found = load_object(spec)
    if not isinstance(found, App):
        msg = f"{spec!r} is a {type(found).__name__}, not an App"
        raise FlowIntegrationsError(msg)
    if environment is not None:
        found.environment = environment
    return found


def load_object(spec: str) -> object:
    """Whatever ``module:attribute`` or ``file.py:attribute`` names (see :func:`load_app`).

    ``flowintegrations serve`` takes an App or a FlowService this way. Raises
    :class:`~flowintegrations.FlowIntegrationsError` for a malformed spec or a missing
    attribute; the module's own import errors propagate.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        msg = f"expected MODULE:APP (e.g. my_adapter:app), got {spec!r}"
        raise FlowIntegrationsError(msg)
    if module_name.endswith(".py") or "/" in module_name:
        path = Path(module_name).resolve()
        _on_path(str(path.parent))
        module = load_module_file(path, path.stem)
    else:
        _on_path(os.getcwd())
        module = _import(module_name)
    try:
        found: object = getattr(module, attribute)
    except AttributeError:
        msg = f"module {module_name!r} has no attribute {attribute!r}"
        raise FlowIntegrationsError(msg) from None
    return found


def load_module_file(path: Path, name: str) -> ModuleType:
    """Execute the Python file at ``path`` as module ``name``, registered in ``sys.modules``.

    Raises :class:`~flowintegrations.FlowIntegrationsError` when ``path`` is missing or
    cannot be loaded as Python source; errors raised by the module itself propagate.
    """
    if not path.is_file():
        what = "it is a directory" if path.is_dir() else "no such file"
        msg = f"cannot import {str(path)!r}: {what}"
        raise FlowIntegrationsError(msg)
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        msg = f"cannot import {str(path)!r}: it is not a Python source file"
        raise FlowIntegrationsError(msg)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module


def _import(module_name: str) -> ModuleType:
    """Import ``module_name``; a module that cannot be found is a FlowIntegrationsError.

    Only the module named (or a package above it) counts as not found: a module that is
    found but itself imports something missing raises its own ``ModuleNotFoundError``.
    """
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        parts = module_name.split(".")
        if exc.name not in {".".join(parts[:n]) for n in range(1, len(parts) + 1)}:
            raise
        msg = (
            f"no module named {module_name!r} (MODULE:APP names a module importable from "
            "the current directory, or a file: path/to/adapter.py:app)"
        )
        raise FlowIntegrationsError(msg) from None


def _on_path(directory: str) -> None:
    """Put ``directory`` first on ``sys.path``, so the app's own imports resolve first."""
    if sys.path[:1] != [directory]:
        sys.path.insert(0, directory)
