"""Hostile records through an App, in memory: every record replied or dead-lettered.

One generator and one checker, used by ``make fuzz`` (a million records)::

    .venv/bin/python tests/support/fuzz.py --records 1000000 [--seed 1] [--skip CATEGORY]

and by ``tests/runtime/test_fuzz.py`` (20,000 records in the normal suite).

The App serves three scenarios: ORDER (nested objects, an array of objects), TRANSFER
(OBJECT_REF and ARRAY_REF to the integration's definitions) and SIGNAL (ENUMs, arrays of
strings and numbers; failures get an error reply). Their out topics have four partitions
each. Records are written in chunks straight into the in-memory broker; after each chunk
the harness waits until the App has handled every partition to its end, reads the replies
and dead letters, matches them to the requests, and deletes what it read (so memory stays
bounded and RSS can be compared). Every record carries a ``fuzz.id`` header (the one
header name the generator never picks); dead letters are matched by their
``flowintegrations.original.*`` headers, replies by ``fuzz.id``.

Per record the outcome must be *replied* or *dead-lettered* (for SIGNAL also both: the
dead letter and its error reply). A valid *canary* request goes to every partition every
``CANARY_EVERY`` records and must be replied to: a partition that stops serving fails the
run. A partition that makes no progress for ``stall_timeout`` seconds is reported as
stalled and ends the run. Log lines are formatted and encoded as UTF-8, as a file
handler would, and counted; RSS is measured after the first chunk and at the end.

Seeded: the same seed gives the same records.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import logging
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import attrs

from flowintegrations import (
    App,
    DataModel,
    Header,
    Integration,
    Property,
    Retry,
    Scenario,
    TopicBinding,
)
from flowintegrations.deadletter import ORIGINAL_OFFSET, ORIGINAL_PARTITION, ORIGINAL_TOPIC
from flowintegrations.transport import InMemoryTransport, Record, TopicPartition, Transport
from flowintegrations.transport.memory import record_size

PARTITIONS = 4
CHUNK = 20_000
CANARY_EVERY = 50
FUZZ_ID = "fuzz.id"
MAX_RECORD = 1_040_000
"""Records are kept under the transport's 1 MiB limit, or the write itself would be refused."""

ACCOUNT = DataModel(
    (Property.string("iban", mandatory=True), Property.string("owner")),
    additional_properties=False,
)
ORDER = Scenario(
    "Order (nested objects, array of objects)",
    "order",
    topics=(
        TopicBinding("ai.flowx.fuzz.plugin.order.v1", "ai.flowx.fuzz.engine.receive.order.v1"),
    ),
    output_model=DataModel(
        (
            Property.object(
                "customer",
                (
                    Property.string("name", mandatory=True),
                    Property.object(
                        "address",
                        (Property.string("city", mandatory=True), Property.string("zip")),
                    ),
                ),
                mandatory=True,
            ),
            Property.array(
                "lines",
                "OBJECT",
                properties=(
                    Property.string("sku", mandatory=True),
                    Property.number("qty", mandatory=True),
                ),
                mandatory=True,
            ),
        ),
        additional_properties=False,
    ),
    input_model=DataModel((Property.number("total", mandatory=True),)),
)
TRANSFER = Scenario(
    "Transfer (OBJECT_REF, ARRAY_REF)",
    "transfer",
    topics=(
        TopicBinding(
            "ai.flowx.fuzz.plugin.transfer.v1", "ai.flowx.fuzz.engine.receive.transfer.v1"
        ),
    ),
    output_model=DataModel(
        (
            Property.object_ref("source", "Account", mandatory=True),
            Property.object_ref("target", "Account", mandatory=True),
            Property.array_ref("cosigners", "Account"),
            Property.number("amount", mandatory=True),
        ),
        additional_properties=False,
    ),
    input_model=DataModel((Property.string("status", mandatory=True),)),
)
SIGNAL = Scenario(
    "Signal (ENUM, arrays of strings and numbers; error replies)",
    "signal",
    topics=(
        TopicBinding("ai.flowx.fuzz.plugin.signal.v1", "ai.flowx.fuzz.engine.receive.signal.v1"),
    ),
    output_model=DataModel(
        (
            Property.enum("level", ("LOW", "HIGH"), mandatory=True),
            Property.array("tags", "STRING"),
            Property.array("values", "NUMBER"),
        ),
    ),
    input_model=DataModel(
        (Property.enum("state", ("OK", "ALERT")), Property.string("error")),
    ),
    headers=(Header("processInstanceId", mandatory=True), Header("jwt", secret=True)),
    error_reply=True,
)
FUZZ = Integration(
    "Fuzz target",
    "fuzz",
    scenarios=(ORDER, TRANSFER, SIGNAL),
    definitions={"Account": ACCOUNT},
)
SCENARIOS = (ORDER, TRANSFER, SIGNAL)
OUT = {s.identifier: s.binding(None).out_topic for s in SCENARIOS}
IN = {s.identifier: s.binding(None).in_topic for s in SCENARIOS}


