"""KafkaTransport specifics: secrets, topics, error translation, rebalances on a real broker."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
from confluent_kafka import KafkaError, KafkaException

from flowintegrations.errors import (
    DeliveryError,
    TopicNotFoundError,
    TransportBrokenError,
    TransportClosedError,
    TransportError,
)
from flowintegrations.testing.broker import TANSU_TEST_CONFIG
from flowintegrations.transport import KafkaTransport, Record, TopicPartition
from flowintegrations.transport.kafka import translate_error, translating
from flowintegrations.transport.kafka.config import Redactor

SECRET = "pa55-Wörd-do-not-leak"


def fresh(name: str) -> str:
    """A topic or group name no other test uses."""
    return f"test.{name}.{uuid.uuid4().hex[:10]}"


# Secrets ---------------------------------------------------------------------------------


def test_repr_names_the_user_but_never_the_password() -> None:
    """The repr shows the security protocol, mechanism and user, never the password."""
    transport = KafkaTransport(
        "broker:9092",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="adapter",
        sasl_password=SECRET,
        environ={},
    )
    assert repr(transport) == (
        "KafkaTransport(bootstrap_servers='broker:9092', state=new, "
        "security_protocol='SASL_SSL', sasl_mechanism='SCRAM-SHA-512', sasl_username='adapter')"
    )


def test_settings_redact_every_secret() -> None:
    """settings() shows every librdkafka setting, with secret values redacted."""
    transport = KafkaTransport(
        "broker:9092",
        config={"ssl.key.password": SECRET, "linger.ms": 5},
        sasl_password=SECRET,
        environ={},
    )
    settings = transport.settings()
    assert settings["sasl.password"] == "<redacted>"
    assert settings["ssl.key.password"] == "<redacted>"
    assert settings["linger.ms"] == 5
    assert SECRET not in repr(settings)


def test_security_settings_come_from_the_environment() -> None:
    """FLOWINTEGRATIONS_KAFKA_* variables set security settings; arguments override them."""
    transport = KafkaTransport(
        "broker:9092",
        sasl_username="from-argument",
        environ={
            "FLOWINTEGRATIONS_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "FLOWINTEGRATIONS_KAFKA_SASL_MECHANISM": "PLAIN",
            "FLOWINTEGRATIONS_KAFKA_SASL_USERNAME": "from-environment",
            "FLOWINTEGRATIONS_KAFKA_SASL_PASSWORD": SECRET,
            "FLOWINTEGRATIONS_KAFKA_SSL_CA_LOCATION": "/etc/ca.pem",
        },
    )
    settings = transport.settings()
    assert {
        key: settings[key] for key in settings if key.startswith(("sasl", "security", "ssl"))
    } == {
        "sasl.mechanism": "PLAIN",
        "sasl.password": "<redacted>",
        "sasl.username": "from-argument",
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": "/etc/ca.pem",
    }


def test_a_config_error_never_shows_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    """Librdkafka rejecting a setting whose value is the secret: neither error nor log shows it."""
    caplog.set_level(logging.DEBUG)
    transport = KafkaTransport(
        "127.0.0.1:1", config={"security.protocol": SECRET}, sasl_password=SECRET, environ={}
    )
    with pytest.raises(TransportError) as caught:
        asyncio.run(transport.start())
    assert SECRET not in str(caught.value)
    assert "<redacted>" in str(caught.value)
    assert isinstance(caught.value.__cause__, KafkaException)
    assert SECRET not in caplog.text


def test_an_unreachable_cluster_is_a_broken_error() -> None:
    """start() fails with TransportBrokenError, not a hang, when nothing answers."""
    transport = KafkaTransport("127.0.0.1:1", timeout=1.0, environ={})
    with pytest.raises(TransportBrokenError, match=r"^reading metadata from 127\.0\.0\.1:1: "):
        asyncio.run(transport.start())


# The error boundary ----------------------------------------------------------------------


def every_error_code() -> list[int]:
    """Every code confluent-kafka's KafkaError knows."""
    names = [name for name in dir(KafkaError) if not name.startswith("__")]
    return sorted(
        {getattr(KafkaError, n) for n in names if isinstance(getattr(KafkaError, n), int)}
    )


