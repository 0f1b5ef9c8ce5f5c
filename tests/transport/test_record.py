"""Record: an immutable value with seven fields, whatever its representation underneath."""

from __future__ import annotations

import copy
import pickle

import attrs
import pytest

from flowintegrations.transport import Record, TopicPartition

WRITTEN = Record("t", b"k", b"v", (("h", b"secret"), ("h", b"last")), 2, 7, 1700000000000)


def test_positional_and_keyword_construction_agree() -> None:
    """Record(...) takes its fields by position or by name, in the documented order."""
    by_name = Record(
        topic="t",
        key=b"k",
        value=b"v",
        headers=(("h", b"secret"), ("h", b"last")),
        partition=2,
        offset=7,
        timestamp=1700000000000,
    )
    assert by_name == WRITTEN


def test_defaults() -> None:
    """Only the topic is required; the other fields default to None, b"" or ()."""
    record = Record("t")
    assert (
        record.key,
        record.value,
        record.headers,
        record.partition,
        record.offset,
        record.timestamp,
    ) == (None, b"", (), None, None, None)


def test_assigning_a_field_raises_frozen_instance_error() -> None:
    """A record cannot be changed in place: assignment raises FrozenInstanceError."""
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        WRITTEN.topic = "other"  # type: ignore[misc]


def test_equal_records_hash_alike() -> None:
    """Records with equal fields are equal and have the same hash."""
    twin = Record("t", b"k", b"v", (("h", b"secret"), ("h", b"last")), 2, 7, 1700000000000)
    assert (True, hash(WRITTEN)) == (twin == WRITTEN, hash(twin))


def test_a_record_is_not_equal_to_a_tuple_of_its_fields() -> None:
    """A record only equals another record, not the plain tuple underneath."""
    assert WRITTEN != ("t", b"k", b"v", (("h", b"secret"), ("h", b"last")), 2, 7, 1700000000000)


def test_records_have_no_order() -> None:
    """Comparing records with < is a TypeError, as for any unordered value."""
    with pytest.raises(TypeError):
        _ = WRITTEN < WRITTEN


def test_replace_changes_only_the_fields_given() -> None:
    """replace() returns a copy with the named fields changed and the others kept."""
    moved = WRITTEN.replace(topic="t.private", partition=None)
    assert moved == Record("t.private", b"k", b"v", WRITTEN.headers, None, 7, 1700000000000)


def test_copy_and_pickle_keep_the_record() -> None:
    """copy, deepcopy and pickle give back an equal record."""
    assert [
        copy.copy(WRITTEN),
        copy.deepcopy(WRITTEN),
        pickle.loads(pickle.dumps(WRITTEN)),
    ] == [WRITTEN] * 3


def test_header_is_the_last_value_of_that_name() -> None:
    """header(name) returns the value of the last header with that name, or None."""
    assert (WRITTEN.header("h"), WRITTEN.header("missing")) == (b"last", None)


def test_topic_partition() -> None:
    """topic_partition names the record's topic and partition."""
    assert TopicPartition("t", 2) == WRITTEN.topic_partition


def test_topic_partition_of_an_unplaced_record_is_a_value_error() -> None:
    """A record without a partition has no topic_partition."""
    with pytest.raises(ValueError, match=r"^record on topic 't' has no partition yet$"):
        _ = Record("t").topic_partition


def test_repr_names_headers_but_never_their_values() -> None:
    """The repr shows where the record is and its header names, never header values."""
    assert repr(WRITTEN) == (
        "Record(topic='t', partition=2, offset=7, key=b'k', value=<1 bytes>, headers=['h', 'h'])"
    )
