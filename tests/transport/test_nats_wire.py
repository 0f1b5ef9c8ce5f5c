"""How the NATS transport names things, picks partitions and carries keys and headers."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kafka.partitioner.default import murmur2 as kafka_murmur2

from flowintegrations.transport.nats import JetStreamTransport
from flowintegrations.transport.nats.naming import (
    kafka_partition,
    murmur2,
    stream_name,
    subject,
)
from flowintegrations.transport.nats.producer import read_ack
from flowintegrations.transport.nats.wire import (
    HEADERS,
    KEY,
    UnreadableHeadersError,
    from_nats,
    to_nats,
)

header_names = st.text(min_size=1, max_size=12)
header_lists = st.lists(st.tuples(header_names, st.binary(max_size=20)), max_size=6)


@given(st.binary(max_size=64))
def test_murmur2_is_kafkas(data: bytes) -> None:
    """The partitioner's hash equals Kafka's (kafka-python's murmur2) for any key."""
    assert murmur2(data) & 0x7FFFFFFF == kafka_murmur2(data) & 0x7FFFFFFF


def test_a_key_lands_on_the_partition_kafka_gives_it() -> None:
    """Known keys map to the partitions Kafka's default partitioner picks among 1000."""
    expected = {b"": 681, b"a": 524, b"ab": 434, b"abc": 107, b"123456789": 566}
    assert {key: kafka_partition(key, 1000) for key in expected} == expected


def test_names_of_two_topics_differing_in_unsafe_characters_differ() -> None:
    """`a.b` and `a_b` get different streams, each a name JetStream accepts."""
    assert stream_name("FI", "a.b", 0) != stream_name("FI", "a_b", 0)
    assert "." not in stream_name("FI", "a.b", 3)
    assert stream_name("FI", "a.b", 3).endswith("_3")


@pytest.mark.parametrize("topic", ["", "a..b", "a b", "a.*", "a.>", ".a"])
def test_a_topic_that_cannot_be_a_subject_is_refused_by_name(topic: str) -> None:
    """A topic with an empty token, a space or a wildcard raises ValueError naming it."""
    with pytest.raises(ValueError, match=f"topic {topic!r} cannot be a NATS subject"):
        subject("fi", topic, 0)


def test_plain_headers_travel_as_plain_nats_headers() -> None:
    """UTF-8 headers seen once travel as they are, readable by any NATS client."""
    headers = (("processInstanceId", b"1001"), ("Fx-AppId", b"app \xc3\xa9"), ("empty", b""))
    assert to_nats(None, headers) == {
        "processInstanceId": "1001",
        "Fx-AppId": "app \u00e9",
        "empty": "",
    }


def test_odd_headers_also_travel_whole_in_one_header() -> None:
    """Duplicates and binary values go, in order, in Fi-Headers; plain ones stay readable."""
    headers = (("dup", b"1"), ("bin", b"\xff"), ("dup", b"2"))
    sent = to_nats(b"k", headers)
    assert sent is not None
    assert sorted(sent) == sorted(["dup", HEADERS, KEY])
    assert sent["dup"] == "1"
    assert from_nats(sent) == (b"k", headers)


@given(st.one_of(st.none(), st.binary(max_size=16)), header_lists)
def test_any_key_and_headers_come_back_as_they_were(
    key: bytes | None, headers: list[tuple[str, bytes]]
) -> None:
    """Whatever the key and headers (order, duplicates, bytes, odd names), they round-trip."""
    sent = to_nats(key, tuple(headers))
    assert from_nats(sent) == (key, tuple(headers))


@pytest.mark.parametrize(
    ("nats_headers", "why"),
    [
        ({HEADERS: "not base64!"}, "Fi-Headers is not base64"),
        ({HEADERS: "AAEAAAAB"}, "Fi-Headers ends inside a header"),
        ({KEY: "%%%"}, "Fi-Key is not base64"),
        ({"name": "bad \ufffd"}, "the value of header 'name' is not UTF-8"),
    ],
)
def test_headers_that_cannot_be_read_back_are_refused(
    nats_headers: dict[str, str], why: str
) -> None:
    """A mangled envelope, key or value raises UnreadableHeadersError saying which."""
    with pytest.raises(UnreadableHeadersError, match=f"^{why}"):
        from_nats(nats_headers)


def test_settings_given_as_text_become_options() -> None:
    """from_settings reads each --config value as its option's type."""
    transport = JetStreamTransport.from_settings(
        "nats://127.0.0.1:4222", {"heartbeat": "0.2", "num_partitions": "4"}, create_topics=True
    )
    assert (transport.heartbeat, transport.num_partitions) == (0.2, 4)
    assert transport.create_missing_topics is True


@pytest.mark.parametrize(
    ("settings", "why"),
    [
        ({"acks": "all"}, "unknown NATS setting 'acks' \\(known: ack_wait, "),
        ({"heartbeat": "soon"}, "NATS setting 'heartbeat' must be float, got 'soon'"),
    ],
)
def test_a_wrong_setting_is_named(settings: dict[str, str], why: str) -> None:
    """An unknown key or a value of the wrong type raises ValueError naming it."""
    with pytest.raises(ValueError, match=why):
        JetStreamTransport.from_settings("nats://127.0.0.1:4222", settings)


def test_credentials_in_the_url_never_show() -> None:
    """A password in the servers URL is redacted in the repr."""
    transport = JetStreamTransport("nats://user:s3cret-pass@127.0.0.1:4222")
    assert repr(transport) == (
        "JetStreamTransport(servers='nats://<redacted>@127.0.0.1:4222', state=new)"
    )


def test_importing_without_nats_py_names_the_extra() -> None:
    """Without nats-py, importing the module raises ImportError naming the extra."""
    code = (
        "import sys; sys.modules['nats'] = None\n"
        "try:\n"
        "    import flowintegrations.transport.nats\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout == (
        "flowintegrations.transport.nats needs nats-py: pip install 'flowintegrations[nats]'\n"
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"stream": "FI_t_0", "seq": 7}', (7, None)),
        (
            b'{"error": {"code": 400, "description": "message size exceeds maximum allowed"}}',
            (
                0,
                "message size exceeds maximum allowed",
            ),
        ),
        (b"not json", (0, "unreadable acknowledgement b'not json'")),
        (
            b'{"stream": "FI_t_0"}',
            (0, 'acknowledgement without a sequence: b\'{"stream": "FI_t_0"}\''),
        ),
    ],
)
def test_a_publish_acknowledgement_gives_its_sequence_or_its_error(
    data: bytes, expected: tuple[int, str | None]
) -> None:
    """An acknowledgement is read as a sequence, or as the error it reports, never raised."""
    assert read_ack(data) == expected
