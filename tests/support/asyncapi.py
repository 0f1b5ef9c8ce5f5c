"""The official AsyncAPI 3.0.0 JSON Schema, from the npm package ``@asyncapi/specs``.

The first use installs the package with npm into ``.venv/asyncapi-specs`` (about a second,
once). Without npm or the registry, the tests that need the schema fail with a message
saying so; they are never skipped. The one fallback, for machines without the npm
registry, is loud and explicit: point ``FLOWINTEGRATIONS_ASYNCAPI_SPECS`` at an unpacked
copy of the package (the directory holding its ``package.json``).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "@asyncapi/specs@6"
CACHE = ROOT / ".venv" / "asyncapi-specs"
SPECS_VAR = "FLOWINTEGRATIONS_ASYNCAPI_SPECS"


def _package_dir() -> Path:
    given = os.environ.get(SPECS_VAR)
    if given:
        return Path(given)
    installed = CACHE / "node_modules" / "@asyncapi" / "specs"
    if (installed / "package.json").exists():
        return installed
    npm = shutil.which("npm")
    if npm is None:
        msg = (
            f"npm is not installed: the AsyncAPI tests need {PACKAGE} (the official schema). "
            f"Install Node and npm, or set {SPECS_VAR} to an unpacked copy of the package."
        )
        raise RuntimeError(msg)
    command = [npm, "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", PACKAGE]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0 or not (installed / "package.json").exists():
        msg = (
            f"`{' '.join(command)}` failed (exit {done.returncode}); the AsyncAPI tests need "
            f"the official schema. Set {SPECS_VAR} to an unpacked copy of {PACKAGE} when the "
            f"npm registry is unreachable.\n{done.stderr.strip()}"
        )
        raise RuntimeError(msg)
    return installed


@functools.cache
def official_schema() -> dict[str, Any]:
    """The AsyncAPI 3.0.0 JSON Schema (draft-07) that ``@asyncapi/specs`` ships."""
    path = _package_dir() / "schemas" / "3.0.0-without-$id.json"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def specs_version() -> str:
    """The version of the ``@asyncapi/specs`` package in use."""
    package = json.loads((_package_dir() / "package.json").read_text(encoding="utf-8"))
    version: str = package["version"]
    return version


def schema_errors(document: Any) -> list[str]:
    """Every error the official schema finds in ``document``, as ``path: message`` lines."""
    validator = jsonschema.Draft7Validator(official_schema())
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(document)]


def unresolved_refs(document: Any) -> list[str]:
    """Every local ``$ref`` in ``document`` that points at nothing."""
    missing: list[str] = []

    def resolve(ref: str) -> bool:
        node: Any = document
        for escaped in ref.removeprefix("#/").split("/"):
            step = escaped.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or step not in node:
                return False
            node = node[step]
        return True

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not resolve(ref):
                missing.append(ref)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return missing
