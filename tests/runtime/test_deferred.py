"""Deferred replies in memory: ctx.defer(), the token, App.reply_later, and what is refused."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowintegrations import (
    App,
    Context,
    DataModel,
    DeferredReply,
    EngineClient,
    Header,
    Integration,
    Property,
    Retry,
    Scenario,
    TopicBinding,
    ValidationError,
)
from flowintegrations.deferred import Deferrals, MemoryReplyLedger
from flowintegrations.errors import (
    DeferredReplyError,
    DeferredReplyUsedError,
    InvalidDeferredReplyError,
    ScenarioNotFoundError,
)
from flowintegrations.runtime import Deferred, Origin
from flowintegrations.testing import TestClient
from flowintegrations.transport import InMemoryTransport, Record
from flowintegrations.vocabulary import DEFER_SECRET_VAR
from support.runtime import ANSWER, DEMO, GREET, GREET_IN, GREET_OUT, HEADERS

SECRET = "a-secret-of-at-least-16-bytes"
ENGINE_HEADERS = {
    **HEADERS,
    "jwt": "secret-token",
    "destinationId": "dest-1",
    "callbacksForAction": "cb",
    "fxContext": "main",
    "Fx-AppId": "app-7",
}


def deferring_app(
    transport: InMemoryTransport | None = None,
    *,
    secret: str | tuple[str, ...] | None = SECRET,
    **kw: Any,
) -> tuple[App, list[str]]:
    """An app whose greet handler answers 'now' at once and defers anyone else; its tokens."""
    app = App(DEMO, transport=transport, defer_secret=secret, retry=Retry(attempts=1), **kw)
    tokens: list[str] = []

    @app.handler(GREET)
    def greet(payload: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        if payload["name"] == "now":
            return {"greeting": "Hello, now"}
        tokens.append(ctx.defer().dumps())
        return None

    @app.handler(ANSWER)
    async def answer(payload: dict[str, Any], ctx: Context) -> None:
        tokens.append(ctx.defer().dumps())

    return app, tokens


@contextlib.asynccontextmanager
async def serving(app: App) -> AsyncIterator[EngineClient]:
    """An engine client talking to ``app`` over the app's transport, both running."""
    async with app, EngineClient(*app.integrations, transport=app.transport) as engine:
        yield engine


async def first(tokens: list[str]) -> DeferredReply:
    """The first token a handler made (within 10 s), read back as a webhook would."""
    for _ in range(1000):  # the handler runs on a worker thread: poll, do not wait on it
        if tokens:
            break
        await asyncio.sleep(0.01)
    return DeferredReply.loads(tokens[0])


def deferred_in(client: TestClient, tokens: list[str], name: str = "Ana") -> DeferredReply:
    """Send a greet request that the handler defers; its deferred reply."""
    request = Record(GREET_OUT, b"k", f'{{"name": "{name}"}}'.encode(), _raw(HEADERS))
    client.send_raw(request)
    return DeferredReply.loads(tokens[-1])


def _raw(headers: dict[str, str]) -> tuple[tuple[str, bytes], ...]:
    return tuple((k, v.encode()) for k, v in headers.items())


def tamper(token: str) -> str:
    """``token`` answering another process instance (1002), its signature kept."""
    version, body, signature = token.split(".")
    text = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).replace(b"1001", b"1002")
    changed = base64.urlsafe_b64encode(text).rstrip(b"=").decode()
    return f"{version}.{changed}.{signature}"


# Deferring and answering -------------------------------------------------------------------


def test_a_deferring_handler_sends_no_reply_and_its_request_is_done() -> None:
    """A request whose handler defers is fully handled with nothing on the in topic."""
    app, tokens = deferring_app()
    with TestClient(app) as client:
        sent = client.send_raw(Record(GREET_OUT, b"k", b'{"name": "Ana"}', _raw(HEADERS)))
        assert (app.is_handled(sent), client.transport.records(GREET_IN)) == (True, [])
    assert len(tokens) == 1


