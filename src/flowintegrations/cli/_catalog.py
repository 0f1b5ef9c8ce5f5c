"""``check``, ``schema`` and ``summary``: reading a catalog (a file, or ``MODULE:APP``)."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flowintegrations.cli._common import counted, load_source, load_user_app, print_problems
from flowintegrations.errors import CatalogError
from flowintegrations.model import Catalog, PropertyType, iter_properties, json_path_step
from flowintegrations.validation import (
    enumeration_values,
    scenario_validators,
    to_json_schema,
    used_definitions,
)
from flowintegrations.validation.report import check_catalog
from flowintegrations.vocabulary import DEFAULT_ENGINE_PATTERN


def _example_catalog() -> str:
    """The example catalog: packaged with a wheel, or the repository's ``examples/``."""
    from flowintegrations.demo import example_path  # noqa: PLC0415

    return str(example_path("catalog.json"))


EXAMPLE_CATALOG = _example_catalog()


def _pattern_regex(pattern: str, environment: str | None) -> re.Pattern[str]:
    env = re.escape(environment) if environment else r"[A-Za-z0-9_-]+"
    parts = [re.escape(part).replace(r"\*", ".*") for part in pattern.split("{env}")]
    return re.compile(env.join(parts))


def engine_pattern_warnings(
    catalog: Catalog, pattern: str = DEFAULT_ENGINE_PATTERN
) -> Iterator[str]:
    """A warning, with its JSON path, for every in topic the engine's pattern would not match.

    ``{env}`` in ``pattern`` stands for the binding's environment (any single name for the
    default binding); ``*`` matches anything.
    """
    for i, integration in enumerate(catalog.integrations):
        for s, scenario in enumerate(integration.scenarios):
            for t, binding in enumerate(scenario.topics):
                if binding.in_topic is None:
                    continue
                if not _pattern_regex(pattern, binding.environment).fullmatch(binding.in_topic):
                    path = f"$.integrations[{i}].scenarios[{s}].topics[{t}].in"
                    shown = pattern
                    if binding.environment:
                        shown = pattern.replace("{env}", binding.environment)
                    yield (
                        f"{path}: in topic {binding.in_topic!r} does not match the engine's "
                        f"receive pattern {shown!r}; the engine will not read these replies"
                    )


_ITEM_TYPES = {"STRING": "String", "ENUM": "String", "NUMBER": "Number", "BOOLEAN": "Boolean"}


def flow_notes(catalog: Catalog) -> Iterator[str]:
    """A note, with its JSON path, for every ARRAY of scalars: Flow has no such value.

    Served as a Flow service (``flowintegrations.flow``) such an array travels as a list of
    one-property ``Item (String)`` / ``Item (Number)`` / ``Item (Boolean)`` objects.
    """
    for i, integration in enumerate(catalog.integrations):
        models = [
            (f"definitions{json_path_step(n)}", m) for n, m in integration.definitions.items()
        ]
        for s, scenario in enumerate(integration.scenarios):
            models.append((f"scenarios[{s}].outputModel", scenario.output_model))
            models.append((f"scenarios[{s}].inputModel", scenario.input_model))
        for where, model in models:
            base = f"$.integrations[{i}].{where}.properties"
            for prop, path in iter_properties(model.properties, base):
                item = prop.item_type.value if prop.item_type is not None else ""
                if prop.type is PropertyType.ARRAY and item in _ITEM_TYPES:
                    yield (
                        f"{path}: an ARRAY of {item} has no Boomi Flow equivalent (Flow lists "
                        f"hold objects); as a Flow service it is a list of 'Item "
                        f"({_ITEM_TYPES[item]})' objects, each item in their 'value'"
                    )


