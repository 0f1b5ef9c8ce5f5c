"""The flowintegrations pytest plugin: fixtures, a Kafka switch, and example-exchange tests.

pytest loads it by itself once flowintegrations is installed (``pytest11`` entry point
``flowintegrations``); ``-p no:flowintegrations`` turns it off. It imports the library
only when a fixture or a test needs it.

Fixtures
    ``fi_memory_transport``
        A fresh :class:`~flowintegrations.transport.InMemoryTransport`.
    ``fi_test_client``
        A factory: ``fi_test_client(app)`` returns a started
        :class:`~flowintegrations.testing.TestClient`, stopped when the test ends. It runs
        in memory, or on Kafka for tests marked ``fi_kafka`` and for every test under
        ``--fi-transport=kafka``: the same test, no code change.
    ``fi_kafka_app``
        The same factory, always on Kafka: for integration tests of an adapter.
    ``fi_kafka_bootstrap``
        The session's Kafka bootstrap address: ``$FLOWINTEGRATIONS_KAFKA_BOOTSTRAP`` when
        set, else a Tansu broker started on loopback for the session. A broker that cannot
        start is an error of the tests that need it, never a skip.

Options (group ``flowintegrations``)
    ``--fi-transport=memory|kafka|nats`` (ini ``flowintegrations_transport``)
        Where ``fi_test_client`` and the example tests run. ``nats`` runs them on NATS
        JetStream at ``$FLOWINTEGRATIONS_NATS_SERVERS`` (default
        ``nats://127.0.0.1:4222``); a server that does not answer fails the tests.
    ``--fi-examples``
        Run the example tests even when test paths are named on the command line.
    ini ``flowintegrations_kafka_timeout``
        Seconds to wait for the test broker to answer (default 30).
    ini ``flowintegrations_apps``
        ``MODULE:APP`` (or ``path/to/file.py:APP``) lines: every example exchange of every
        scenario those apps handle becomes a test, with an id such as
        ``notifications/generate-otp/example-1-login-code``. They are collected when pytest
        runs its default collection (no paths given), or with ``--fi-examples``.

Markers
    ``fi_kafka``
        Run this test's ``fi_test_client`` on Kafka.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from flowintegrations.app import App
    from flowintegrations.testing.client import TestClient
    from flowintegrations.testing.examples import ExampleCase
    from flowintegrations.transport import InMemoryTransport, Transport

__all__ = [
    "AppExamples",
    "ExampleItem",
    "fi_kafka_app",
    "fi_kafka_bootstrap",
    "fi_memory_transport",
    "fi_test_client",
    "kafka_test_transport",
    "nats_test_transport",
]

TRANSPORTS = ("memory", "kafka", "nats")

NATS_SERVERS_VAR = "FLOWINTEGRATIONS_NATS_SERVERS"
"""Where ``--fi-transport=nats`` finds NATS (default ``nats://127.0.0.1:4222``)."""


class _Broker:
    """The session's Kafka cluster, started on first use and stopped when pytest ends."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._context: Any = None
        self._bootstrap: str | None = None
        self._error: str | None = None

    def bootstrap(self) -> str:
        """The bootstrap address; calls ``pytest.fail`` when no cluster can be had."""
        if self._bootstrap is not None:
            return self._bootstrap
        if self._error is None:
            from flowintegrations.testing.broker import (  # noqa: PLC0415 (lazy)
                BrokerStartError,
                local_broker,
            )

            context = local_broker(startup_timeout=self.timeout)
            try:
                self._bootstrap = context.__enter__()
            except BrokerStartError as exc:
                self._error = str(exc)
            else:
                self._context = context
                return self._bootstrap
        pytest.fail(f"the Kafka test broker is not available: {self._error}", pytrace=False)

    def close(self) -> None:
        context, self._context, self._bootstrap = self._context, None, None
        if context is not None:
            context.__exit__(None, None, None)


_BROKER = pytest.StashKey[_Broker]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the ``flowintegrations`` option group and ini settings."""
    group = parser.getgroup("flowintegrations", "flowintegrations adapters")
    group.addoption(
        "--fi-transport",
        choices=TRANSPORTS,
        default=None,
        dest="fi_transport",
        help="run fi_test_client and the example tests in memory (default), on Kafka "
        "($FLOWINTEGRATIONS_KAFKA_BOOTSTRAP, else a local Tansu broker) or on NATS "
        "JetStream ($FLOWINTEGRATIONS_NATS_SERVERS, else nats://127.0.0.1:4222)",
    )
    group.addoption(
        "--fi-examples",
        action="store_true",
        dest="fi_examples",
        help="collect the example exchanges of flowintegrations_apps even when test paths "
        "are given",
    )
    parser.addini(
        "flowintegrations_apps",
        type="linelist",
        default=[],
        help="MODULE:APP lines (or path/to/file.py:APP): run every example exchange of the "
        "scenarios these apps handle as a test",
    )
    parser.addini(
        "flowintegrations_kafka_timeout",
        default="30",
        help="seconds to wait for the test broker to answer (default: 30)",
    )
    parser.addini(
        "flowintegrations_transport",
        default="memory",
        help="memory, kafka or nats: the default of --fi-transport",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``fi_kafka`` marker, check the settings, prepare the broker holder."""
    config.addinivalue_line(
        "markers", "fi_kafka: run this test's fi_test_client on Kafka instead of in memory"
    )
    raw = str(config.getini("flowintegrations_kafka_timeout"))
    try:
        timeout = float(raw)
    except ValueError:
        msg = f"flowintegrations_kafka_timeout must be a number of seconds, got {raw!r}"
        raise pytest.UsageError(msg) from None
    config.stash[_BROKER] = _Broker(timeout)
    _transport_setting(config)  # a wrong setting stops the run now, not in the first test


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the broker the session started, if any."""
    broker = config.stash.get(_BROKER, None)
    if broker is not None:
        broker.close()


def _transport_setting(config: pytest.Config) -> str:
    chosen: str | None = config.getoption("fi_transport", None)
    if chosen is None:
        chosen = str(config.getini("flowintegrations_transport")).strip() or "memory"
    if chosen not in TRANSPORTS:
        msg = f"flowintegrations_transport must be one of {', '.join(TRANSPORTS)}, got {chosen!r}"
        raise pytest.UsageError(msg)
    return chosen


def _wants_kafka(config: pytest.Config, node: pytest.Item | None) -> bool:
    if node is not None and node.get_closest_marker("fi_kafka") is not None:
        return True
    return _transport_setting(config) == "kafka"


def nats_test_transport(servers: str | None = None) -> Callable[[], Transport]:
    """A factory of JetStreamTransports for tests on ``servers`` (default: the variable).

    They create missing topics (in memory storage, kept an hour) and look for rebalances
    often, so tests need not wait.
    """
    import os  # noqa: PLC0415 (lazy)

    where = servers or os.environ.get(NATS_SERVERS_VAR) or "nats://127.0.0.1:4222"

    def make() -> Transport:
        from flowintegrations.transport.nats import JetStreamTransport  # noqa: PLC0415 (lazy)

        return JetStreamTransport(
            where, create_topics=True, storage="memory", max_age=3600.0, heartbeat=0.2
        )

    return make


def _test_transport(config: pytest.Config, node: pytest.Item | None) -> Callable[[], Transport]:
    """The transport factory the settings ask for: memory, the session's Kafka, or NATS."""
    if _wants_kafka(config, node):
        return kafka_test_transport(config.stash[_BROKER].bootstrap())
    if _transport_setting(config) == "nats":
        return nats_test_transport()
    from flowintegrations.transport import InMemoryTransport  # noqa: PLC0415 (lazy)

    return InMemoryTransport


def kafka_test_transport(bootstrap: str) -> Callable[[], Transport]:
    """A factory of KafkaTransports for tests on ``bootstrap``.

    They create missing topics and use the settings tests need on Tansu
    (:data:`~flowintegrations.testing.broker.TANSU_TEST_CONFIG`).
    """

    def make() -> Transport:
        from flowintegrations.testing.broker import TANSU_TEST_CONFIG  # noqa: PLC0415 (lazy)
        from flowintegrations.transport import KafkaTransport  # noqa: PLC0415 (lazy)

        return KafkaTransport(bootstrap, config=TANSU_TEST_CONFIG, create_topics=True)

    return make


# Fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fi_kafka_bootstrap(pytestconfig: pytest.Config) -> str:
    """The session's Kafka bootstrap address: $FLOWINTEGRATIONS_KAFKA_BOOTSTRAP, or Tansu's."""
    return pytestconfig.stash[_BROKER].bootstrap()


@pytest.fixture
def fi_memory_transport() -> InMemoryTransport:
    """A fresh in-memory transport, for ``App(..., transport=fi_memory_transport)``."""
    from flowintegrations.transport import InMemoryTransport  # noqa: PLC0415 (lazy)

    return InMemoryTransport()


def _client_factory(
    request: pytest.FixtureRequest, *, kafka: bool
) -> Iterator[Callable[..., TestClient]]:
    from flowintegrations.testing.client import TestClient  # noqa: PLC0415 (lazy)

    clients: list[TestClient] = []
    bootstrap: str | None = None
    if kafka or _wants_kafka(request.config, request.node):
        # At setup, not when the test calls the factory: a broker that cannot be had makes
        # the test error (like fi_kafka_bootstrap), not fail.
        bootstrap = request.getfixturevalue("fi_kafka_bootstrap")

    nats = bootstrap is None and _transport_setting(request.config) == "nats"

    def make(app: App, **options: Any) -> TestClient:
        if bootstrap is not None:
            options.setdefault("transport_factory", kafka_test_transport(bootstrap))
        elif nats:
            options.setdefault("transport_factory", nats_test_transport())
        client = TestClient(app, **options)
        client.start()
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for client in reversed(clients):
            client.stop()


@pytest.fixture
def fi_test_client(request: pytest.FixtureRequest) -> Iterator[Callable[..., TestClient]]:
    """``fi_test_client(app, **options)``: a started TestClient, stopped after the test.

    In memory, or on Kafka for tests marked ``fi_kafka`` or under ``--fi-transport=kafka``.
    """
    yield from _client_factory(request, kafka=False)


@pytest.fixture
def fi_kafka_app(request: pytest.FixtureRequest) -> Iterator[Callable[..., TestClient]]:
    """``fi_kafka_app(app, **options)``: the app running on Kafka, driven like the engine.

    Returns a started TestClient on the session's broker (``request``, ``send``,
    ``dead_letters``, ``replies``), with topics and groups of its own; stopped after the test.
    """
    yield from _client_factory(request, kafka=True)


# Example exchanges as tests ---------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Add one test per example exchange of the apps named in ``flowintegrations_apps``."""
    specs: list[str] = config.getini("flowintegrations_apps")
    if not specs:
        return
    if config.args_source == pytest.Config.ArgsSource.ARGS and not config.getoption("fi_examples"):
        return
    for spec in specs:
        collector = AppExamples.from_parent(session, name=spec, nodeid=spec, spec=spec)
        # Through the hooks, so that the terminal counts these items and a failure to
        # collect them is reported (and stops the run) like any collection error.
        report = collector.ihook.pytest_make_collect_report(collector=collector)
        collector.ihook.pytest_collectreport(report=report)
        if report.passed:
            items.extend(item for item in report.result if isinstance(item, pytest.Item))


def _load(spec: str, root: Path) -> App:
    from flowintegrations.errors import FlowIntegrationsError  # noqa: PLC0415 (lazy)
    from flowintegrations.loading import load_app  # noqa: PLC0415 (lazy)

    module, _, attribute = spec.partition(":")
    if module.endswith(".py") or "/" in module:
        module = str(root / module)
    try:
        return load_app(f"{module}:{attribute}")
    except (FlowIntegrationsError, ImportError, OSError) as exc:
        msg = f"flowintegrations_apps: cannot load {spec!r}: {exc}"
        raise pytest.UsageError(msg) from exc


class AppExamples(pytest.Collector):
    """The example tests of one app named in ``flowintegrations_apps``.

    Its items share one TestClient, started for the first of them and stopped after the
    last.
    """

    def __init__(self, *, spec: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.app = _load(spec, self.config.rootpath)
        self._client: TestClient | None = None

    def collect(self) -> list[pytest.Item]:
        """One :class:`ExampleItem` per example of a scenario the app handles."""
        from flowintegrations.testing.examples import example_cases  # noqa: PLC0415 (lazy)

        return [
            ExampleItem.from_parent(self, name=case.id, case=case)
            for case in example_cases(self.app)
        ]

    def client(self) -> TestClient:
        """The started TestClient the examples run through (memory or Kafka)."""
        if self._client is None:
            from flowintegrations.testing.client import TestClient  # noqa: PLC0415 (lazy)

            factory = _test_transport(self.config, None)
            client = TestClient(self.app, transport_factory=factory)
            client.start()
            self._client = client
        return self._client

    def teardown(self) -> None:
        """Stop the TestClient."""
        client, self._client = self._client, None
        if client is not None:
            client.stop()


class ExampleItem(pytest.Item):
    """One example exchange, run against the app's handler of its scenario."""

    def __init__(self, *, case: ExampleCase, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        """Send the example's request and check the outcome (see :func:`check_example`)."""
        from flowintegrations.testing.examples import check_example  # noqa: PLC0415 (lazy)

        assert isinstance(self.parent, AppExamples)
        check_example(self.parent.client(), self.case)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | Any:
        """A mismatch reads as its list of differences, without a traceback."""
        from flowintegrations.testing.examples import ExampleMismatchError  # noqa: PLC0415 (lazy)

        if isinstance(excinfo.value, ExampleMismatchError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path | str, int | None, str]:
        """Where the example's handler is defined, and the example's id."""
        case = self.case
        assert isinstance(self.parent, AppExamples)
        handler = self.parent.app.handlers[(case.integration.identifier, case.scenario.identifier)]
        try:
            where = Path(inspect.getsourcefile(handler) or self.path)
            line: int | None = inspect.getsourcelines(handler)[1] - 1
        except (OSError, TypeError):
            where, line = self.path, None
        return where, line, f"example {case.id}"