class Boom(Exception):  # noqa: N818 - the name a handler author would pick
    """What the handlers raise when a request asks them to: its message echoes the request."""


def build_app(
    transport: Transport,
    *,
    topics: Mapping[str, str] | None = None,
    group_id: str = "fuzz",
) -> App:
    """The App under test: three handlers that fail on request and echo hostile text.

    ``topics`` renames the harness's topics (fresh ones per run, on a shared broker).
    """
    integration = FUZZ if topics is None else _renamed(FUZZ, topics)
    app = App(
        integration,
        transport=transport,
        group_id=group_id,
        retry=Retry(attempts=2, backoff=0.0),
        commit_interval=0.2,
        shutdown_timeout=5.0,
    )

    @app.handler("order")
    def order(payload: dict[str, Any]) -> dict[str, Any]:
        name = payload["customer"]["name"]
        if name.startswith("boom"):
            raise Boom(f"cannot order for {name}")
        return {"total": sum(line["qty"] for line in payload["lines"])}

    @app.handler("transfer")
    def transfer(payload: dict[str, Any]) -> dict[str, Any]:
        if payload["source"]["iban"].startswith("boom"):
            raise Boom(f"refused {payload['source']!r} -> {payload['target']!r}")
        if payload["amount"] < 0:
            return {"status": payload["amount"]}  # an invalid reply: dead-lettered at reply
        return {"status": "done"}

    @app.handler("signal")
    async def signal(payload: dict[str, Any]) -> dict[str, Any]:
        tags = payload.get("tags") or []
        if tags and tags[0].startswith("boom"):
            raise Boom(json.dumps(tags, ensure_ascii=False))
        total = sum(payload.get("values") or [])
        return {"state": "ALERT" if payload["level"] == "HIGH" or total > 100 else "OK"}

    return app


def _renamed(integration: Integration, topics: Mapping[str, str]) -> Integration:
    """``integration`` with every topic renamed by ``topics``."""
    scenarios = [
        attrs.evolve(
            scenario,
            topics=tuple(
                TopicBinding(
                    topics.get(b.out_topic, b.out_topic) if b.out_topic else None,
                    topics.get(b.in_topic, b.in_topic) if b.in_topic else None,
                    b.environment,
                )
                for b in scenario.topics
            ),
        )
        for scenario in integration.scenarios
    ]
    return attrs.evolve(integration, scenarios=tuple(scenarios))


# Generation ----------------------------------------------------------------------------------

SURROGATES = ["\ud800", "\udcff", "\udfff", "a\ud83d", "\ude00z"]
ODD_TEXT = ["", " ", "\x00", "é", "\u2028", "😀", "\\", '"', "null", "1e400", "boom", *SURROGATES]


class Rng(random.Random):
    """The seeded source of every choice, and whether lone surrogates may be picked."""

    def __init__(self, seed: int, *, surrogates: bool = True) -> None:
        super().__init__(seed)
        self.surrogates = surrogates
        self.odd = ODD_TEXT if surrogates else [t for t in ODD_TEXT if t not in SURROGATES]


def _text(rng: Rng, hostile: bool) -> str:
    if hostile and rng.random() < 0.5:
        return rng.choice(rng.odd) + rng.choice(rng.odd)
    return "".join(rng.choice("abcdefghij0123456789 -") for _ in range(rng.randint(1, 12)))


def _number(rng: Rng, hostile: bool) -> Any:
    if hostile:
        return rng.choice(
            [10**400, -(10**30), 1e308, 5e-324, -0.0, 2**63, True, "1", None, 0.1 + 0.2]
        )
    return rng.randint(0, 50)


