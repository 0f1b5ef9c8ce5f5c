"""Answering a request later: :class:`DeferredReply`, its token, and who refuses a second answer.

A handler that cannot answer at once calls ``ctx.defer()`` and returns ``None``: the request
is committed and no reply is sent. The :class:`DeferredReply` it got holds everything the
reply needs (integration, scenario, environment, in topic, the headers and key the
immediate reply would have had, built by :func:`flowintegrations.runtime.replies.reply_record`)
and a random ``reply_id``. ``dumps()`` makes it a compact string to store in a database or
pass through a webhook's state; ``DeferredReply.loads(text)`` reads it back, in any process;
``App.reply_later(deferred, payload)`` sends the answer.

The token
    ``fi1.<body>.<signature>``: ``fi1`` is the format version, ``<body>`` the fields as
    canonical JSON in unpadded base64url, ``<signature>`` the HMAC-SHA256 of ``fi1.<body>``
    under the app's secret (``App(defer_secret=...)`` or ``$FLOWINTEGRATIONS_DEFER_SECRET``),
    also base64url. Tokens are always signed: without a secret ``ctx.defer()`` raises. They
    are signed, not encrypted: whoever holds one can read its headers, so a scenario's
    ``secret`` headers are left out unless the scenario sets ``defer_secret_headers=True``.
    :meth:`DeferredReply.loads` checks the shape (a truncated or mangled token is an
    :class:`~flowintegrations.errors.InvalidDeferredReplyError`); ``App.reply_later``
    checks the signature (a tampered token, or one signed with another secret, is one too).

A second answer
    is refused with :class:`~flowintegrations.errors.DeferredReplyUsedError`: the app claims
    the token's ``reply_id`` in its :class:`ReplyLedger` before sending. The default
    :class:`MemoryReplyLedger` remembers the claims of one app instance; to refuse across
    processes and restarts, give the app a ledger kept where the tokens are kept.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from flowintegrations.errors import DeferredReplyError, InvalidDeferredReplyError
from flowintegrations.runtime.replies import reply_record
from flowintegrations.transport import Record
from flowintegrations.vocabulary import DEFER_SECRET_VAR, PROCESS_INSTANCE_ID

if TYPE_CHECKING:
    from collections.abc import Mapping

    from flowintegrations.model import Integration, Scenario

__all__ = [
    "MIN_SECRET_BYTES",
    "TOKEN_VERSION",
    "Deferrals",
    "DeferredReply",
    "DeferredRequest",
    "MemoryReplyLedger",
    "ReplyLedger",
]

TOKEN_VERSION = "fi1"  # noqa: S105 - a format name, not a password
"""The first part of every token: the format's name and version."""

MIN_SECRET_BYTES = 16
"""The shortest signing secret accepted (as UTF-8 bytes)."""

_SIGNATURE_BYTES = hashlib.sha256().digest_size
_OPTIONAL = (str, type(None))
_FIELDS: dict[str, type | tuple[type, ...]] = {
    "i": str,
    "s": str,
    "e": _OPTIONAL,
    "t": str,
    "h": list,
    "k": _OPTIONAL,
    "r": str,
}


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        msg = f"not a deferred reply token: its {what} is not base64url (truncated or altered?)"
        raise InvalidDeferredReplyError(msg) from None


def _invalid(why: str) -> InvalidDeferredReplyError:
    return InvalidDeferredReplyError(f"not a deferred reply token: {why}")