def test_a_webhook_answers_later_and_the_engine_gets_the_reply() -> None:
    """A plain function answering the token two seconds later completes the engine's request."""
    app, tokens = deferring_app()

    async def webhook(token: str) -> None:
        await asyncio.sleep(2)
        await app.reply_later(DeferredReply.loads(token), {"greeting": "Hello, later"})

    async def main() -> Any:
        async with serving(app) as engine:
            request = asyncio.create_task(
                engine.request(GREET, {"name": "Ana"}, headers=HEADERS, timeout=10)
            )
            await webhook((await first(tokens)).dumps())
            return (await request).payload

    assert asyncio.run(main()) == {"greeting": "Hello, later"}


def test_a_deferred_reply_has_the_headers_and_key_of_an_immediate_one() -> None:
    """The deferred reply to a request is byte-identical in headers and key to the immediate one."""
    app, tokens = deferring_app()

    async def main() -> tuple[Record, Record]:
        async with serving(app) as engine:
            await engine.request(GREET, {"name": "now"}, headers=ENGINE_HEADERS)
            later = asyncio.create_task(
                engine.request(GREET, {"name": "Ana"}, headers=ENGINE_HEADERS, timeout=10)
            )
            await app.reply_later(await first(tokens), {"greeting": "Hello, later"})
            await later
        immediate, deferred = app.transport.records(GREET_IN)  # type: ignore[attr-defined]
        return immediate, deferred

    immediate, deferred = asyncio.run(main())
    assert (deferred.headers, deferred.key) == (immediate.headers, immediate.key)


def test_a_token_survives_a_restart() -> None:
    """A token from a stopped app is answered by a new app with the same secret."""
    transport = InMemoryTransport()
    first_app, tokens = deferring_app(transport)

    async def main() -> Any:
        await transport.start()
        async with serving(first_app) as engine:
            await engine.send(GREET, {"name": "Ana"}, headers=HEADERS)
            token = (await first(tokens)).dumps()
        second_app, _ = deferring_app(transport)
        await second_app.reply_later(DeferredReply.loads(token), {"greeting": "Hello again"})
        return transport.records(GREET_IN)[0].value

    assert asyncio.run(main()) == b'{"greeting":"Hello again"}'


def test_an_error_sends_the_flowx_error_reply() -> None:
    """reply_later(deferred, None, error=...) sends {"error": message} with the headers."""
    app, tokens = deferring_app()
    with TestClient(app) as client:
        question = b'{"question": "q"}'
        client.send_raw(Record(ANSWER.binding(None).out_topic or "", b"k", question, _raw(HEADERS)))
        deferred = DeferredReply.loads(tokens[0])
        sent = app.reply_later_sync(deferred, None, error=LookupError("no such account"))
    assert sent.value == b'{"error":"no such account"}'


def test_reply_later_sync_works_from_a_thread_while_the_app_runs() -> None:
    """The synchronous form, called from another thread, sends through the running app."""
    app, tokens = deferring_app()
    with TestClient(app) as client:
        deferred = deferred_in(client, tokens)
        results: list[Record] = []
        thread = threading.Thread(
            target=lambda: results.append(app.reply_later_sync(deferred, {"greeting": "Hi"}))
        )
        thread.start()
        thread.join(10)
        assert client.transport.records(GREET_IN)[0].value == b'{"greeting":"Hi"}'


def test_reply_later_sync_works_without_a_running_app() -> None:
    """The synchronous form of a script sends in an event loop of its own."""
    app, tokens = deferring_app()
    with TestClient(app) as client:
        token = deferred_in(client, tokens).dumps()
    script_app, _ = deferring_app()
    sent = script_app.reply_later_sync(DeferredReply.loads(token), {"greeting": "Hi"})
    assert (sent.topic, sent.value) == (GREET_IN, b'{"greeting":"Hi"}')


def test_defer_twice_gives_the_same_deferred_reply() -> None:
    """Calling ctx.defer() again in one handler call returns the same value."""
    app = App(DEMO, defer_secret=SECRET)
    pairs: list[tuple[DeferredReply, DeferredReply]] = []

    @app.handler(GREET)
    def greet(payload: dict[str, Any], ctx: Context) -> None:
        pairs.append((ctx.defer(), ctx.defer()))

    with TestClient(app) as client:
        client.send_raw(Record(GREET_OUT, b"k", b'{"name": "Ana"}', _raw(HEADERS)))
    (one, two) = pairs[0]
    assert one is two


