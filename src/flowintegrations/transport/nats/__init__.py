"""The NATS JetStream transport: :class:`JetStreamTransport` (extra ``nats``).

How the Kafka-shaped :class:`~flowintegrations.transport.Transport` contract maps onto
JetStream:

* **Topic → streams.** Partition ``p`` of topic ``t`` is a stream of its own
  (``<PREFIX>_<t>_<hash>_<p>``) holding the one subject ``<prefix>.<t>.<p>``, made by
  ``create_topics``/``ensure_topics``. Its limits: records kept ``max_age`` (7 days,
  Kafka's default retention), oldest discarded first, each at most ``max_message_bytes``
  (1 MiB), file storage, one replica; nothing else limits it.
* **Partitions → N subjects, one stream each**, with a record's key hashed as Kafka's
  default partitioner does (murmur2), so per-key order holds and a key has the same
  partition number on both brokers. NATS subject-mapping partitions were not chosen:
  they hash a *subject token*, so the key would have to be written into the subject (keys
  are bytes, subjects are not), and the publisher would not know the partition a record
  went to.
* **Offsets → stream sequences** (offset = sequence - 1): a stream per partition gives each
  partition its own gap-free sequence from 0, as Kafka's offsets are.
* **Consumer group → durable pull consumers**, one a group and partition, and a lease per
  partition in a key-value bucket so that exactly one member reads it
  (:mod:`.groups`); members join and leave, and partitions move, revoked from the old
  owner (the listener told first) before the new one is assigned them. What differs from
  Kafka: there is no coordinator, so a rebalance is seen at the next ``heartbeat`` of each
  member rather than at once; a partition whose owner stays connected but stops calling
  ``getmany`` keeps its lease (the heartbeat runs on its own), where Kafka would take it
  away after ``max.poll.interval.ms``.
* **commit(offsets) → acks.** The consumers acknowledge all up to a sequence; committing
  offset ``n`` acknowledges the record at ``n - 1`` and waits for the server's
  confirmation. The App commits only what it replied to (publish acknowledged) or
  dead-lettered. A new owner starts right after the acknowledgement floor (the consumer is
  made again there when more was delivered than acknowledged), so after a crash the
  records nobody committed come back first and in order, once the dead member's lease has
  expired (``session_timeout``), without waiting for ``ack_wait``.
* **Headers → NATS headers** (:mod:`.wire`): plain where NATS can carry them as they are,
  and byte for byte, in order, with duplicates, in ``Fi-Headers`` when it cannot; the key
  in ``Fi-Key``. A message whose headers cannot be read back is handed on marked
  unreadable and dead-lettered; a header whose *name* is not ASCII, sent by another NATS
  client, is dropped by nats-py before the transport sees it.
* **produce/produce_batch → JetStream publish with acknowledgement**, all in flight at
  once, acknowledgements on one reply subscription; one future per batch.
* **No transactions**: it does not implement
  :class:`~flowintegrations.transport.SupportsTransactions`, and
  :meth:`JetStreamTransport.limitations` says so, so that ``check_transport`` reports
  those checks as not run.

Importing this module without nats-py raises an ``ImportError`` that names the extra.
"""

from __future__ import annotations

try:
    import nats  # noqa: F401 (only to find out whether the extra is installed)
except ImportError as exc:  # pragma: no cover (the test environment has the extra)
    msg = "flowintegrations.transport.nats needs nats-py: pip install 'flowintegrations[nats]'"
    raise ImportError(msg, name=exc.name) from exc

from flowintegrations.transport.nats.subscription import JetStreamSubscription
from flowintegrations.transport.nats.transport import JetStreamTransport

__all__ = ["JetStreamSubscription", "JetStreamTransport"]
