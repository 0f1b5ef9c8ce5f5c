"""Where a topic's partitions, a group's consumers and a group's leases live on JetStream.

Every name the NATS transport gives the server is made here, from the topic or group name
and the transport's ``prefix``:

* partition ``p`` of topic ``t`` is the stream ``<PREFIX>_<t, made safe>_<hash>_<p>``
  holding the one subject ``<prefix>.<t>.<p>`` (a topic's dots become subject tokens);
* group ``g`` reads a partition through the durable pull consumer
  ``<g, made safe>_<hash>`` of that partition's stream;
* the group's members and partition leases are keys of one key-value bucket, under a hash
  of the group (``m.<group hash>.<member>``, ``o.<group hash>.<topic hash>.<p>``).

The hash (of the whole name) keeps two names apart that differ only in characters a stream
name cannot hold (``a.b`` and ``a_b``). A record with a key goes to the partition Kafka's
default partitioner picks (murmur2 of the key), so a key lands on the same partition
number on both brokers.
"""

from __future__ import annotations

import hashlib
import re

__all__ = [
    "consumer_name",
    "group_hash",
    "kafka_partition",
    "lease_key",
    "member_key",
    "murmur2",
    "stream_name",
    "subject",
    "topic_hash",
]

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_TOKEN = re.compile(r"[^\s*>.]+")


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]


def _safe(name: str, limit: int = 48) -> str:
    return _UNSAFE.sub("_", name)[:limit]


def subject(prefix: str, topic: str, partition: int) -> str:
    """The subject of partition ``partition`` of ``topic``.

    Raises ``ValueError`` when ``topic`` cannot be part of a subject (empty, a space, a
    wildcard, an empty token such as ``a..b``).
    """
    tokens = topic.split(".")
    if not topic or not all(_TOKEN.fullmatch(token) for token in tokens):
        msg = (
            f"topic {topic!r} cannot be a NATS subject: use dot-separated tokens without "
            "spaces, '*' or '>'"
        )
        raise ValueError(msg)
    return f"{prefix}.{topic}.{partition}"


def stream_name(prefix: str, topic: str, partition: int) -> str:
    """The name of the stream that holds partition ``partition`` of ``topic``."""
    return f"{prefix}_{_safe(topic)}_{_digest(topic)}_{partition}"


def consumer_name(group_id: str) -> str:
    """The durable consumer name of group ``group_id`` (the same on every partition)."""
    return f"{_safe(group_id)}_{_digest(group_id)}"


def group_hash(group_id: str) -> str:
    """The key-value token that stands for ``group_id``."""
    return _digest(group_id)


def topic_hash(topic: str) -> str:
    """The key-value token that stands for ``topic``."""
    return _digest(topic)


def member_key(group_id: str, member_id: str) -> str:
    """The key a member of ``group_id`` keeps alive while it is in the group."""
    return f"m.{group_hash(group_id)}.{member_id}"


def lease_key(group_id: str, topic: str, partition: int) -> str:
    """The key whose value names the member of ``group_id`` that reads the partition."""
    return f"o.{group_hash(group_id)}.{topic_hash(topic)}.{partition}"


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 hash of ``data`` (as an unsigned 32-bit number)."""
    m = 0x5BD1E995
    length = len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    rest = length % 4
    if rest == 3:
        h ^= data[whole + 2] << 16
    if rest >= 2:
        h ^= data[whole + 1] << 8
    if rest >= 1:
        h ^= data[whole]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def kafka_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` among ``partitions``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