@attrs.frozen(kw_only=True, repr=False)
class DeferredReply:
    """A request answered later: where the answer goes, with which headers and key.

    Made by ``ctx.defer()``; answered by ``App.reply_later``. ``headers`` are the reply's
    headers as text, in order (the request's, without ``propagate=False`` ones and, unless
    the scenario says otherwise, without secret ones); ``key`` is the reply's Kafka key;
    ``reply_id`` tells this deferral apart from every other, for refusing a second answer;
    ``signature`` is the HMAC of the rest. The repr shows no header values.
    """

    integration: str
    scenario: str
    environment: str | None
    in_topic: str
    headers: tuple[tuple[str, str], ...]
    key: bytes | None
    reply_id: str
    signature: str

    def __repr__(self) -> str:
        return (
            f"DeferredReply({self.integration}/{self.scenario}, "
            f"environment={self.environment!r}, in_topic={self.in_topic!r}, "
            f"process_instance_id={self.process_instance_id!r}, reply_id={self.reply_id!r}, "
            f"headers={[name for name, _ in self.headers]!r})"
        )

    @property
    def process_instance_id(self) -> str | None:
        """The ``processInstanceId`` header the answer carries (the last one), if any."""
        for name, value in reversed(self.headers):
            if name == PROCESS_INSTANCE_ID:
                return value
        return None

    def body(self) -> bytes:
        """The signed content: the fields but the signature, as canonical JSON."""
        fields = {
            "i": self.integration,
            "s": self.scenario,
            "e": self.environment,
            "t": self.in_topic,
            "h": [list(pair) for pair in self.headers],
            "k": None if self.key is None else _b64encode(self.key),
            "r": self.reply_id,
        }
        return json.dumps(fields, separators=(",", ":"), sort_keys=True).encode("utf-8")

    def dumps(self) -> str:
        """The token: ``fi1.<body>.<signature>``, ASCII, safe in a URL and a database column."""
        return f"{TOKEN_VERSION}.{_b64encode(self.body())}.{self.signature}"

    @classmethod
    def loads(cls, text: str) -> DeferredReply:
        """The deferred reply a token from :meth:`dumps` stands for.

        Checks the token's shape only; ``App.reply_later`` checks its signature. Raises
        :class:`~flowintegrations.errors.InvalidDeferredReplyError` (a ``ValueError``) for
        anything else than a whole token of this version.
        """
        parts = text.strip().split(".")
        if len(parts) != 3:
            raise _invalid(f"expected 3 parts separated by '.', got {len(parts)} (truncated?)")
        version, body_text, signature = parts
        if version != TOKEN_VERSION:
            shown = version[:16]
            raise _invalid(f"unknown version {shown!r} (this library reads {TOKEN_VERSION!r})")
        if len(_b64decode(signature, "signature")) != _SIGNATURE_BYTES:
            raise _invalid("its signature is too short or too long (truncated?)")
        body = _b64decode(body_text, "body")
        try:
            fields = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            raise _invalid("its body is not JSON (truncated or altered?)") from None
        return cls._from_fields(fields, signature)

    @classmethod
    def _from_fields(cls, fields: Any, signature: str) -> DeferredReply:
        if not isinstance(fields, dict) or set(fields) != set(_FIELDS):
            raise _invalid("its body does not have the fields of this version")
        for name, kind in _FIELDS.items():
            if not isinstance(fields[name], kind):
                raise _invalid(f"its body's field {name!r} has the wrong type")
        headers = fields["h"]
        if not all(
            isinstance(pair, list)
            and len(pair) == 2
            and all(isinstance(part, str) for part in pair)
            for pair in headers
        ):
            raise _invalid("its headers are not (name, value) pairs of strings")
        key = fields["k"]
        return cls(
            integration=fields["i"],
            scenario=fields["s"],
            environment=fields["e"],
            in_topic=fields["t"],
            headers=tuple((name, value) for name, value in headers),
            key=None if key is None else _b64decode(key, "key"),
            reply_id=fields["r"],
            signature=signature,
        )

    def record(self, value: bytes) -> Record:
        """The reply record carrying ``value`` (JSON bytes) to the in topic."""
        return Record(
            topic=self.in_topic,
            key=self.key,
            value=value,
            headers=tuple((name, text.encode("utf-8")) for name, text in self.headers),
        )


