"""What a transport declares it cannot do faithfully: :class:`Capability`, :func:`limitations_of`.

The :class:`~flowintegrations.transport.Transport` contract is Kafka's. A transport on a
broker of another model may be unable to honour part of it; it says so by implementing
:class:`DeclaresLimitations`, naming each :class:`Capability` it lacks and why. The
conformance checker (:func:`flowintegrations.testing.check_transport`) then reports the
checks of that capability as *not run*, with the reason, instead of failing them or
passing them silently. A transport that does not implement
:class:`~flowintegrations.transport.SupportsTransactions` lacks
:attr:`Capability.TRANSACTIONS` whether it declares it or not.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from flowintegrations.transport.base import SupportsTransactions

__all__ = ["Capability", "DeclaresLimitations", "limitations_of"]


class Capability(enum.Enum):
    """A part of the transport contract that some brokers cannot give faithfully."""

    TRANSACTIONS = "transactions"
    """Consume and produce exactly once (``SupportsTransactions``)."""

    REBALANCE = "rebalance"
    """Partitions move between the members of a group as they join and leave, each member's
    :class:`~flowintegrations.transport.RebalanceListener` told of the revocation before
    another member is assigned the partition."""


@runtime_checkable
class DeclaresLimitations(Protocol):
    """A transport that names the capabilities it lacks."""

    def limitations(self) -> Mapping[Capability, str]:
        """Each capability this transport cannot give faithfully, with a sentence saying why.

        Empty when it honours the whole contract. Must not need the transport started.
        """


def limitations_of(transport: object) -> dict[Capability, str]:
    """What ``transport`` lacks: what it declares, and transactions unless it has them."""
    found: dict[Capability, str] = {}
    if isinstance(transport, DeclaresLimitations):
        found.update(transport.limitations())
    if not isinstance(transport, SupportsTransactions):
        found.setdefault(
            Capability.TRANSACTIONS,
            f"{type(transport).__name__} does not implement SupportsTransactions",
        )
    return found
