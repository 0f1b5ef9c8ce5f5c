"""``demo`` and ``run``: an adapter running, in memory, on Kafka or on NATS, until a signal."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import signal
from collections.abc import Iterator
from typing import Any

from flowintegrations.app import App
from flowintegrations.cli._common import (
    add_config_option,
    broker_hint,
    load_user_app,
    log,
    parse_settings,
)
from flowintegrations.cli._reload import add_reload_option, reload_on_changes
from flowintegrations.errors import FlowIntegrationsError, TopicNotFoundError
from flowintegrations.transport import KafkaTransport, Transport
from flowintegrations.vocabulary import BOOTSTRAP_VAR


def _demo(args: argparse.Namespace) -> int:
    """The demo, on Kafka with the development broker's client settings under ``--config``.

    The demo creates its topics and its groups are short-lived: the settings
    ``flowintegrations broker`` prints suit it on any broker, and a local one answers in
    seconds instead of waiting a default session timeout for each group to form.
    """
    from flowintegrations.demo import main as demo_main  # noqa: PLC0415 - heavy, on demand
    from flowintegrations.testing.broker import TANSU_TEST_CONFIG  # noqa: PLC0415

    bootstrap = args.bootstrap or os.environ.get(BOOTSTRAP_VAR)
    config = {**TANSU_TEST_CONFIG, **parse_settings(args.config)}
    with broker_hint(bootstrap):
        return demo_main(bootstrap, config=config)


def _run(args: argparse.Namespace) -> int:
    if args.reload:
        return reload_on_changes(args.app, args.argv)
    config = parse_settings(args.config)
    app = load_user_app(args.app, environment=args.env)
    bootstrap = args.bootstrap or os.environ.get(BOOTSTRAP_VAR)
    if bootstrap:
        app.use_transport(_transport(bootstrap, config, create_topics=args.create_topics))
    _configure_logging(json_lines=args.log_json)
    where = f"Kafka at {bootstrap}" if bootstrap else "the in-memory transport"
    if bootstrap and bootstrap.startswith(NATS_SCHEME):
        where = f"NATS JetStream at {_CREDENTIALS.sub('//<redacted>@', bootstrap)}"
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
            with broker_hint(bootstrap):
                asyncio.run(_serve(app, where))
        except TopicNotFoundError as exc:
            msg = f"{exc}; create them, or pass --create-topics to create missing topics"
            raise FlowIntegrationsError(msg) from exc
    return 0


NATS_SCHEME = "nats://"
"""A ``--bootstrap`` starting with this runs on NATS JetStream instead of Kafka."""

_CREDENTIALS = re.compile(r"//[^@/]*@")


def _transport(bootstrap: str, config: dict[str, str], *, create_topics: bool) -> Transport:
    """Kafka at ``host:port``, or NATS JetStream at ``nats://host:port``."""
    if not bootstrap.startswith(NATS_SCHEME):
        return KafkaTransport(bootstrap, config=config, create_topics=create_topics)
    try:
        from flowintegrations.transport.nats import JetStreamTransport  # noqa: PLC0415
    except ImportError as exc:
        msg = f"--bootstrap {NATS_SCHEME}...: {exc}"
        raise FlowIntegrationsError(msg) from None
    try:
        return JetStreamTransport.from_settings(bootstrap, config, create_topics=create_topics)
    except ValueError as exc:
        msg = f"--config: {exc}"
        raise FlowIntegrationsError(msg) from None


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


def add_run_commands(commands: Any) -> None:
    """``demo`` and ``run``: running an adapter."""
    demo = commands.add_parser("demo", help="run the example adapter end to end")
    demo.add_argument(
        "--bootstrap",
        help="Kafka bootstrap servers (default: $FLOWINTEGRATIONS_KAFKA_BOOTSTRAP, else in memory)",
    )
    add_config_option(demo)
    demo.set_defaults(func=_demo)

    run = commands.add_parser("run", help="run an adapter until SIGTERM/SIGINT")
    run.add_argument("app", metavar="MODULE:APP", help="e.g. my_adapter:app or path/to/file.py:app")
    run.add_argument("--env", help="environment (default: $FLOWINTEGRATIONS_ENV)")
    run.add_argument(
        "--bootstrap",
        help="Kafka bootstrap servers, or nats://HOST:PORT for NATS JetStream (default: "
        "$FLOWINTEGRATIONS_KAFKA_BOOTSTRAP, else in memory)",
    )
    run.add_argument(
        "--create-topics", action="store_true", help="create missing topics (development)"
    )
    add_config_option(run)
    run.add_argument(
        "--metrics-port",
        type=int,
        metavar="N",
        help="serve metrics in Prometheus text format on this port (needs the otel extra)",
    )
    run.add_argument("--log-json", action="store_true", help="log one JSON object per line")
    add_reload_option(run)
    run.set_defaults(func=_run)
