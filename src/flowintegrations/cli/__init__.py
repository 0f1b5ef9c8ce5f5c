"""The ``flowintegrations`` command.

The package holds one module per command family: ``_catalog`` (``check``, ``schema``,
``summary``), ``_tooling`` (``diff``, ``asyncapi``, ``import-profile``), ``_run`` (``demo``,
``run``), ``_list``, ``_serve``, ``_broker``; ``_common`` has the loading and error handling
they share, and ``_main`` the parser and :func:`main`.

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
    else in memory. On Kafka its clients start from the settings ``broker`` prints.
``run MODULE:APP [--env E] [--bootstrap HOST:PORT] [--config KEY=VALUE ...]
[--metrics-port N] [--log-json] [--reload]``
    Run an adapter until SIGTERM or SIGINT, then stop it gracefully and exit 0: on Kafka
    when a bootstrap is given (or ``$FLOWINTEGRATIONS_KAFKA_BOOTSTRAP`` is set), on NATS
    JetStream when it is a ``nats://HOST:PORT`` URL (``--config`` then sets
    :class:`~flowintegrations.transport.nats.JetStreamTransport` options, such as
    ``heartbeat=0.2``; needs the ``nats`` extra), else in memory. It logs one line when it
    has started and one when it has stopped, each naming every scenario and its topics.
    ``--metrics-port`` serves the adapter's metrics in Prometheus text format at
    ``http://0.0.0.0:N/metrics`` (needs the ``otel`` extra; the app is given a
    :class:`~flowintegrations.observability.Telemetry`, which also traces when
    OpenTelemetry tracing is configured); ``--log-json`` writes one JSON object per log
    line; ``--reload`` restarts it when its files change (the ``reload`` extra).
``list MODULE:OBJ``
    List an adapter's handlers and topics, and the Flow endpoints it serves (an App or a
    FlowService; the seed's "Listeners"); exit 1 when it serves nothing.
``serve MODULE:OBJ [--host H] [--port N] [--path /fs/NAME] [--username U] [--token-env VAR]
[--reload]``
    Serve an App (or a FlowService) to Boomi Flow over HTTP until SIGTERM or SIGINT, then
    stop gracefully (requests in flight finish, WAITing actions deliver) and exit 0. It
    logs one line when it has started, with the base URL and every action. The token is
    read from the environment variable ``VAR`` (default ``$FLOWINTEGRATIONS_FLOW_TOKEN``),
    never from the command line. ``--reload`` restarts it when its files change.
``diff OLD NEW [--format text|json]``
    Every change from catalog OLD to catalog NEW (files or ``MODULE:APP``), each marked
    breaking or compatible for the engine and for the adapter, with the processes of the
    scenario's ``usedBy``. Exit 1 when a change is breaking, 0 otherwise.
``asyncapi SOURCE [--env ENV] [--output FILE] [--bootstrap HOST:PORT]``
    Export the integrations of a catalog file or ``MODULE:APP`` as an AsyncAPI 3.0 document;
    an unknown ``--env`` is an error, a scenario left out is named in a warning.
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
"""

from flowintegrations.cli._catalog import engine_pattern_warnings, flow_notes
from flowintegrations.cli._main import main
from flowintegrations.loading import load_app
from flowintegrations.vocabulary import BOOTSTRAP_VAR, DEFAULT_ENGINE_PATTERN

__all__ = [
    "BOOTSTRAP_VAR",
    "DEFAULT_ENGINE_PATTERN",
    "engine_pattern_warnings",
    "flow_notes",
    "load_app",
    "main",
]
