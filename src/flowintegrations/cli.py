"""The ``flowintegrations`` command.

``check CATALOG`` / ``check MODULE:APP``
    Load a catalog file (or an app's integrations), report every problem with its JSON
    path (exit 1), check every example exchange against its scenario's models, and warn
    when an in topic would not match the engine's receive pattern. Exit 0 when clean.
``schema CATALOG INTEGRATION SCENARIO [--direction out|in]``
    Print the JSON Schema of a scenario's request (``out``, the default) or reply (``in``).
``demo [--bootstrap HOST:PORT] [--config KEY=VALUE ...]``
    Run the example notifications adapter and an engine client against it, end to end:
    on Kafka when a bootstrap is given (or ``$FLOWINTEGRATIONS_KAFKA_BOOTSTRAP`` is set),
    else in memory.
``run MODULE:APP [--env E] [--bootstrap HOST:PORT] [--config KEY=VALUE ...]
[--metrics-port N] [--log-json]``
    Run an adapter until SIGTERM or SIGINT, then stop it gracefully and exit 0: on Kafka
    when a bootstrap is given (or ``$FLOWINTEGRATIONS_KAFKA_BOOTSTRAP`` is set), else in
    memory. It logs one line when it has started and one when it has stopped, each naming
    every scenario and its topics. ``--metrics-port`` serves the adapter's metrics in
    Prometheus text format at ``http://0.0.0.0:N/metrics`` (needs the ``otel`` extra; the
    app is given a :class:`~flowintegrations.observability.Telemetry`, which also traces
    when OpenTelemetry tracing is configured); ``--log-json`` writes one JSON object per
    log line.
``list MODULE:OBJ``
    List an adapter's handlers and topics, and the Flow endpoints it serves (an App or a
    FlowService; the seed's "Listeners").
``serve MODULE:OBJ [--host H] [--port N] [--path /fs/NAME] [--username U] [--token-env VAR]``
    Serve an App (or a FlowService) to Boomi Flow over HTTP until SIGTERM or SIGINT, then
    stop gracefully (requests in flight finish, WAITing actions deliver) and exit 0. It
    logs one line when it has started, with the base URL and every action. The token is
    read from the environment variable ``VAR`` (default ``$FLOWINTEGRATIONS_FLOW_TOKEN``),
    never from the command line.

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
from typing import TYPE_CHECKING

from flowintegrations.app import App
from flowintegrations.errors import (
    CatalogError,
    CatalogProblem,
    FlowIntegrationsError,
    HandlerRegistrationError,
)
from flowintegrations.loading import load_app, load_object
from flowintegrations.model import Catalog, PropertyType, iter_properties, json_path_step
from flowintegrations.transport import KafkaTransport
from flowintegrations.validation import example_problems, scenario_validators, to_json_schema
from flowintegrations.vocabulary import BOOTSTRAP_VAR, DEFAULT_ENGINE_PATTERN, FLOW_TOKEN_VAR

if TYPE_CHECKING:
    from flowintegrations.flow import FlowService as FlowServiceType

__all__ = [
    "BOOTSTRAP_VAR",
    "DEFAULT_ENGINE_PATTERN",
    "engine_pattern_warnings",
    "flow_notes",
    "load_app",
    "main",
]

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
                    yield (
                        f"{path}: in topic {binding.in_topic!r} does not match the engine's "
                        f"receive pattern {pattern!r}; the engine will not read these replies"
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
    try:
        if ":" in args.catalog and not Path(args.catalog).exists():
            catalog = Catalog(load_app(args.catalog).integrations)
        else:
            catalog = Catalog.load(args.catalog)
    except CatalogError as exc:
        _print_problems(args.catalog, exc.problems)
        return 1
    problems = [
        CatalogProblem(f"$.integrations[{index}]{p.path[1:]}", p.message, p.value)
        for index, integration in enumerate(catalog.integrations)
        for p in example_problems(integration)
    ]
    if problems:
        _print_problems(args.catalog, problems)
        return 1
    warnings = list(engine_pattern_warnings(catalog, args.engine_pattern))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for note in flow_notes(catalog):
        print(f"note: {note}", file=sys.stderr)
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
    catalog = Catalog.load(args.catalog)
    integration = catalog.integration(args.integration)
    scenario = integration.scenario(args.scenario)
    model = scenario.output_model if args.direction == "out" else scenario.input_model
    enumerations = {e.name: e.values for e in integration.enumerations}
    schema = to_json_schema(model, integration.definitions, enumerations)
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
    _configure_logging(json_lines=args.log_json)
    where = f"Kafka at {bootstrap}" if bootstrap else "the in-memory transport"
    with _metrics(app, args.metrics_port) as metrics_url:
        if metrics_url is not None:
            where += f", metrics at {metrics_url}"
        asyncio.run(_serve(app, where))
    return 0


def _configure_logging(*, json_lines: bool) -> None:
    if not json_lines:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
        return
    from flowintegrations.observability import JsonFormatter  # noqa: PLC0415 - on demand

    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])


@contextlib.contextmanager
def _metrics(app: App, port: int | None) -> Iterator[str | None]:
    """Serve ``app``'s metrics on ``port`` while the block runs; yields their URL."""
    if port is None:
        yield None
        return
    try:
        from flowintegrations.observability import (  # noqa: PLC0415 - an optional extra
            Telemetry,
            serve_metrics,
        )
    except ImportError as exc:
        msg = f"--metrics-port: {exc}"
        raise FlowIntegrationsError(msg) from None
    try:
        server = serve_metrics(port)
    except (OSError, OverflowError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        msg = f"--metrics-port {port}: cannot listen: {reason}"
        raise FlowIntegrationsError(msg) from None
    app.telemetry = Telemetry(meter_provider=server.meter_provider)
    try:
        yield server.url
    finally:
        server.close()


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
    found = load_object(args.app)
    service = None
    if isinstance(found, App):
        app = found
    else:
        service = _as_service(found, args.app)
        app = service.app
    if args.env is not None:
        app.environment = args.env
    env = app.environment or "(default)"
    try:
        routes = app.pipeline.routes
    except HandlerRegistrationError:
        routes = ()
    for route in routes:
        name = f"{route.integration.identifier}\t{route.scenario.identifier}\tenv={env}"
        try:
            binding = route.scenario.binding(app.environment)
        except CatalogError:
            print(f"{name}\t(no topics: served to Flow only)")
            continue
        print(f"{name}\tout={binding.out_topic}\tin={binding.in_topic or '-'}")
    try:
        from flowintegrations.flow import FlowService  # noqa: PLC0415 - an optional extra
    except ImportError:
        print("flow\t(pip install flowintegrations[flow] to serve these to Boomi Flow)")
        return 0
    service = service or FlowService(app)
    scenarios = {a.uri_part: a for a in service.actions}
    for method, path in service.endpoints():
        action = scenarios.get(path.rpartition("/actions/")[2]) if "/actions/" in path else None
        served = f"\t{action.integration.identifier}/{action.scenario.identifier}" if action else ""
        print(f"flow\t{method} {path}{served}")
    return 0


def _as_service(found: object, spec: str) -> FlowServiceType:
    """``found`` if it is a FlowService; raises naming what it is otherwise."""
    try:
        from flowintegrations.flow import FlowService  # noqa: PLC0415 - an optional extra
    except ImportError:
        msg = f"{spec!r} is a {type(found).__name__}, not an App"
        raise FlowIntegrationsError(msg) from None
    if not isinstance(found, FlowService):
        msg = f"{spec!r} is a {type(found).__name__}, not an App or a FlowService"
        raise FlowIntegrationsError(msg)
    return found


def _serve_flow(args: argparse.Namespace) -> int:
    try:
        from flowintegrations.flow import FlowService  # noqa: PLC0415 - an optional extra
        from flowintegrations.flow.server import serve_until_signal  # noqa: PLC0415
    except ImportError as exc:
        raise FlowIntegrationsError(str(exc)) from None
    found = load_object(args.app)
    token = None
    if args.token_env is not None or os.environ.get(FLOW_TOKEN_VAR):
        variable = args.token_env or FLOW_TOKEN_VAR
        token = os.environ.get(variable)
        if not token:
            msg = f"--token-env {variable}: the environment variable is not set or empty"
            raise FlowIntegrationsError(msg)
    if isinstance(found, App):
        if token is not None and not args.username:
            msg = "a token needs a --username: Flow sends both"
            raise FlowIntegrationsError(msg)
        service = FlowService(found, path=args.path, username=args.username, token=token)
    else:
        service = _as_service(found, args.app)
        if args.path or args.username or args.token_env:
            msg = "--path, --username and --token-env configure an App; this is a FlowService"
            raise FlowIntegrationsError(msg)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve_until_signal(service, host=args.host, port=args.port))
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
    schema.add_argument("catalog")
    schema.add_argument("integration", help="integration identifier")
    schema.add_argument("scenario", help="scenario identifier")
    schema.add_argument(
        "--direction",
        choices=("out", "in"),
        default="out",
        help="out: the request the engine sends (default); in: the reply it reads",
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
    run.add_argument(
        "--metrics-port",
        type=int,
        metavar="N",
        help="serve metrics in Prometheus text format on this port (needs the otel extra)",
    )
    run.add_argument("--log-json", action="store_true", help="log one JSON object per line")
    run.set_defaults(func=_run)

    listing = commands.add_parser(
        "list", help="list an adapter's handlers, topics and Flow endpoints"
    )
    listing.add_argument("app", metavar="MODULE:OBJ", help="an App or a FlowService")
    listing.add_argument("--env", help="environment (default: $FLOWINTEGRATIONS_ENV)")
    listing.set_defaults(func=_list)

    serve = commands.add_parser("serve", help="serve an adapter to Boomi Flow over HTTP")
    serve.add_argument("app", metavar="MODULE:OBJ", help="an App or a FlowService")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8080, help="port (default: %(default)s; 0: any)")
    serve.add_argument("--path", default="", help='the "Path to Service", e.g. /fs/crm')
    serve.add_argument("--username", help="the basic-auth username Flow sends")
    serve.add_argument(
        "--token-env",
        metavar="VAR",
        help=f"environment variable holding the basic-auth token (default: {FLOW_TOKEN_VAR})",
    )
    serve.set_defaults(func=_serve_flow)
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
