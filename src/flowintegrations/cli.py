"""The ``flowintegrations`` command.

``check CATALOG`` / ``check MODULE:APP``
    Load a catalog file (or an app's integrations), report every problem with its JSON
    path (exit 1), check every example exchange against its scenario's models, and warn
    when an in topic would not match the engine's receive pattern. Exit 0 when clean.
``schema CATALOG|MODULE:APP INTEGRATION SCENARIO [--direction out|in] [--system NAME]``
    Print the JSON Schema of a scenario's request (``out``, the default) or reply (``in``),
    with only the definitions it uses; ``--system`` gives ENUMs in that system's codes.
``demo [--bootstrap HOST:PORT] [--config KEY=VALUE ...]``
    Run the example notifications adapter and an engine client against it, end to end:
    on Kafka when a bootstrap is given (or ``$FLOWINTEGRATIONS_KAFKA_BOOTSTRAP`` is set),
    else in memory.
``run MODULE:APP [--env E] [--bootstrap HOST:PORT] [--config KEY=VALUE ...]``
    Run an adapter until SIGTERM or SIGINT, then stop it gracefully and exit 0: on Kafka
    when a bootstrap is given (or ``$FLOWINTEGRATIONS_KAFKA_BOOTSTRAP`` is set), else in
    memory. It logs one line when it has started and one when it has stopped, each naming
    every scenario and its topics.
``list MODULE:APP``
    List an adapter's handlers and topics.
``diff OLD NEW [--format text|json]``
    Every change from catalog OLD to catalog NEW (files or ``MODULE:APP``), each marked
    breaking or compatible for the engine and for the adapter, with the processes of the
    scenario's ``usedBy``. Exit 1 when a change is breaking, 0 otherwise.
``asyncapi SOURCE [--env ENV] [--output FILE] [--bootstrap HOST:PORT]``
    Export the integrations of a catalog file or ``MODULE:APP`` as an AsyncAPI 3.0 document.

``--config KEY=VALUE`` (repeatable) passes a librdkafka setting to the Kafka clients,
e.g. ``--config session.timeout.ms=6000``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from flowintegrations.app import App
from flowintegrations.errors import CatalogError, CatalogProblem, FlowIntegrationsError
from flowintegrations.loading import load_app
from flowintegrations.model import Catalog
from flowintegrations.transport import KafkaTransport
from flowintegrations.validation import (
    enumeration_values,
    scenario_validators,
    to_json_schema,
    used_definitions,
)
from flowintegrations.validation.report import check_catalog
from flowintegrations.vocabulary import BOOTSTRAP_VAR, DEFAULT_ENGINE_PATTERN

__all__ = ["BOOTSTRAP_VAR", "DEFAULT_ENGINE_PATTERN", "engine_pattern_warnings", "load_app", "main"]

log = logging.getLogger("flowintegrations.cli")


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


def _load_source(source: str) -> Catalog:
    """The catalog of ``source``: a catalog file, or ``MODULE:APP`` for an app's integrations."""
    if ":" in source and not Path(source).exists():
        return Catalog(load_app(source).integrations)
    return Catalog.load(source)


def _diff(args: argparse.Namespace) -> int:
    difference = _load_source(args.old).diff(_load_source(args.new))
    if args.format == "json":
        print(json.dumps(difference.to_json(), indent=2, ensure_ascii=False))
    else:
        print(difference.render(), end="")
    return 1 if difference.breaking else 0


def _asyncapi(args: argparse.Namespace) -> int:
    from flowintegrations.asyncapi import export  # noqa: PLC0415 - on demand

    document = export(_load_source(args.source), args.env, bootstrap=args.bootstrap)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


def _check(args: argparse.Namespace) -> int:
    if ":" in args.catalog and not Path(args.catalog).exists():
        try:
            built = Catalog(load_app(args.catalog).integrations)
        except CatalogError as exc:
            _print_problems(args.catalog, exc.problems)
            return 1
        report = check_catalog(built.dump(), name=args.catalog)
    else:
        report = check_catalog(args.catalog)
    if report.problems or report.catalog is None:
        _print_problems(report.source, report.problems)
        return 1
    catalog = report.catalog
    warnings = list(engine_pattern_warnings(catalog, args.engine_pattern))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    scenarios = [s for i in catalog.integrations for s in i.scenarios]
    examples = sum(len(s.examples) for s in scenarios)
    print(
        f"{args.catalog}: ok ({len(catalog.integrations)} integrations, {len(scenarios)} "
        f"scenarios, {examples} examples, {len(warnings)} warnings)"
    )
    return 1 if warnings and args.strict else 0


def _print_problems(catalog: str, problems: Sequence[CatalogProblem]) -> None:
    print(f"{catalog}: {len(problems)} problem(s)", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)


