"""Realistic code of an adapter that answers later, which must type-check under ``mypy --strict``.

It is never run by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

from typing import Any

from flowintegrations import (
    App,
    Context,
    DataModel,
    DeferredReply,
    Integration,
    Property,
    Scenario,
    TopicBinding,
)
from flowintegrations.deferred import ReplyLedger
from flowintegrations.errors import DeferredReplyUsedError, InvalidDeferredReplyError
from flowintegrations.transport import Record

APPROVE = Scenario(
    "Approve a loan",
    "approve",
    topics=[TopicBinding("ai.flowx.dev.plugin.loans.v1", "ai.flowx.dev.engine.receive.loans.v1")],
    output_model=DataModel([Property.string("loanId", mandatory=True)]),
    input_model=DataModel([Property.boolean("approved"), Property.string("error")]),
)
APPROVED = Scenario(
    "Loan approved",
    "approved",
    topics=[TopicBinding(in_topic="ai.flowx.dev.engine.receive.loans.approved.v1")],
    input_model=DataModel([Property.string("loanId", mandatory=True)]),
)


class Ledger:
    """A ReplyLedger of the author's own."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    async def claim(self, reply_id: str) -> bool:
        """Mark it answered; False when it was."""
        fresh = reply_id not in self.seen
        self.seen.add(reply_id)
        return fresh

    async def release(self, reply_id: str) -> None:
        """Forget it."""
        self.seen.discard(reply_id)


ledger: ReplyLedger = Ledger()
app = App(
    Integration("Loans", "loans", scenarios=[APPROVE, APPROVED]),
    defer_secret=("new-secret-0123456789", b"old-secret-0123456789"),
    reply_ledger=ledger,
)
store: dict[str, str] = {}


@app.handler(APPROVE)
async def approve(payload: dict[str, Any], ctx: Context) -> None:
    """Start the approval; answer when the committee decides."""
    deferred: DeferredReply = ctx.defer()
    store[payload["loanId"]] = deferred.dumps()


async def on_decision(loan_id: str, approved: bool) -> Record | None:
    """The committee's webhook."""
    try:
        deferred = DeferredReply.loads(store[loan_id])
        if approved:
            return await app.reply_later(deferred, {"approved": True})
        return await app.reply_later(deferred, None, error="refused by the credit committee")
    except (InvalidDeferredReplyError, DeferredReplyUsedError):
        return None


def on_decision_sync(loan_id: str) -> Record:
    """The same from synchronous code."""
    deferred = DeferredReply.loads(store[loan_id])
    pid: str | None = deferred.process_instance_id
    assert pid is not None
    return app.reply_later_sync(deferred, {"approved": False}, timeout=5.0)


async def announce(loan_id: str, process_instance_id: int) -> Record:
    """Feed a process waiting in a receive task."""
    return await app.send(
        APPROVED,
        {"loanId": loan_id},
        process_instance_id=process_instance_id,
        headers={"fxContext": "main"},
    )