@pytest.mark.parametrize("code", every_error_code())
def test_every_kafka_error_becomes_a_transport_error(code: int) -> None:
    """Whatever the code, a KafkaException translates into one of our TransportErrors."""
    translated = translate_error(KafkaException(KafkaError(code)), action="testing")
    assert isinstance(translated, TransportError)
    assert str(translated).startswith("testing: ")


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        (KafkaException(KafkaError(KafkaError._ALL_BROKERS_DOWN)), TransportBrokenError),
        (KafkaException(KafkaError(KafkaError._TRANSPORT)), TransportBrokenError),
        (KafkaException(KafkaError(KafkaError.SASL_AUTHENTICATION_FAILED)), TransportBrokenError),
        (KafkaException(KafkaError(KafkaError._FATAL, "x", fatal=True)), TransportBrokenError),
        (
            KafkaException(KafkaError(KafkaError.INVALID_CONFIG, "x", fatal=True)),
            TransportBrokenError,
        ),
        (KafkaException(KafkaError(KafkaError._DESTROY)), TransportClosedError),
        (KafkaException(KafkaError(KafkaError._MSG_TIMED_OUT)), DeliveryError),
        (KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)), DeliveryError),
        (KafkaException(KafkaError(KafkaError._INVALID_ARG)), TransportError),
        (KafkaException(KafkaError(KafkaError.REBALANCE_IN_PROGRESS)), TransportError),
        (BufferError("Local: Queue full"), DeliveryError),
        (RuntimeError("Consumer closed"), TransportClosedError),
    ],
)
def test_kafka_errors_map_to_our_hierarchy(exception: Exception, expected: type) -> None:
    """Each kind of backend failure maps to the error a caller would handle."""
    assert type(translate_error(exception, action="testing")) is expected


def test_an_unknown_topic_names_the_topics() -> None:
    """UNKNOWN_TOPIC_OR_PART with topics known becomes TopicNotFoundError naming them."""
    exception = KafkaException(KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART))
    translated = translate_error(exception, action="testing", topics=["b", "a"])
    assert isinstance(translated, TopicNotFoundError)
    assert translated.topics == ("a", "b")


def test_translation_redacts_secrets() -> None:
    """The redact function is applied to librdkafka's text."""
    exception = KafkaException(KafkaError(KafkaError._INVALID_ARG, f"bad value {SECRET}"))
    translated = translate_error(
        exception, action="testing", redact=lambda text: text.replace(SECRET, "***")
    )
    assert str(translated) == "testing: bad value *** (_INVALID_ARG)"


def test_translating_raises_ours_from_the_original() -> None:
    """What escapes translating() is raised as our error, the original kept as __cause__."""
    original = KafkaException(KafkaError(KafkaError._MSG_TIMED_OUT, "timed out"))
    expected = r"^producing: timed out \(_MSG_TIMED_OUT\)$"
    with pytest.raises(DeliveryError, match=expected) as caught, translating("producing"):
        raise original
    assert caught.value.__cause__ is original


def test_translating_passes_what_only_refuses() -> None:
    """An exception the ``only`` predicate refuses (a listener's own) passes unchanged."""
    only = lambda exc: isinstance(exc, KafkaException)  # noqa: E731
    with pytest.raises(LookupError, match=r"^the listener's own$"), translating("x", only=only):
        raise LookupError("the listener's own")


def test_translating_makes_unrecognised_errors_the_given_class() -> None:
    """An unrecognised failure becomes the ``unrecognised`` class, here TransportBrokenError."""
    broken = translating("reading metadata", unrecognised=TransportBrokenError)
    with pytest.raises(TransportBrokenError, match=r"^reading metadata: no answer$"), broken:
        raise OSError("no answer")


def test_translating_redacts_with_the_shared_marker() -> None:
    """A Redactor built from the settings replaces a secret setting's value with <redacted>."""
    redactor = Redactor({"sasl.password": SECRET, "linger.ms": 5})
    exception = KafkaException(KafkaError(KafkaError._INVALID_ARG, f"bad value {SECRET}"))
    with pytest.raises(TransportError) as caught, translating("testing", redact=redactor):
        raise exception
    assert str(caught.value) == "testing: bad value <redacted> (_INVALID_ARG)"


# On the broker ---------------------------------------------------------------------------


def transport_for(bootstrap: str, **options: object) -> KafkaTransport:
    """A KafkaTransport with the test broker settings."""
    return KafkaTransport(bootstrap, config=TANSU_TEST_CONFIG, environ={}, **options)  # type: ignore[arg-type]


@pytest.mark.kafka
def test_missing_topics_are_named(kafka_bootstrap: str) -> None:
    """ensure_topics raises TopicNotFoundError naming exactly the topics that are missing."""
    missing = sorted([fresh("missing-a"), fresh("missing-b")])

    async def main() -> None:
        transport = transport_for(kafka_bootstrap)
        await transport.start()
        try:
            present = fresh("present")
            await transport.create_topics([present])
            await transport.ensure_topics([present, *missing])
        finally:
            await transport.stop()

    with pytest.raises(TopicNotFoundError) as caught:
        asyncio.run(main())
    assert caught.value.topics == tuple(missing)


