"""Shared fixtures: a real Kafka-protocol broker for the tests marked ``kafka``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flowintegrations.testing.broker import BrokerStartError, local_broker


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """The address of the session's broker: Tansu, or $FLOWINTEGRATIONS_KAFKA_BOOTSTRAP.

    A broker that cannot be started is an error of the tests that need it, never a skip.
    """
    try:
        context = local_broker()
        bootstrap = context.__enter__()
    except BrokerStartError as exc:
        pytest.fail(f"the Kafka test broker is not available: {exc}", pytrace=False)
    try:
        yield bootstrap
    finally:
        context.__exit__(None, None, None)
