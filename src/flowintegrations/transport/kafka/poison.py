"""Records that crash the client: remembered on disk, so they are never read twice.

confluent-kafka cannot read a header *name* that is not UTF-8: ``Message.headers()``
raises ``SystemError``, or crashes the process outright (docs/reliability.md has the
details and the report for upstream). So reading is guarded by two small files of the
consumer group:

* ``<group>.reading`` names the records being read (per partition, the first and last
  offset of the batch); it is written before ``headers()`` is called (one ``pwrite`` a
  batch, on a file kept open). A process that finds it at start knows the previous one
  died reading those records, or after it had read them; either way it reads them one at
  a time, each named alone in the file first, so a crash on one of them names the very
  record.
* ``<group>.poison`` lists the records known to crash the client (found by a
  ``SystemError``, or named alone in ``<group>.reading`` by a process that died). They
  are never read again: they are handed on as unreadable and dead-lettered.

One bad record costs at most two crashes, never a crash loop. The files are plain writes,
which survive the process's death; only the poison list is flushed to disk.

The file lives in ``$FLOWINTEGRATIONS_STATE_DIR`` (default ``$XDG_STATE_HOME`` or
``~/.local/state``, then ``flowintegrations/``): give containers a persistent directory
there, or a restart forgets what crashed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from flowintegrations.transport.kafka.config import log
from flowintegrations.vocabulary import STATE_DIR_VAR

__all__ = ["PoisonLedger", "state_directory"]


def state_directory(environ: Mapping[str, str] | None = None) -> Path:
    """Where flowintegrations keeps state across restarts (see the module docstring)."""
    environ = os.environ if environ is None else environ
    configured = environ.get(STATE_DIR_VAR)
    if configured:
        return Path(configured)
    base = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "flowintegrations"


class PoisonLedger:
    """The records of one consumer group that crashed (or would crash) the client.

    :meth:`__contains__` is a set lookup, cheap enough for every record; the set is
    empty (and falsy) unless a poison record was ever met.
    """

    __slots__ = ("_fd", "_known", "_unwritable", "path", "reading", "suspects")

    def __init__(self, directory: Path, group_id: str) -> None:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", group_id) or "group"
        self.path = directory / f"{safe}.poison"
        self.reading = directory / f"{safe}.reading"
        self._known: set[tuple[str, int, int]] = set()
        self._fd: int | None = None
        self._unwritable = False
        self.suspects: dict[tuple[str, int], tuple[int, int]] = {}
        """Offset ranges a process died reading: read them one record at a time."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            lines = []
        except OSError as exc:
            log.warning("cannot read the poison-record file %s: %s", self.path, exc)
            lines = []
        for line in lines:
            topic, _, rest = line.rpartition("\t")
            topic, _, partition = topic.rpartition("\t")
            if topic and partition.isdigit() and rest.isdigit():
                self._known.add((topic, int(partition), int(rest)))
        self._read_marker()

    def _read_marker(self) -> None:
        try:
            lines = self.reading.read_text(encoding="utf-8").splitlines()
        except OSError:
            return
        for line in lines:
            kind, _, rest = line.partition("\t")
            topic, _, last = rest.rpartition("\t")
            topic, _, first = topic.rpartition("\t")
            topic, _, partition = topic.rpartition("\t")
            if not (topic and partition.isdigit() and first.isdigit() and last.isdigit()):
                continue
            if kind == "one":  # the one record a careful read was on: it crashed the client
                log.error(
                    "record %s[%s]@%s crashed the client; it will be dead-lettered unread",
                    topic,
                    partition,
                    first,
                )
                self.add(topic, int(partition), int(first))
            else:
                self.suspects[(topic, int(partition))] = (int(first), int(last))

    def __bool__(self) -> bool:
        return bool(self._known)

    def __contains__(self, place: object) -> bool:
        return place in self._known

    def is_suspect(self, topic: str, partition: int, offset: int) -> bool:
        """Whether the record is in a range a process died reading."""
        span = self.suspects.get((topic, partition))
        return span is not None and span[0] <= offset <= span[1]

    def mark(self, spans: Mapping[tuple[str, int], tuple[int, int]]) -> None:
        """Name the records about to be read: per partition, (first, last) offset."""
        self._write("".join(f"batch\t{t}\t{p}\t{a}\t{b}\n" for (t, p), (a, b) in spans.items()))

    def mark_one(self, topic: str, partition: int, offset: int) -> None:
        """Name the one record about to be read (of a range a process died reading)."""
        self._write(f"one\t{topic}\t{partition}\t{offset}\t{offset}\n")

    def _write(self, text: str) -> None:
        if self._unwritable:
            return
        data = text.encode("utf-8")
        try:
            if self._fd is None:
                self.reading.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.reading, os.O_WRONLY | os.O_CREAT, 0o600)
            os.pwrite(self._fd, data, 0)
            os.ftruncate(self._fd, len(data))
        except OSError as exc:
            # Said once, not once a batch: the guard is off until the process restarts.
            self._unwritable = True
            log.warning(
                "cannot write %s (%s): a record that crashes the client may be read again "
                "after a restart; set %s to a writable directory",
                self.reading,
                exc,
                STATE_DIR_VAR,
            )

    def close(self) -> None:
        """Forget what was being read (a clean stop) and close the file."""
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
                os.close(self._fd)
            except OSError as exc:
                log.warning("cannot close %s: %s", self.reading, exc)
            self._fd = None

    def add(self, topic: str, partition: int, offset: int) -> None:
        """Remember the record at ``offset`` of ``topic[partition]``, on disk first."""
        place = (topic, partition, offset)
        if place in self._known:
            return
        self._known.add(place)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as file:
                file.write(f"{topic}\t{partition}\t{offset}\n")
                file.flush()
                os.fsync(file.fileno())
        except OSError as exc:
            log.error(
                "cannot write the poison-record file %s (%s): if the process crashes now, "
                "the record %s[%d]@%d is read again",
                self.path,
                exc,
                topic,
                partition,
                offset,
            )
