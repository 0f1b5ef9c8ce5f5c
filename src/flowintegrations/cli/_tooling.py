"""``diff``, ``asyncapi`` and ``import-profile``: catalog tooling."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from flowintegrations.cli._common import load_source, print_problems
from flowintegrations.errors import CatalogError, CatalogProblem, FlowIntegrationsError
from flowintegrations.model import Catalog, DataModel, Integration
from flowintegrations.model.catalog import read_error_reason


def _diff(args: argparse.Namespace) -> int:
    difference = load_source(args.old).diff(load_source(args.new))
    if args.format == "json":
        print(json.dumps(difference.to_json(), indent=2, ensure_ascii=False))
    else:
        print(difference.render(), end="")
    return 1 if difference.breaking else 0


def _asyncapi(args: argparse.Namespace) -> int:
    from flowintegrations.asyncapi import export  # noqa: PLC0415 - on demand

    catalog = load_source(args.source)
    known = sorted(
        {
            binding.environment
            for integration in catalog.integrations
            for scenario in integration.scenarios
            for binding in scenario.topics
            if binding.environment is not None
        }
    )
    if args.env is not None and known and args.env not in known:
        names = ", ".join(repr(name) for name in known)
        msg = f"--env {args.env}: the catalog has no environment {args.env!r} (it has: {names})"
        raise FlowIntegrationsError(msg)
    for integration in catalog.integrations:
        for scenario in integration.scenarios:
            try:
                scenario.binding(args.env)
            except CatalogError:
                have = ", ".join(repr(e) for e in scenario.environments) or "none"
                hint = "" if args.env is not None else "; pick an environment with --env"
                print(
                    f"warning: {integration.identifier}/{scenario.identifier} is left out: it "
                    f"has no topics for {_environment(args.env)} (it has: {have}){hint}",
                    file=sys.stderr,
                )
    document = export(catalog, args.env, bootstrap=args.bootstrap)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


def _environment(name: str | None) -> str:
    return "the default environment" if name is None else f"environment {name!r}"


def _import_profile(args: argparse.Namespace) -> int:
    from flowintegrations.model.profiles import (  # noqa: PLC0415 - only this command needs it
        definitions_from_json_schema,
        model_from_json_sample,
        model_from_json_schema,
    )

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read {args.file!r}: {read_error_reason(exc)}"
        raise FlowIntegrationsError(msg) from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        msg = f"{args.file}: cannot read a JSON document ({exc})"
        raise FlowIntegrationsError(msg) from None
    name = args.name or path.stem
    if args.schema and not _looks_like_a_schema(document):
        why = _why_a_sample(document)
        msg = f"{args.file} looks like a JSON sample, not a JSON Schema ({why}): drop --schema"
        raise FlowIntegrationsError(msg)
    problems: list[CatalogProblem] = []
    definitions: dict[str, DataModel] = {}
    if args.schema:
        try:
            definitions = definitions_from_json_schema(document)
        except CatalogError as exc:
            problems.extend(exc.problems)
    try:
        if args.schema:
            definitions[name] = model_from_json_schema(document)
        else:
            definitions[name] = model_from_json_sample(document)
    except CatalogError as exc:
        problems.extend(exc.problems)
    if problems:
        print_problems(args.file, problems)
        return 1
    integration = Integration("Profiles", "profiles", definitions=definitions)
    print(json.dumps(Catalog((integration,)).dump(), indent=2, ensure_ascii=False))
    return 0


_SCHEMA_KEYWORDS = frozenset(
    {"$schema", "$id", "$ref", "$comment", "title", "description", "type", "properties"}
    | {"required", "additionalProperties", "items", "enum", "definitions", "examples"}
    | {"default", "format", "oneOf", "anyOf", "allOf", "not", "const", "pattern"}
    | {"minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "$defs"}
)


def _why_a_sample(document: object) -> str:
    """What makes ``document`` (no schema) look like a sample, in a few words."""
    if not isinstance(document, dict):
        return "a schema is a JSON object, this is not"
    others = sorted(set(document) - _SCHEMA_KEYWORDS)
    shown = ", ".join(repr(key) for key in others[:3]) + (", ..." if len(others) > 3 else "")
    return f"{shown}: no JSON Schema keyword"


def _looks_like_a_schema(document: object) -> bool:
    """Whether ``document`` reads as a JSON Schema: an object of schema keywords only.

    A sample that happens to have a ``type`` key still has keys no schema has.
    """
    if not isinstance(document, dict):
        return False
    if "$schema" in document or isinstance(document.get("properties"), dict):
        return True
    return set(document) <= _SCHEMA_KEYWORDS


def add_tooling_commands(commands: Any) -> None:
    """``diff``, ``asyncapi`` and ``import-profile``: catalog tooling."""
    diff = commands.add_parser("diff", help="what changed between two catalogs, and for whom")
    diff.add_argument("old", help="the old catalog file (or MODULE:APP)")
    diff.add_argument("new", help="the new catalog file (or MODULE:APP)")
    diff.add_argument("--format", choices=("text", "json"), default="text")
    diff.set_defaults(func=_diff)

    asyncapi = commands.add_parser("asyncapi", help="export an AsyncAPI 3.0 document")
    asyncapi.add_argument("source", metavar="SOURCE", help="a catalog file or MODULE:APP")
    asyncapi.add_argument("--env", help="the environment whose topics to export")
    asyncapi.add_argument("--output", help="write the document to this file (default: stdout)")
    asyncapi.add_argument("--bootstrap", metavar="HOST:PORT", help="the environment's Kafka server")
    asyncapi.set_defaults(func=_asyncapi)
    profile = commands.add_parser(
        "import-profile", help="print a catalog whose definition a JSON sample or schema gives"
    )
    profile.add_argument("file", metavar="FILE.json", help="a JSON sample document")
    profile.add_argument(
        "--schema", action="store_true", help="the file is a JSON Schema, not a sample"
    )
    profile.add_argument("--name", help="the definition's name (default: the file's stem)")
    profile.set_defaults(func=_import_profile)