def _schema(args: argparse.Namespace) -> int:
    catalog = _load_source(args.catalog)
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
                print(f"    [{env}] out {binding.out_topic}")
                print(f"    [{env}] in  {binding.in_topic}")
            for label, validator in (("request", request), ("reply", reply)):
                names = ", ".join(p.name for p in validator.model.properties) or "(anything)"
                print(f"    {label}: {names}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from flowintegrations.demo import main as demo_main  # noqa: PLC0415 - heavy, on demand

    bootstrap = args.bootstrap or os.environ.get(BOOTSTRAP_VAR)
    return demo_main(bootstrap, config=_settings(args.config))


def _settings(pairs: Sequence[str]) -> dict[str, str]:
    """The librdkafka settings given as ``KEY=VALUE``; raises naming a malformed one."""
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            msg = f"--config expects KEY=VALUE (e.g. session.timeout.ms=6000), got {pair!r}"
            raise FlowIntegrationsError(msg)
        settings[key.strip()] = value
    return settings


def _run(args: argparse.Namespace) -> int:
    config = _settings(args.config)
    app = load_app(args.app, environment=args.env)
    bootstrap = args.bootstrap or os.environ.get(BOOTSTRAP_VAR)
    if bootstrap:
        transport = KafkaTransport(bootstrap, config=config, create_topics=args.create_topics)
        app.use_transport(transport)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    where = f"Kafka at {bootstrap}" if bootstrap else "the in-memory transport"
    asyncio.run(_serve(app, where))
    return 0


async def _serve(app: App, where: str) -> None:
    """Start ``app``, log that it runs, serve until a signal, log that it stopped.

    A SIGTERM or SIGINT that arrives while the app is starting stops it once started.
    """
    routes = _describe_routes(app)
    fields = {"group_id": app.group_id, "environment": app.environment, "routes": routes}
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop_requested.set)
    await app.start()
    try:
        log.info(
            "started %s on %s: %s", app.group_id, where, routes, extra={"event": "run", **fields}
        )
        if not stop_requested.is_set():
            # serve() puts its own signal handlers in place of ours, before it waits.
            await app.serve()
    finally:
        await app.stop()
        log.info(
            "stopped %s on %s: %s", app.group_id, where, routes, extra={"event": "exit", **fields}
        )


def _describe_routes(app: App) -> str:
    """Every handled scenario and its topics, on one line."""
    return "; ".join(
        f"{integration.identifier}/{scenario.identifier} out={out_topic} in={in_topic or '-'}"
        for integration, scenario, out_topic, in_topic in app.routes()
    )


def _list(args: argparse.Namespace) -> int:
    app = load_app(args.app, environment=args.env)
    env = app.environment or "(default)"
    for integration, scenario, out_topic, in_topic in app.routes():
        print(
            f"{integration.identifier}\t{scenario.identifier}\tenv={env}\t"
            f"out={out_topic}\tin={in_topic or '-'}"
        )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowintegrations", description="Validated adapters for a Kafka process engine."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="check a catalog file")
    check.add_argument(
        "catalog", help="path to the catalog JSON file, or MODULE:APP for an app's integrations"
    )
    check.add_argument(
        "--engine-pattern",
        default=DEFAULT_ENGINE_PATTERN,
        help="topic pattern the engine reads replies from (default: %(default)s)",
    )
    check.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    check.set_defaults(func=_check)

    schema = commands.add_parser("schema", help="print a scenario's JSON Schema")
    schema.add_argument("catalog", help="a catalog file, or MODULE:APP")
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

    demo = commands.add_parser("demo", help="run the example adapter end to end")
    demo.add_argument(
        "--bootstrap",
        help="Kafka bootstrap servers (default: $FLOWINTEGRATIONS_KAFKA_BOOTSTRAP, else in memory)",
    )
    _add_config_option(demo)
    demo.set_defaults(func=_demo)

    run = commands.add_parser("run", help="run an adapter until SIGTERM/SIGINT")
    run.add_argument("app", metavar="MODULE:APP", help="e.g. my_adapter:app or path/to/file.py:app")
    run.add_argument("--env", help="environment (default: $FLOWINTEGRATIONS_ENV)")
    run.add_argument(
        "--bootstrap",
        help="Kafka bootstrap servers (default: $FLOWINTEGRATIONS_KAFKA_BOOTSTRAP, else in memory)",
    )
    run.add_argument(
        "--create-topics", action="store_true", help="create missing topics (development)"
    )
    _add_config_option(run)
    run.set_defaults(func=_run)

    listing = commands.add_parser("list", help="list an adapter's handlers and topics")
    listing.add_argument("app", metavar="MODULE:APP")
    listing.add_argument("--env", help="environment (default: $FLOWINTEGRATIONS_ENV)")
    listing.set_defaults(func=_list)

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
    return parser


def _add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a librdkafka setting for the Kafka clients (repeatable)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        status: int = args.func(args)
    except FlowIntegrationsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
