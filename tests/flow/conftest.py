"""Fixtures of the Flow service tests."""

from __future__ import annotations

from support import runtime_shim

runtime_shim.install()
