"""Lifecycle: the one running-check every transport uses."""

from __future__ import annotations

import asyncio

import pytest

from flowintegrations.errors import TransportClosedError, TransportError
from flowintegrations.transport import InMemoryTransport, Lifecycle


def test_only_running_passes_the_check() -> None:
    """check_running() returns for RUNNING and raises for every other state."""
    Lifecycle.RUNNING.check_running()
    with pytest.raises(TransportError, match=r"^the transport is not started: await "):
        Lifecycle.NEW.check_running()
    for state in (Lifecycle.STOPPING, Lifecycle.STOPPED):
        with pytest.raises(TransportClosedError, match=r"^the transport was stopped$"):
            state.check_running()


def test_a_new_transport_is_not_started_and_a_stopped_one_is_closed() -> None:
    """The in-memory transport raises what Lifecycle says, before start and after stop."""
    transport = InMemoryTransport()

    async def main() -> list[str]:
        seen = []
        for step in ("new", "started", "stopped"):
            if step == "started":
                await transport.start()
            if step == "stopped":
                await transport.stop()
            try:
                await transport.ensure_topics(["t"])
                seen.append(f"{step}: ok")
            except TransportError as exc:
                seen.append(f"{step}: {type(exc).__name__}")
        return seen

    assert asyncio.run(main()) == [
        "new: TransportError",
        "started: ok",
        "stopped: TransportClosedError",
    ]
