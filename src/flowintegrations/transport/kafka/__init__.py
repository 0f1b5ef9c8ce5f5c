"""The Kafka transport, on confluent-kafka (librdkafka). Kafka specifics live here alone.

:class:`KafkaTransport` (in :mod:`.transport`) is the
:class:`~flowintegrations.transport.Transport`; its parts are :mod:`.config` (settings,
security settings from the environment, which client gets which setting, secrets),
:mod:`.errors` (the one boundary where confluent-kafka's exceptions become ours),
:mod:`.producer` (producing and delivery reports) and :mod:`.subscription`
(:class:`KafkaSubscription`, one consumer-group member).
"""

from flowintegrations.transport.kafka.config import ENV_PREFIX, ENV_SETTINGS, is_secret_setting
from flowintegrations.transport.kafka.errors import translate_error, translating
from flowintegrations.transport.kafka.subscription import KafkaSubscription
from flowintegrations.transport.kafka.transport import KafkaTransport

__all__ = [
    "ENV_PREFIX",
    "ENV_SETTINGS",
    "KafkaSubscription",
    "KafkaTransport",
    "is_secret_setting",
    "translate_error",
    "translating",
]
