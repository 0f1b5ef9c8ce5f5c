"""The example notifications adapter: handlers for the notifications plugin of catalog.json.

Run it on Kafka with ``flowintegrations run examples/notifications_adapter.py:app
--bootstrap HOST:PORT``, or watch it answer an engine client with ``make demo``.
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs

from flowintegrations import App, Catalog, Context, Retry
from flowintegrations.transport import Transport

CATALOG = Catalog.load(Path(__file__).with_name("catalog.json"))
NOTIFICATIONS = CATALOG.integration("notifications")
GENERATE_OTP = NOTIFICATIONS.scenario("generate-otp")
SEND_EMAIL = NOTIFICATIONS.scenario("send-email")


@attrs.frozen
class OtpRequest:
    """The validated generate-OTP request, as a typed value (keys as the engine spells them)."""

    templateName: str  # noqa: N815 - the engine's field names
    recipient: str
    channel: str
    language: str = "en"
    length: int = 6


def create_app(transport: Transport | None = None) -> App:
    """The notifications adapter on ``transport`` (in memory when ``None``)."""
    app = App(NOTIFICATIONS, transport=transport, retry=Retry(attempts=3, backoff=0.05))

    @app.handler(GENERATE_OTP)
    def generate_otp(request: OtpRequest, ctx: Context) -> dict[str, Any]:
        # A sync handler: it runs on a worker thread, never on the event loop.
        code = "".join(secrets.choice(string.digits) for _ in range(request.length))
        ctx.logger.info("sending a %d-digit code by %s", len(code), request.channel)
        expires = datetime.now(timezone.utc) + timedelta(minutes=5)
        return {
            "otpId": f"otp-{ctx.process_instance_id}",
            "expiresAt": expires.isoformat(timespec="seconds"),
        }

    @app.handler(SEND_EMAIL)
    async def send_email(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
        # An async handler. The mail server of flaky.example refuses the first try, to show
        # a retried failure.
        flaky = any(r["email"].endswith("@flaky.example") for r in payload["recipients"])
        if flaky and ctx.attempt == 1:
            msg = "mail server busy, try again"
            raise ConnectionError(msg)
        return {"notificationId": f"ntf-{ctx.partition}-{ctx.offset}", "status": "QUEUED"}

    return app


app = create_app()
