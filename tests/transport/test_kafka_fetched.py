"""Fetched librdkafka messages become records (transport/kafka/fetched.py), no broker needed.

The messages are stand-ins with confluent-kafka's accessors. Both loops must build the
same records; the careful one must never read a known poison record's headers, and must
name a suspect record alone before it reads its headers.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

import pytest

from flowintegrations.transport import Record
from flowintegrations.transport.kafka import fetched
from flowintegrations.transport.kafka.poison import PoisonLedger


class Message:
    """A stand-in for ``confluent_kafka.Message``; ``headers`` may be an exception to raise."""

    def __init__(
        self,
        offset: int,
        *,
        value: bytes | None = b"v",
        headers: Any = None,
        error: object = None,
        partition: int = 0,
        reads: list[tuple[str, int]] | None = None,
    ) -> None:
        self._offset = offset
        self._value = value
        self._headers = headers
        self._error = error
        self._partition = partition
        self._reads = reads

    def error(self) -> object:
        """The error, or None."""
        return self._error

    def topic(self) -> str:
        """Always "t"."""
        return "t"

    def partition(self) -> int:
        """The partition."""
        return self._partition

    def offset(self) -> int:
        """The offset."""
        return self._offset

    def key(self) -> bytes:
        """A key made of the offset."""
        return b"k%d" % self._offset

    def value(self) -> bytes | None:
        """The value."""
        return self._value

    def timestamp(self) -> tuple[int, int]:
        """(type, 1000 + offset)."""
        return (1, 1000 + self._offset)

    def headers(self) -> Any:
        """The headers, or raise the exception given as headers."""
        if self._reads is not None:
            self._reads.append(("headers", self._offset))
        if isinstance(self._headers, BaseException):
            raise self._headers
        return self._headers


def build(messages: list[Message], ledger: PoisonLedger, *, careful: bool) -> list[Record]:
    """The records of ``messages`` by one loop; error messages must reach ``on_error``."""
    errors: list[Any] = []
    failed = [m.offset() for m in messages if m.error()]
    if careful:
        spans = fetched.scan_spans(messages)
        built = fetched.records_carefully(messages, spans, ledger, errors.append)
    else:
        built = fetched.records(messages, ledger, errors.append)
        assert messages == []  # each message let go once read
    assert [m.offset() for m in errors] == failed
    return built


@pytest.mark.parametrize("careful", [False, True])
def test_fields_headers_and_nulls(tmp_path: Path, careful: bool) -> None:
    """Every field is read; null header values and a null value become b""."""
    messages = [
        Message(5, headers=[("a", b"1"), ("a", b"2"), ("b", None)]),
        Message(6, value=None),
        Message(7, error="broken"),
        Message(8, headers=[("x", b"y")], partition=1),
    ]
    assert build(messages, PoisonLedger(tmp_path, "g"), careful=careful) == [
        Record("t", b"k5", b"v", (("a", b"1"), ("a", b"2"), ("b", b"")), 0, 5, 1005),
        Record("t", b"k6", b"", (), 0, 6, 1006),
        Record("t", b"k8", b"v", (("x", b"y"),), 1, 8, 1008),
    ]


@pytest.mark.parametrize("careful", [False, True])
@pytest.mark.parametrize(
    "raised", [SystemError("bad"), UnicodeDecodeError("utf-8", b"", 0, 1, "x")]
)
def test_unreadable_headers_are_marked_and_remembered(
    tmp_path: Path, careful: bool, raised: Exception
) -> None:
    """A record whose headers cannot be read is handed on marked, and is poison from then on."""
    messages = [Message(3, headers=raised), Message(4, headers=[("h", b"1")])]
    built = build(messages, PoisonLedger(tmp_path, "g"), careful=careful)
    assert (
        [r.headers for r in built],
        ("t", 0, 3) in PoisonLedger(tmp_path, "g"),
        ("t", 0, 4) in PoisonLedger(tmp_path, "g"),
    ) == ([fetched.UNREADABLE, (("h", b"1"),)], True, False)


def test_known_poison_is_never_read(tmp_path: Path) -> None:
    """The careful loop hands a known poison record on marked, without calling headers()."""
    PoisonLedger(tmp_path, "g").add("t", 0, 3)
    reads: list[tuple[str, int]] = []
    messages = [Message(o, headers=[("h", b"1")], reads=reads) for o in (2, 3, 4)]
    built = build(messages, PoisonLedger(tmp_path, "g"), careful=True)
    assert ([r.headers for r in built], reads) == (
        [(("h", b"1"),), fetched.UNREADABLE, (("h", b"1"),)],
        [("headers", 2), ("headers", 4)],
    )


def test_a_suspect_record_is_named_alone_while_its_headers_are_read(tmp_path: Path) -> None:
    """In a range a process died reading, the marker names the one record being read."""
    PoisonLedger(tmp_path, "g").mark({("t", 0): (3, 3)})  # the last process died there
    ledger = PoisonLedger(tmp_path, "g")
    seen: list[str] = []

    class Watched(Message):
        def headers(self) -> Any:
            seen.append(ledger.reading.read_text(encoding="utf-8"))
            return super().headers()

    messages = [Watched(o, headers=[]) for o in (2, 3)]
    spans = fetched.scan_spans(messages)
    ledger.mark(spans)
    fetched.records_carefully(messages, spans, ledger, lambda _: None)
    assert (seen, ledger.reading.read_text(encoding="utf-8")) == (
        ["batch\tt\t0\t2\t3\n", "one\tt\t0\t3\t3\n"],
        "batch\tt\t0\t2\t3\n",
    )


def test_scan_spans_per_partition() -> None:
    """First and last offset per partition; error messages do not count."""
    messages = [
        Message(1),
        Message(9, partition=1),
        Message(2, error="e"),
        Message(4),
        Message(10, partition=1),
    ]
    assert fetched.scan_spans(messages) == {("t", 0): (1, 4), ("t", 1): (9, 10)}


def test_each_message_is_let_go_once_its_record_is_built(tmp_path: Path) -> None:
    """The collector counts objects made and not freed: a batch must not hold them all."""
    alive: weakref.WeakSet[Message] = weakref.WeakSet()
    counted: list[int] = []

    class Counted(Message):
        def value(self) -> bytes | None:
            counted.append(len(alive))
            return super().value()

    messages: list[Message] = [Counted(n) for n in range(5)]
    alive.update(messages)
    built = fetched.records(messages, PoisonLedger(tmp_path, "g"), print)
    assert [r.offset for r in built] == [0, 1, 2, 3, 4]
    assert counted == [5, 4, 3, 2, 1]
    assert len(alive) == 0