class Deferrals:
    """Makes one app's deferred replies and checks them: signs with the app's secret.

    ``secrets`` sign and verify: the first signs; every one verifies, so that a secret can
    be rotated (put the new one first, drop the old one once its tokens are answered). No
    secret: deferring raises :class:`~flowintegrations.errors.DeferredReplyError`.
    """

    def __init__(self, secrets: Sequence[bytes] = ()) -> None:
        for secret in secrets:
            if len(secret) < MIN_SECRET_BYTES:
                msg = (
                    f"a defer secret must be at least {MIN_SECRET_BYTES} bytes long, "
                    f"one is {len(secret)}"
                )
                raise ValueError(msg)
        self._secrets = tuple(secrets)

    def __repr__(self) -> str:
        return f"Deferrals({len(self._secrets)} secret(s))"

    @classmethod
    def configure(
        cls,
        secret: str | bytes | Sequence[str | bytes] | None,
        environ: Mapping[str, str],
    ) -> Deferrals:
        """From ``App(defer_secret=...)``, else ``$FLOWINTEGRATIONS_DEFER_SECRET`` in environ."""
        if secret is None:
            secret = environ.get(DEFER_SECRET_VAR) or ()
        given = [secret] if isinstance(secret, (str, bytes)) else list(secret)
        return cls(tuple(s.encode("utf-8") if isinstance(s, str) else s for s in given))

    @property
    def configured(self) -> bool:
        """Whether there is a secret to sign with."""
        return bool(self._secrets)

    def _signing_key(self) -> bytes:
        if not self._secrets:
            msg = (
                "deferred replies need a secret to sign their tokens: give the app one with "
                f"App(..., defer_secret=...) or set ${DEFER_SECRET_VAR}"
            )
            raise DeferredReplyError(msg)
        return self._secrets[0]

    @staticmethod
    def _sign(key: bytes, body: bytes) -> str:
        signed = TOKEN_VERSION.encode("ascii") + b"." + _b64encode(body).encode("ascii")
        return _b64encode(hmac.new(key, signed, hashlib.sha256).digest())

    def defer(self, ctx: DeferredRequest) -> DeferredReply:
        """The deferred reply to the request ``ctx`` (a handler's Context) describes, signed.

        Raises :class:`~flowintegrations.errors.DeferredReplyError` when there is no secret,
        or when the scenario has no in topic in this environment (nothing to answer on).
        """
        key = self._signing_key()
        scenario = ctx.scenario
        in_topic = scenario.topic("in", ctx.environment)
        request = ctx.source
        if not isinstance(request, Record):  # not from Kafka: the headers are all there is
            request = Record(
                topic=ctx.topic,
                key=ctx.key,
                value=b"",
                headers=tuple((name, value.encode("utf-8")) for name, value in ctx.headers.items()),
            )
        never = frozenset(h.name for h in scenario.headers if not h.propagate)
        if not scenario.defer_secret_headers:
            never |= scenario.secret_headers
        template = reply_record(in_topic, request, b"", never)
        unsigned = DeferredReply(
            integration=ctx.integration.identifier,
            scenario=scenario.identifier,
            environment=ctx.environment,
            in_topic=in_topic,
            headers=tuple((name, value.decode("utf-8")) for name, value in template.headers),
            key=template.key,
            reply_id=secrets.token_urlsafe(12),
            signature="",
        )
        return attrs.evolve(unsigned, signature=self._sign(key, unsigned.body()))

    def verify(self, deferred: DeferredReply) -> None:
        """Raise unless ``deferred`` was signed with one of the secrets and not changed since.

        Raises :class:`~flowintegrations.errors.InvalidDeferredReplyError` for a bad
        signature, :class:`~flowintegrations.errors.DeferredReplyError` with no secret.
        """
        self._signing_key()
        body = deferred.body()
        for secret in self._secrets:
            if hmac.compare_digest(self._sign(secret, body), deferred.signature):
                return
        msg = (
            f"the deferred reply {deferred.reply_id!r} does not carry this app's signature: "
            "it was altered, or signed with another secret"
        )
        raise InvalidDeferredReplyError(msg)


class DeferredRequest(Protocol):
    """What :meth:`Deferrals.defer` reads of a request: what a handler's Context holds."""

    @property
    def integration(self) -> Integration:
        """The request's integration."""

    @property
    def scenario(self) -> Scenario:
        """The request's scenario."""

    @property
    def environment(self) -> str | None:
        """The environment handled in."""

    @property
    def topic(self) -> str:
        """Where the request came from."""

    @property
    def key(self) -> bytes | None:
        """The request's key."""

    @property
    def headers(self) -> Mapping[str, str]:
        """The request's headers, as text."""

    @property
    def source(self) -> object:
        """The consumed :class:`Record`, or another source (its headers are all there is)."""


class ReplyLedger(Protocol):
    """Remembers which deferred replies were answered, so that a second answer is refused.

    ``App(..., reply_ledger=...)``; the default is a :class:`MemoryReplyLedger`. A ledger
    shared by every process that answers (a table with a unique ``reply_id`` column) refuses
    across processes and restarts.
    """

    async def claim(self, reply_id: str) -> bool:
        """Mark ``reply_id`` answered; ``False`` when it was claimed before (and not released).

        Must be atomic: of two concurrent claims of one id, one wins.
        """
        ...

    async def release(self, reply_id: str) -> None:
        """Forget the claim of ``reply_id``: its answer could not be sent, and may be retried."""
        ...


class MemoryReplyLedger:
    """A :class:`ReplyLedger` in this process's memory: refuses a second answer from one app.

    It forgets everything when the process ends.
    """

    def __init__(self) -> None:
        self._claimed: set[str] = set()

    def __repr__(self) -> str:
        return f"MemoryReplyLedger({len(self._claimed)} claimed)"

    async def claim(self, reply_id: str) -> bool:
        """Mark ``reply_id`` answered; ``False`` when it was already."""
        if reply_id in self._claimed:
            return False
        self._claimed.add(reply_id)
        return True

    async def release(self, reply_id: str) -> None:
        """Forget the claim of ``reply_id``."""
        self._claimed.discard(reply_id)