@pytest.mark.kafka
def test_create_topics_option_creates_missing_topics(kafka_bootstrap: str) -> None:
    """With create_topics=True, ensure_topics creates missing topics with num_partitions."""
    topic = fresh("created")

    async def main() -> Record:
        creator = transport_for(kafka_bootstrap, create_topics=True, num_partitions=3)
        checker = transport_for(kafka_bootstrap)
        await creator.start()
        await checker.start()
        try:
            await creator.ensure_topics([topic])
            await checker.ensure_topics([topic])
            return await checker.send(Record(topic, value=b"to the last", partition=2))
        finally:
            await creator.stop()
            await checker.stop()

    assert asyncio.run(main()).partition == 2


@pytest.mark.kafka
def test_a_stopped_member_hands_its_partitions_over_promptly(kafka_bootstrap: str) -> None:
    """After one member closes, the other member gets every partition."""
    topic = fresh("leave")
    group = fresh("group")
    # Tansu reassigns about half a session timeout after a LeaveGroup (measured), so this
    # cannot tell a prompt leave from a session expiry on Tansu; on Kafka it is immediate.
    config = TANSU_TEST_CONFIG

    async def main() -> frozenset[TopicPartition]:
        transport = KafkaTransport(kafka_bootstrap, config=config, environ={})
        await transport.start()
        try:
            await transport.create_topics([topic], partitions=2)
            first = await transport.subscribe([topic], group_id=group)
            second = await transport.subscribe([topic], group_id=group)
            for _ in range(300):
                await asyncio.gather(first.getmany(timeout=0.1), second.getmany(timeout=0.1))
                if first.assignment() and second.assignment():
                    break
            assert first.assignment()
            assert second.assignment()
            await first.close()
            for _ in range(300):
                await second.getmany(timeout=0.1)
                if len(second.assignment()) == 2:
                    break
            return second.assignment()
        finally:
            await transport.stop()

    assert asyncio.run(main()) == {TopicPartition(topic, 0), TopicPartition(topic, 1)}


class CommitOnRevoke:
    """A listener that commits what its member read when partitions are revoked."""

    def __init__(self) -> None:
        self.subscription: object = None
        self.read: dict[TopicPartition, int] = {}
        self.revoked: list[frozenset[TopicPartition]] = []

    async def on_partitions_revoked(self, partitions: frozenset[TopicPartition]) -> None:
        """Commit the offsets read of the revoked partitions."""
        self.revoked.append(partitions)
        offsets = {tp: offset for tp, offset in self.read.items() if tp in partitions}
        if offsets:
            await self.subscription.commit(offsets)  # type: ignore[attr-defined]

    async def on_partitions_assigned(self, partitions: frozenset[TopicPartition]) -> None:
        """Nothing to do."""


@pytest.mark.kafka
def test_a_listener_can_commit_revoked_partitions(kafka_bootstrap: str) -> None:
    """Committing inside on_partitions_revoked works (no deadlock); reading resumes there."""
    topic = fresh("revoke")
    group = fresh("group")

    async def main() -> tuple[list[frozenset[TopicPartition]], list[bytes]]:
        transport = transport_for(kafka_bootstrap)
        await transport.start()
        try:
            await transport.create_topics([topic], partitions=1)
            for i in range(6):
                await transport.send(Record(topic, value=b"%d" % i))
            listener = CommitOnRevoke()
            first = await transport.subscribe([topic], group_id=group, listener=listener)
            listener.subscription = first
            got: list[Record] = []
            for _ in range(300):
                got += await first.getmany(max_records=4 - len(got), timeout=0.1)
                if len(got) >= 4:
                    break
            listener.read = {TopicPartition(topic, 0): 4}
            second = await transport.subscribe([topic], group_id=group)
            after: list[Record] = []
            for _ in range(300):
                batches = await asyncio.gather(
                    first.getmany(timeout=0.1), second.getmany(timeout=0.1)
                )
                if listener.revoked:
                    after += batches[0] + batches[1]
                if len(after) >= 2:
                    break
            return listener.revoked, [r.value for r in after]
        finally:
            await transport.stop()

    revoked, after = asyncio.run(main())
    assert revoked[0] == {TopicPartition(topic, 0)}
    assert after == [b"4", b"5"]
