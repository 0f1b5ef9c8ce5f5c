"""20,000 hostile records through an App: each replied or dead-lettered, every partition served.

The same harness as ``make fuzz`` (a million records): ``tests/support/fuzz.py``.
"""

from __future__ import annotations

import asyncio

import pytest

from support.fuzz import RSS_TOLERANCE, Report, run_fuzz

RECORDS = 20_000


@pytest.fixture(scope="module")
def report() -> Report:
    """One seeded fuzz run of 20,000 records, shared by the checks below."""
    return asyncio.run(
        run_fuzz(RECORDS, seed=20_000, chunk=5_000, huge_every=2_500, stall_timeout=10.0)
    )


def test_every_hostile_record_is_replied_or_dead_lettered(report: Report) -> None:
    """No record is left without an outcome, or given two; every canary is answered."""
    assert (report.records, report.problems) == (RECORDS, [])


def test_no_partition_stops_serving(report: Report) -> None:
    """Every partition makes progress to its end: none stalls on a hostile record."""
    assert report.stalled == []


def test_every_log_line_can_be_written_as_utf8(report: Report) -> None:
    """Log lines about hostile records are encodable (no lone surrogates reach a log file)."""
    assert report.unencodable_log_lines == 0


def test_rss_stays_flat(report: Report) -> None:
    """Memory after the run is within the tolerance of memory after the first chunk."""
    assert report.rss_end - report.rss_start <= RSS_TOLERANCE