def _check(args: argparse.Namespace) -> int:
    if ":" in args.catalog and not Path(args.catalog).exists():
        try:
            built = Catalog(load_user_app(args.catalog).integrations)
        except CatalogError as exc:
            print_problems(args.catalog, exc.problems)
            return 1
        report = check_catalog(built.dump(), name=args.catalog)
    else:
        report = check_catalog(args.catalog)
    if report.catalog is None and [p.path for p in report.problems] == ["$"]:
        raise CatalogError(report.problems)  # nothing to list: one line says why
    if report.problems or report.catalog is None:
        print_problems(report.source, report.problems)
        return 1
    catalog = report.catalog
    warnings = list(engine_pattern_warnings(catalog, args.engine_pattern))
    if not catalog.integrations:
        warnings.append("$.integrations: the catalog is empty (no integrations)")
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for note in flow_notes(catalog):
        print(f"note: {note}", file=sys.stderr)
    scenarios = [s for i in catalog.integrations for s in i.scenarios]
    examples = sum(len(s.examples) for s in scenarios)
    counts = (
        counted(len(catalog.integrations), "integration"),
        counted(len(scenarios), "scenario"),
        counted(examples, "example"),
        counted(len(warnings), "warning"),
    )
    print(f"{args.catalog}: ok ({', '.join(counts)})")
    return 1 if warnings and args.strict else 0


def _schema(args: argparse.Namespace) -> int:
    catalog = load_source(args.catalog)
    integration = catalog.integration(args.integration)
    scenario = integration.scenario(args.scenario)
    model = scenario.output_model if args.direction == "out" else scenario.input_model
    enumerations = enumeration_values(integration, args.system)
    definitions = used_definitions(model, integration.definitions)
    schema = to_json_schema(model, definitions, enumerations)
    print(json.dumps(schema, indent=2, ensure_ascii=False))
    return 0


def _summary(args: argparse.Namespace) -> int:
    catalog = Catalog.load(args.catalog)
    for integration in catalog.integrations:
        print(f"{integration.name} ({integration.identifier})")
        for scenario in integration.scenarios:
            request, reply = scenario_validators(integration, scenario)
            print(f"  {scenario.name} ({scenario.identifier})")
            for binding in scenario.topics:
                env = binding.environment or "every environment"
                print(f"    [{env}] out {binding.out_topic or '-'}")
                print(f"    [{env}] in  {binding.in_topic or '-'}")
            for label, validator in (("request", request), ("reply", reply)):
                names = ", ".join(p.name for p in validator.model.properties) or "(anything)"
                print(f"    {label}: {names}")
        for name, model in integration.definitions.items():
            names = ", ".join(p.name for p in model.properties) or "(anything)"
            print(f"  definition {name}: {names}")
    return 0


def add_catalog_commands(commands: Any) -> None:
    """``check``, ``schema`` and ``summary``: reading a catalog."""
    check = commands.add_parser("check", help="check a catalog file or MODULE:APP")
    check.add_argument(
        "catalog",
        metavar="CATALOG|MODULE:APP",
        help="path to the catalog JSON file, or MODULE:APP for an app's integrations",
    )
    check.add_argument(
        "--engine-pattern",
        default=DEFAULT_ENGINE_PATTERN,
        help="topic pattern the engine reads replies from (default: %(default)s)",
    )
    check.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    check.set_defaults(func=_check)

    schema = commands.add_parser(
        "schema", help="print a scenario's JSON Schema (of a catalog file or MODULE:APP)"
    )
    schema.add_argument(
        "catalog", metavar="CATALOG|MODULE:APP", help="a catalog file, or MODULE:APP"
    )
    schema.add_argument("integration", help="integration identifier")
    schema.add_argument("scenario", help="scenario identifier")
    schema.add_argument(
        "--direction",
        choices=("out", "in"),
        default="out",
        help="out: the request the engine sends (default); in: the reply it reads",
    )
    schema.add_argument(
        "--system",
        help="give ENUMs in this source system's codes (default: the engine's values)",
    )
    schema.set_defaults(func=_schema)

    summary = commands.add_parser("summary", help="summarise a catalog's scenarios and topics")
    summary.add_argument("catalog", nargs="?", default=EXAMPLE_CATALOG)
    summary.set_defaults(func=_summary)
