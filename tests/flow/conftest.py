"""Fixtures of the Flow service tests."""
