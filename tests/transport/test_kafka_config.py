"""The Kafka clients' defaults that other parts of the SDK rely on."""

from __future__ import annotations

from typing import Any

from flowintegrations.codec import DEFAULT_MAX_BYTES
from flowintegrations.transport.kafka.config import client_config
from flowintegrations.transport.memory import DEFAULT_MAX_MESSAGE_BYTES


def producer_config(settings: dict[str, Any]) -> dict[str, Any]:
    """The producer's configuration for ``settings``."""
    return client_config(settings, "producer", redactor=str, error_cb=lambda error: None)


def test_the_producer_takes_what_the_codec_decodes() -> None:
    """By default message.max.bytes is the codec's limit (and the in-memory transport's)."""
    assert (
        producer_config({"bootstrap.servers": "x"})["message.max.bytes"],
        DEFAULT_MAX_BYTES,
        DEFAULT_MAX_MESSAGE_BYTES,
    ) == (1024 * 1024, 1024 * 1024, 1024 * 1024)


def test_a_configured_message_size_wins() -> None:
    """message.max.bytes given in config is kept as it is."""
    settings = {"bootstrap.servers": "x", "message.max.bytes": 20_000}
    assert producer_config(settings)["message.max.bytes"] == 20_000
