"""Shared fixtures: the plugin's broker under the name the Kafka tests of this repo use."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def kafka_bootstrap(fi_kafka_bootstrap: str) -> str:
    """The address of the session's broker: Tansu, or $FLOWINTEGRATIONS_KAFKA_BOOTSTRAP.

    It is the plugin's ``fi_kafka_bootstrap``: a broker that cannot be started is an error
    of the tests that need it, never a skip.
    """
    return fi_kafka_bootstrap


@pytest.fixture(scope="session")
def nats_servers() -> str:
    """The NATS JetStream server of the tests; the test fails when it does not answer."""
    from support.jetstream import require_nats  # noqa: PLC0415 (only the NATS tests need it)

    return require_nats()