def valid_payload(scenario: Scenario, rng: Rng, hostile_text: bool = False) -> Any:
    """A request that validates against ``scenario``'s output model."""
    text = lambda: _text(rng, hostile_text)  # noqa: E731 - short, local
    if scenario is ORDER:
        customer: dict[str, Any] = {"name": text()}
        if rng.random() < 0.5:
            customer["address"] = {"city": text(), "zip": text()}
        lines = [{"sku": text(), "qty": rng.randint(0, 9)} for _ in range(rng.randint(0, 4))]
        return {"customer": customer, "lines": lines}
    if scenario is TRANSFER:
        account = lambda: {"iban": text(), "owner": text()}  # noqa: E731
        payload = {"source": account(), "target": account(), "amount": rng.randint(0, 1000)}
        if rng.random() < 0.5:
            payload["cosigners"] = [account() for _ in range(rng.randint(0, 3))]
        return payload
    return {
        "level": rng.choice(["LOW", "HIGH"]),
        "tags": [text() for _ in range(rng.randint(0, 3))],
        "values": [rng.randint(0, 60) for _ in range(rng.randint(0, 3))],
    }


def _json_value(rng: Rng, depth: int = 0) -> Any:
    kind = rng.randint(0, 7 if depth < 4 else 4)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return _number(rng, rng.random() < 0.3)
    if kind in (3, 4):
        return _text(rng, True)
    if kind == 5:
        return [_json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {_text(rng, True): _json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def _dumps(value: Any) -> bytes:
    # ensure_ascii writes a lone surrogate as \udXXX: valid JSON in valid UTF-8.
    return json.dumps(value).encode()


def _mutate(scenario: Scenario, rng: Rng) -> bytes:
    """A request with one part replaced by a hostile value (wrong type, odd text, 1e400...)."""
    payload = valid_payload(scenario, rng, hostile_text=True)
    target: Any = payload
    for _ in range(rng.randint(0, 2)):
        inner = (
            [v for v in target.values() if isinstance(v, dict)] if isinstance(target, dict) else []
        )
        if not inner:
            break
        target = rng.choice(inner)
    key = rng.choice([*target, _text(rng, True)]) if target else _text(rng, True)
    target[key] = _json_value(rng)
    text = _dumps(payload)
    if rng.random() < 0.2:  # a number literal no float holds, where a number belongs
        text = text.replace(b'"qty": ', b'"qty": 1e400, "x": ', 1)
        text = text.replace(b'"amount": ', b'"amount": -1e400, "y": ', 1)
    return text


def _nested(rng: Rng) -> bytes:
    depth = rng.choice([10, 100, 900, 1_500, 20_000, 200_000])
    if rng.random() < 0.5:
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


def _huge(scenario: Scenario, rng: Rng) -> bytes:
    size = rng.randint(100_000, MAX_RECORD - 2_000)
    kind = rng.choice([0, 1, 3])
    if kind == 0:
        return rng.randbytes(size)
    if kind == 1:  # valid, with one huge string
        payload = valid_payload(scenario, rng)
        pad = "z" * size
        if scenario is ORDER:
            payload["customer"]["name"] = pad
        elif scenario is TRANSFER:
            payload["target"]["owner"] = pad
        else:
            payload["tags"] = [pad]
        return _dumps(payload)
    return b'{"values": [' + b",".join([b"1e400"] * (size // 6)) + b"]}"


def _value(category: str, scenario: Scenario, rng: Rng) -> bytes:
    if category == "valid":
        return _dumps(valid_payload(scenario, rng, hostile_text=False))
    if category == "hostile-text":
        return _dumps(valid_payload(scenario, rng, hostile_text=True))
    if category == "surrogate-key":
        if not rng.surrogates:
            return b'{"\\u00e9": 1}'
        return rng.choice([b'{"\\ud800": 1}', b'{"level": "LOW", "\\udcff": [1]}'])
    if category == "mutated":
        return _mutate(scenario, rng)
    if category == "random-bytes":
        return rng.randbytes(rng.randint(0, 300))
    if category == "invalid-utf8":
        good = _dumps(valid_payload(scenario, rng))
        cut = rng.randint(0, len(good))
        return (
            good[:cut] + rng.choice([b"\xff", b"\xed\xa0\x80", b"\xc3", b"\x80\x80"]) + good[cut:]
        )
    if category == "nested":
        return _nested(rng)
    if category == "numbers":
        return rng.choice([b"1e400", b"-1e400", b"[1e400]", b'{"n": 1e999}', b"1" * 5000, b"NaN"])
    if category == "empty":
        return rng.choice([b"", b" ", b"null", b"{}", b"[]", b'""', b"0"])
    if category == "huge":
        return _huge(scenario, rng)
    if category == "oversized-dead-letter":  # one unknown key per 13 bytes (defect 3)
        entries = rng.randint(50_000, (MAX_RECORD - 2_000) // 13)
        return b'{"amount": 1' + b"".join(b',"k%07d":0' % i for i in range(entries)) + b"}"
    return _dumps(_json_value(rng))  # "json"


def _headers(category: str, rng: Rng, pid: bytes) -> list[tuple[str, bytes]]:
    headers = [("processInstanceId", pid), ("processInstanceUuid", b"uuid-" + pid)]
    if category != "odd-headers":
        if rng.random() < 0.1:
            headers.append(("jwt", b"eyJ.secret-token-" + pid))
        return headers
    kind = rng.randint(0, 8)
    if kind == 0:
        return headers[1:]  # no processInstanceId
    if kind == 1:
        return [*headers, ("processInstanceId", b"other"), ("processInstanceId", b"")]
    if kind == 2:
        return [*headers, ("", b"empty name")]
    if kind == 3:
        return [*headers, ("\udcff" if rng.surrogates else "\u00ff", rng.choice([b"\xff", b"ok"]))]
    if kind == 4:
        return [("processInstanceId", rng.choice([b"\xff\xfe", b"\xed\xa0\x80", b"\x00"]))]
    if kind == 5:
        return headers + [(f"h{i}", b"v") for i in range(300)]
    if kind == 6:
        return [*headers, ("n" * 5_000, b"v" * 5_000)]
    if kind == 7:
        return [*headers, ("jwt", 'tok\u00e9n"\\'.encode() + rng.randbytes(4))]
    name = "bad\udcffname" if rng.surrogates else "bad\u00ffname"
    return [*headers, ("flowintegrations.original.offset", b"-1"), (name, b"\x80")]


def _key(rng: Rng) -> bytes | None:
    return rng.choice([None, b"", b"k", rng.randbytes(8), b"\xff" * 3, b"K" * 10_000])


CATEGORIES: dict[str, int] = {
    "valid": 20,
    "hostile-text": 8,
    "surrogate-key": 2,
    "mutated": 20,
    "json": 8,
    "random-bytes": 8,
    "invalid-utf8": 6,
    "nested": 3,
    "numbers": 4,
    "empty": 4,
    "odd-headers": 12,
    "huge": 0,
    "oversized-dead-letter": 0,
}
"""Relative weights of the categories; the last two come once every ``huge_every`` each."""


@attrs.frozen
class Request:
    """A record to send, with what the checker needs to know about it."""

    id: int
    scenario: str
    category: str
    record: Record


def generate(
    rng: Rng,
    count: int,
    start: int,
    *,
    skip: frozenset[str] = frozenset(),
    huge_every: int = 5_000,
) -> Iterator[Request]:
    """``count`` requests with ids from ``start``: hostile ones, and a canary every so often."""
    names = [name for name in CATEGORIES if name not in skip]
    weights = [CATEGORIES[name] for name in names]
    for fid in range(start, start + count):
        partition = fid % PARTITIONS
        scenario = SCENARIOS[(fid // PARTITIONS) % len(SCENARIOS)]
        pid = b"%d" % fid
        if (fid // (PARTITIONS * len(SCENARIOS))) % CANARY_EVERY == 0:
            category = "canary"
            value = _dumps(valid_payload(scenario, rng))
            headers = [("processInstanceId", pid)]
            key: bytes | None = pid
        else:
            category = rng.choices(names, weights)[0]
            if fid % huge_every == huge_every // 2 and "huge" not in skip:
                category = "huge"
            elif fid % huge_every == huge_every // 4 and "oversized-dead-letter" not in skip:
                category = "oversized-dead-letter"
            value = _value(category, scenario, rng)
            headers = _headers(category, rng, pid)
            key = _key(rng)
        headers.append((FUZZ_ID, pid))
        record = Record(OUT[scenario.identifier], key, value, tuple(headers), partition)
        if record_size(record) > MAX_RECORD:
            record = record.replace(key=None, value=value[: MAX_RECORD - 100_000])
        yield Request(fid, scenario.identifier, category, record)


# Checking ------------------------------------------------------------------------------------

REPLIED = "replied"
DEAD = "dead-lettered"
BOTH = "dead-lettered + error reply"


@attrs.define
class Report:
    """What happened to the records: outcome counts and every problem found."""

    records: int = 0
    outcomes: collections.Counter[str] = attrs.Factory(collections.Counter)
    by_category: collections.Counter[tuple[str, str]] = attrs.Factory(collections.Counter)
    problems: list[str] = attrs.Factory(list)
    log_lines: int = 0
    unencodable_log_lines: int = 0
    rss_start: int = 0
    rss_end: int = 0
    seconds: float = 0.0
    stalled: list[str] = attrs.Factory(list)

    def summary(self) -> str:
        """A few lines for a person."""
        lines = [
            f"records: {self.records:,} in {self.seconds:.1f} s "
            f"({self.records / max(self.seconds, 1e-9):,.0f}/s)",
            *(f"  {name}: {count:,}" for name, count in sorted(self.outcomes.items())),
            f"log lines: {self.log_lines:,} (not encodable as UTF-8: "
            f"{self.unencodable_log_lines:,})",
            f"RSS after warm-up: {self.rss_start / 2**20:.1f} MiB, "
            f"at the end: {self.rss_end / 2**20:.1f} MiB",
        ]
        if self.stalled:
            lines.append(f"stalled partitions: {', '.join(self.stalled)}")
        lines.append(f"problems: {len(self.problems)}")
        lines.extend(f"  {problem}" for problem in self.problems[:20])
        return "\n".join(lines)


class CountingHandler(logging.Handler):
    """Formats every log line and encodes it as UTF-8, as a file handler would; counts both."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines = 0
        self.unencodable = 0

    def emit(self, record: logging.LogRecord) -> None:
        """Format ``record``; count it, and count it again if it cannot be written as UTF-8."""
        self.lines += 1
        try:
            self.format(record).encode("utf-8")
        except UnicodeEncodeError:
            self.unencodable += 1


def rss() -> int:
    """This process's resident set size in bytes (Linux)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _last(record: Record, name: str) -> str | None:
    value = record.header(name)
    return None if value is None else value.decode("utf-8", "replace")


async def _wait_handled(
    app: App, last: dict[TopicPartition, Record], stall_timeout: float
) -> list[str]:
    """Wait until ``app`` handled the last record of each partition; the partitions that stall."""
    waiting = dict(last)
    progress = time.monotonic()
    while waiting:
        for tp, record in list(waiting.items()):
            if app.is_handled(record):
                del waiting[tp]
                progress = time.monotonic()
        if not waiting:
            break
        if time.monotonic() - progress > stall_timeout:
            return [f"{tp.topic}[{tp.partition}]" for tp in sorted(waiting)]
        await asyncio.sleep(0.005)
    return []


def _collect(
    transport: InMemoryTransport,
    requests: dict[tuple[str, int, int], Request],
    report: Report,
) -> None:
    """Match the replies and dead letters on the broker to ``requests``; count the outcomes."""
    by_id = {request.id: request for request in requests.values()}
    replies: collections.Counter[int] = collections.Counter()
    errors: collections.Counter[int] = collections.Counter()
    dead: collections.Counter[int] = collections.Counter()
    for name in IN.values():
        assert name is not None
        for reply in transport.records(name):
            fid = reply.header(FUZZ_ID)
            if fid is None or int(fid) not in by_id:
                report.problems.append(f"a reply on {name} matches no request: {reply!r}")
                continue
            is_error = b'"error"' in reply.value
            (errors if is_error else replies)[int(fid)] += 1
    for name in OUT.values():
        for letter in transport.records(name + ".DLT"):
            where = (
                _last(letter, ORIGINAL_TOPIC),
                _last(letter, ORIGINAL_PARTITION),
                _last(letter, ORIGINAL_OFFSET),
            )
            try:
                request = requests[(str(where[0]), int(str(where[1])), int(str(where[2])))]
            except (KeyError, ValueError):
                report.problems.append(f"a dead letter matches no request: {where}")
                continue
            dead[request.id] += 1
    for request in by_id.values():
        fid = request.id
        counts = (replies[fid], errors[fid], dead[fid])
        error_reply = request.scenario == SIGNAL.identifier
        if counts == (1, 0, 0):
            outcome = REPLIED
        elif counts == (0, 0, 1):
            outcome = DEAD
        elif counts == (0, 1, 1) and error_reply:
            outcome = BOTH
        elif counts == (0, 0, 0):
            outcome = "NEITHER"
        else:
            outcome = f"WRONG {counts}"
        report.outcomes[outcome] += 1
        report.by_category[(request.category, outcome)] += 1
        if outcome not in (REPLIED, DEAD, BOTH):
            report.problems.append(
                f"request {fid} ({request.category}) on {_where(request)}: {outcome} "
                "(replies, error replies, dead letters)"
            )
        elif request.category == "canary" and outcome != REPLIED:
            report.problems.append(f"canary {fid} on {_where(request)} was not served: {outcome}")


def _where(request: Request) -> str:
    return f"{request.record.topic}[{request.record.partition}]"


async def run_fuzz(
    records: int,
    *,
    seed: int = 1,
    skip: Iterable[str] = (),
    surrogates: bool = True,
    chunk: int = CHUNK,
    huge_every: int = 5_000,
    stall_timeout: float = 30.0,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Drive ``records`` hostile records through the fuzz App; the report of what happened."""
    skipped = frozenset(skip)
    unknown = skipped - set(CATEGORIES)
    if unknown:
        msg = f"unknown categories: {sorted(unknown)}; known: {sorted(CATEGORIES)}"
        raise ValueError(msg)
    rng = Rng(seed, surrogates=surrogates)
    report = Report()
    handler = CountingHandler()
    logger = logging.getLogger("flowintegrations")
    saved = (logger.handlers[:], logger.propagate, logger.level)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    transport = InMemoryTransport()
    await transport.start()
    await transport.create_topics(list(OUT.values()), partitions=PARTITIONS)
    app = build_app(transport)
    started = time.monotonic()
    try:
        await app.start()
        done = 0
        while done < records:
            size = min(chunk, records - done)
            requests: dict[tuple[str, int, int], Request] = {}
            last: dict[TopicPartition, Record] = {}
            for request in generate(rng, size, done, skip=skipped, huge_every=huge_every):
                written = transport.broker.write(request.record)
                assert written.partition is not None
                assert written.offset is not None
                requests[(written.topic, written.partition, written.offset)] = request
                last[written.topic_partition] = written
            stalled = await _wait_handled(app, last, stall_timeout)
            _collect(transport, requests, report)
            report.records += size
            done += size
            del requests, last
            ends = {}
            for topic in transport.topics():
                ends.update(transport.end_offsets(topic))
            transport.delete_records(ends)
            if report.rss_start == 0:
                gc.collect()
                report.rss_start = rss()
            if stalled:
                report.stalled = stalled
                report.problems.append(
                    f"no progress for {stall_timeout}s on {', '.join(stalled)}: stopped"
                )
                break
            if progress is not None:
                seconds = time.monotonic() - started
                progress(
                    f"{done:,} records, {seconds:.0f} s, RSS {rss() / 2**20:.0f} MiB, "
                    f"{dict(report.outcomes)}"
                )
    finally:
        report.seconds = time.monotonic() - started
        await app.stop()
        await transport.stop()
        logger.handlers[:], logger.propagate = saved[0], saved[1]
        logger.setLevel(saved[2])
    # Collect now what the App left (a task that died logs it when collected), rather than
    # at a random later moment, such as inside a caller's ast.parse.
    del app, transport
    gc.collect()
    report.rss_end = rss()
    report.log_lines = handler.lines
    report.unencodable_log_lines = handler.unencodable
    return report


RSS_TOLERANCE = 64 * 2**20
"""How much RSS may grow between the end of the first chunk and the end of the run."""


def main(argv: list[str] | None = None) -> int:
    """``make fuzz``: run, print the report; exit 1 on any problem or RSS growth."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=CHUNK)
    parser.add_argument(
        "--skip", action="append", default=[], choices=sorted(CATEGORIES), help="a category"
    )
    parser.add_argument(
        "--without-surrogates",
        action="store_true",
        help="no lone surrogates anywhere (to measure the rest while defect 1 is open)",
    )
    parser.add_argument("--stall-timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    report = asyncio.run(
        run_fuzz(
            args.records,
            seed=args.seed,
            skip=args.skip,
            chunk=args.chunk,
            surrogates=not args.without_surrogates,
            stall_timeout=args.stall_timeout,
            progress=lambda line: print(line, flush=True),  # noqa: T201 - the command's output
        )
    )
    print(report.summary())  # noqa: T201 - the command's output
    grown = report.rss_end - report.rss_start
    flat = grown <= RSS_TOLERANCE
    print(f"RSS growth: {grown / 2**20:+.1f} MiB, allowed {RSS_TOLERANCE / 2**20:.0f}")  # noqa: T201
    return 0 if flat and not report.problems else 1


if __name__ == "__main__":
    sys.exit(main())
