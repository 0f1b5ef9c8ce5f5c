"""The poison-record ledger: what a process that died reading records leaves for the next."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from flowintegrations.transport.kafka.poison import PoisonLedger, state_directory


def test_a_record_added_is_known_to_the_next_process(tmp_path: Path) -> None:
    """add() writes the record down; a new ledger of the group knows it."""
    PoisonLedger(tmp_path, "g").add("t", 0, 7)
    assert (
        ("t", 0, 7) in PoisonLedger(tmp_path, "g"),
        ("t", 0, 8) in PoisonLedger(tmp_path, "g"),
    ) == (
        True,
        False,
    )


def test_a_batch_left_marked_makes_its_range_suspect(tmp_path: Path) -> None:
    """A process that died reading a batch leaves its range suspect, not poison."""
    PoisonLedger(tmp_path, "g").mark({("t", 1): (10, 20)})
    ledger = PoisonLedger(tmp_path, "g")
    assert (
        ledger.suspects,
        ledger.is_suspect("t", 1, 15),
        ledger.is_suspect("t", 1, 21),
        bool(ledger),
    ) == (
        {("t", 1): (10, 20)},
        True,
        False,
        False,
    )


def test_a_single_record_left_marked_is_poison(tmp_path: Path) -> None:
    """A process that died reading one record (a careful read) names it: it is poison."""
    PoisonLedger(tmp_path, "g").mark_one("t", 1, 12)
    assert ("t", 1, 12) in PoisonLedger(tmp_path, "g")


def test_a_batch_of_one_left_marked_is_only_suspect(tmp_path: Path) -> None:
    """A batch that happened to hold one record is a suspect range, not known poison."""
    PoisonLedger(tmp_path, "g").mark({("t", 1): (12, 12)})
    ledger = PoisonLedger(tmp_path, "g")
    assert (("t", 1, 12) in ledger, ledger.is_suspect("t", 1, 12)) == (False, True)


def test_a_clean_close_leaves_nothing(tmp_path: Path) -> None:
    """mark() then close(): the next process finds neither suspects nor poison."""
    ledger = PoisonLedger(tmp_path, "g")
    ledger.mark({("t", 0): (0, 499)})
    ledger.close()
    after = PoisonLedger(tmp_path, "g")
    assert (after.suspects, bool(after)) == ({}, False)


def test_groups_have_their_own_files(tmp_path: Path) -> None:
    """A group's poison is not another group's; odd characters are safe in file names."""
    PoisonLedger(tmp_path, "a/b c").add("t", 0, 1)
    assert (
        ("t", 0, 1) in PoisonLedger(tmp_path, "other"),
        sorted(p.name for p in tmp_path.iterdir()),
    ) == (
        False,
        ["a_b_c.poison"],
    )


def test_the_state_directory_comes_from_the_environment(tmp_path: Path) -> None:
    """FLOWINTEGRATIONS_STATE_DIR wins; else XDG_STATE_HOME/flowintegrations."""
    assert (
        state_directory({"FLOWINTEGRATIONS_STATE_DIR": str(tmp_path)}),
        state_directory({"XDG_STATE_HOME": "/var/state"}),
    ) == (tmp_path, Path("/var/state/flowintegrations"))


def test_an_unwritable_state_directory_is_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A directory that cannot be written logs one warning, not one a batch."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    ledger = PoisonLedger(blocker / "state", "g")
    with caplog.at_level(logging.WARNING, logger="flowintegrations.transport.kafka"):
        for first in range(3):
            ledger.mark({("t", 0): (first, first + 9)})
    assert [r.levelname for r in caplog.records if "cannot write" in r.getMessage()] == ["WARNING"]