def test_the_pipeline_gives_a_deferred_outcome() -> None:
    """Pipeline.handle of a request whose handler defers is a Deferred outcome."""
    app, _ = deferring_app()
    pipeline = app.pipeline
    outcome = asyncio.run(
        pipeline.handle(
            pipeline.route(GREET), {"name": "Ana"}, HEADERS, origin=Origin(topic="http")
        )
    )
    assert isinstance(outcome, Deferred)
    assert (outcome.deferred.scenario, outcome.deferred.headers) == (
        "greet",
        (("processInstanceId", "1001"), ("processInstanceUuid", "uuid-1001")),
    )


# What the token carries --------------------------------------------------------------------


def test_a_token_round_trips() -> None:
    """loads(dumps()) gives the same deferred reply, and dumps() the same text."""
    app, tokens = deferring_app()
    with TestClient(app) as client:
        deferred = deferred_in(client, tokens)
    assert (DeferredReply.loads(deferred.dumps()), deferred.dumps()) == (deferred, tokens[0])


def test_secret_headers_are_left_out_of_the_token() -> None:
    """A secret header (here also propagated) is not in the token, so not in the answer."""
    scenario = attrs.evolve(GREET, headers=(Header("jwt", secret=True),))
    app = App(attrs.evolve(DEMO, scenarios=(scenario,)), defer_secret=SECRET)
    seen: list[DeferredReply] = []

    @app.handler(scenario)
    def greet(payload: dict[str, Any], ctx: Context) -> None:
        seen.append(ctx.defer())

    with TestClient(app) as client:
        headers = {**HEADERS, "jwt": "secret-token"}
        client.send_raw(Record(GREET_OUT, b"k", b'{"name": "Ana"}', _raw(headers)))
    assert [name for name, _ in seen[0].headers] == ["processInstanceId", "processInstanceUuid"]


def test_a_scenario_may_keep_secret_headers_in_the_token() -> None:
    """With defer_secret_headers=True the secret header travels in the token."""
    scenario = attrs.evolve(GREET, headers=(Header("jwt", secret=True),), defer_secret_headers=True)
    app = App(attrs.evolve(DEMO, scenarios=(scenario,)), defer_secret=SECRET)
    seen: list[DeferredReply] = []

    @app.handler(scenario)
    def greet(payload: dict[str, Any], ctx: Context) -> None:
        seen.append(ctx.defer())

    with TestClient(app) as client:
        headers = {**HEADERS, "jwt": "secret-token"}
        client.send_raw(Record(GREET_OUT, b"k", b'{"name": "Ana"}', _raw(headers)))
    assert dict(seen[0].headers)["jwt"] == "secret-token"


def test_the_repr_shows_no_header_values() -> None:
    """A deferred reply's repr names its headers but shows none of their values."""
    app, tokens = deferring_app()
    with TestClient(app) as client:
        deferred = deferred_in(client, tokens)
    assert "uuid-1001" not in repr(deferred)
    assert "headers=['processInstanceId', 'processInstanceUuid']" in repr(deferred)


def test_the_secret_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without defer_secret, $FLOWINTEGRATIONS_DEFER_SECRET signs the tokens."""
    monkeypatch.setenv(DEFER_SECRET_VAR, SECRET)
    app, tokens = deferring_app(secret=None)
    with TestClient(app) as client:
        deferred = deferred_in(client, tokens)
    checking, _ = deferring_app(secret=SECRET)
    assert checking.reply_later_sync(deferred, {"greeting": "Hi"}).topic == GREET_IN


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@given(
    headers=st.lists(st.tuples(TEXT.filter(bool), TEXT), max_size=6),
    key=st.none() | st.binary(max_size=20),
    environment=st.none() | TEXT.filter(bool),
)
def test_any_deferred_reply_round_trips_and_verifies(
    headers: list[tuple[str, str]], key: bytes | None, environment: str | None
) -> None:
    """Whatever its headers, key and environment, a token reads back equal and verifies."""
    deferrals = Deferrals((SECRET.encode(),))
    raw = tuple((name, value.encode()) for name, value in headers)
    scenario = attrs.evolve(GREET, topics=(TopicBinding(GREET_OUT, GREET_IN),), headers=())
    ctx = Context(
        dict(headers), None, DEMO, scenario, environment, GREET_OUT, 0, 0, key,
        source=Record(GREET_OUT, key, b"{}", raw),
        deferrals=deferrals,
    )  # fmt: skip
    deferred = ctx.defer()
    again = DeferredReply.loads(deferred.dumps())
    deferrals.verify(again)
    assert (again, again.headers) == (deferred, tuple(headers))


# What is refused ---------------------------------------------------------------------------


def test_a_short_secret_is_refused() -> None:
    """A defer secret shorter than 16 bytes is a ValueError when the app is made."""
    with pytest.raises(ValueError, match=r"^a defer secret must be at least 16 bytes long"):
        App(DEMO, defer_secret="short")


def test_deferring_without_a_secret_fails_the_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no secret, ctx.defer() raises, so the request is dead-lettered saying why."""
    monkeypatch.delenv(DEFER_SECRET_VAR, raising=False)
    app, _ = deferring_app(secret=None)
    with TestClient(app) as client:
        client.send_raw(Record(GREET_OUT, b"k", b'{"name": "Ana"}', _raw(HEADERS)))
        (dead,) = client.dead_letters
    message = dead.header("flowintegrations.error.message") or b""
    assert message.decode() == (
        "deferred replies need a secret to sign their tokens: give the app one with "
        "App(..., defer_secret=...) or set $FLOWINTEGRATIONS_DEFER_SECRET"
    )


def test_an_invalid_payload_is_refused_and_the_token_stays_usable() -> None:
    """A payload breaking the input model is a ValidationError; a valid one is still sent."""
    app, tokens = deferring_app()
    with TestClient(app) as client:
        deferred = deferred_in(client, tokens)
        with pytest.raises(ValidationError, match=r"\$\.greeting"):
            app.reply_later_sync(deferred, {"greeting": 42})
        app.reply_later_sync(deferred, {"greeting": "Hi"})
        assert [r.value for r in client.transport.records(GREET_IN)] == [b'{"greeting":"Hi"}']


def test_a_second_answer_is_refused() -> None:
    """Answering one deferred reply twice raises DeferredReplyUsedError; one reply is sent."""
    app, tokens = deferring_app()
    with TestClient(app) as client:
        deferred = deferred_in(client, tokens)
        app.reply_later_sync(deferred, {"greeting": "Hi"})
        with pytest.raises(DeferredReplyUsedError, match=r"was answered already"):
            app.reply_later_sync(DeferredReply.loads(deferred.dumps()), {"greeting": "Again"})
        assert len(client.transport.records(GREET_IN)) == 1


def test_a_shared_ledger_refuses_across_apps() -> None:
    """Two apps sharing one ledger refuse the second answer whichever app gives it."""
    ledger = MemoryReplyLedger()
    app, tokens = deferring_app(reply_ledger=ledger)
    other, _ = deferring_app(reply_ledger=ledger)
    with TestClient(app) as client:
        deferred = deferred_in(client, tokens)
        app.reply_later_sync(deferred, {"greeting": "Hi"})
    with pytest.raises(DeferredReplyUsedError):
        other.reply_later_sync(deferred, {"greeting": "Again"})


def test_a_tampered_token_is_refused() -> None:
    """A token whose body was changed fails its signature check."""
    app, tokens = deferring_app()
    with TestClient(app) as client:
        deferred_in(client, tokens)
        with pytest.raises(InvalidDeferredReplyError, match=r"does not carry this app's signature"):
            app.reply_later_sync(DeferredReply.loads(tamper(tokens[0])), {"greeting": "Hi"})


def test_an_altered_value_is_refused() -> None:
    """A deferred reply changed in code (another in topic) fails its signature check."""
    app, tokens = deferring_app()
    with TestClient(app) as client:
        deferred = attrs.evolve(deferred_in(client, tokens), in_topic="elsewhere")
        with pytest.raises(InvalidDeferredReplyError, match=r"altered, or signed with another"):
            app.reply_later_sync(deferred, {"greeting": "Hi"})


def test_a_token_of_another_secret_is_refused() -> None:
    """An app with another secret refuses the token."""
    app, tokens = deferring_app()
    with TestClient(app) as client:
        deferred = deferred_in(client, tokens)
    other, _ = deferring_app(secret="another-secret-of-16-bytes")
    with pytest.raises(InvalidDeferredReplyError, match=r"does not carry this app's signature"):
        other.reply_later_sync(deferred, {"greeting": "Hi"})


def test_a_rotated_secret_still_verifies_old_tokens() -> None:
    """An app given (new, old) secrets answers a token signed with the old one."""
    app, tokens = deferring_app()
    with TestClient(app) as client:
        deferred = deferred_in(client, tokens)
    rotated, _ = deferring_app(secret=("a-brand-new-secret-here", SECRET))
    assert rotated.reply_later_sync(deferred, {"greeting": "Hi"}).topic == GREET_IN


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        (lambda t: t[:-5], "its signature is too short or too long (truncated?)"),
        (lambda t: t[:40], "expected 3 parts separated by '.', got 2 (truncated?)"),
        (lambda t: "fi9" + t[3:], "unknown version 'fi9' (this library reads 'fi1')"),
        (lambda t: t.replace(".", ".!", 1), "its body is not base64url (truncated or altered?)"),
        (lambda t: "", "expected 3 parts separated by '.', got 1 (truncated?)"),
    ],
    ids=["signature-cut", "body-cut", "version", "garbage", "empty"],
)
def test_a_malformed_token_is_refused(cut: Any, message: str) -> None:
    """loads() names what is wrong with a truncated or mangled token."""
    app, tokens = deferring_app()
    with TestClient(app) as client:
        token = deferred_in(client, tokens).dumps()
    with pytest.raises(InvalidDeferredReplyError) as caught:
        DeferredReply.loads(cut(token))
    assert str(caught.value) == f"not a deferred reply token: {message}"


def test_a_token_of_an_unknown_scenario_is_refused() -> None:
    """An app without the token's integration refuses it with ScenarioNotFoundError."""
    app, tokens = deferring_app()
    with TestClient(app) as client:
        deferred = deferred_in(client, tokens)
    other = App(Integration("Other", "other"), defer_secret=SECRET)
    with pytest.raises(
        ScenarioNotFoundError, match=r"^no integration of this app has a scenario 'demo/greet'$"
    ):
        other.reply_later_sync(deferred, {"greeting": "Hi"})


def test_payload_and_error_together_are_refused() -> None:
    """Giving reply_later both a payload and an error is a ValueError."""
    app, tokens = deferring_app()
    with TestClient(app) as client:
        deferred = deferred_in(client, tokens)
        with pytest.raises(ValueError, match=r"^give reply_later a payload or an error, not both$"):
            app.reply_later_sync(deferred, {"greeting": "Hi"}, error="no")


def test_a_context_made_by_hand_cannot_defer() -> None:
    """A Context built outside a pipeline raises DeferredReplyError on defer()."""
    ctx = Context({}, None, DEMO, GREET, None, "t", 0, 0, None)
    with pytest.raises(DeferredReplyError, match=r"not made by an app's pipeline"):
        ctx.defer()


def test_a_scenario_without_an_in_topic_cannot_defer() -> None:
    """Deferring a fire-and-forget request fails: there is no reply to send later."""
    notify = Scenario(
        "Notify",
        "notify",
        topics=(TopicBinding("ai.flowx.test.plugin.notify.v1"),),
        output_model=DataModel((Property.string("text"),)),
    )
    app = App(Integration("N", "n", scenarios=(notify,)), defer_secret=SECRET)

    @app.handler(notify)
    def handle(payload: dict[str, Any], ctx: Context) -> None:
        ctx.defer()

    with TestClient(app) as client:
        client.send_raw(Record(notify.binding(None).out_topic or "", b"k", b"{}", _raw(HEADERS)))
        (dead,) = client.dead_letters
    message = dead.header("flowintegrations.error.message") or b""
    assert message.decode() == ("scenario 'notify' has no in topic in environment None")
