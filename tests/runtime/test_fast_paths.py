"""The hot path's shortcuts agree with the straightforward code they stand in for.

Each fast path is checked differentially with Hypothesis against the reference it
replaces: JSON decoding against ``json.JSONDecoder.decode``, the header checks against
:func:`~flowintegrations.validation.decode_headers`, and the request/reply validators
against a bare fastjsonschema validator of the same schema.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowintegrations import (
    App,
    Header,
    Integration,
    Retry,
    Scenario,
    TopicBinding,
    ValidationError,
)
from flowintegrations.codec import JsonCodec
from flowintegrations.errors import CodecError
from flowintegrations.model import Catalog
from flowintegrations.runtime import Backpressure
from flowintegrations.runtime.pipeline import check_request_headers, decode_request_headers
from flowintegrations.testing import TestClient
from flowintegrations.transport import InMemoryTransport, Record, TopicPartition
from flowintegrations.validation import decode_headers, scenario_validators
from support.jsonvalues import json_values
from support.runtime import DEMO, GREET, GREET_OUT


def finite_float(literal: str) -> float:
    """``float(literal)``, refusing what overflows to infinity, as the codec does."""
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(literal)
    return value


def reference_decode(data: bytes) -> Any:
    """What JsonCodec.decode returned before its fast path (None stands for an error)."""
    decoder = json.JSONDecoder(
        parse_float=finite_float, parse_constant=lambda name: (_ for _ in ()).throw(ValueError())
    )
    try:
        return ("ok", decoder.decode(data.decode("utf-8")))
    except (ValueError, RecursionError):
        return ("error", None)


def codec_decode(data: bytes) -> Any:
    """JsonCodec.decode, an error folded into a value."""
    try:
        return ("ok", JsonCodec().decode(data))
    except CodecError:
        return ("error", None)


@given(json_values, st.sampled_from(["", " ", "\n", "\t "]), st.sampled_from(["", " ", "\n"]))
def test_codec_decodes_json_like_the_standard_decoder(value: Any, before: str, after: str) -> None:
    """Any JSON text, with or without surrounding whitespace, decodes as json does."""
    data = (before + json.dumps(value) + after).encode()
    assert reference_decode(data) == codec_decode(data)


@given(st.binary(max_size=40) | st.text(max_size=40).map(str.encode))
def test_codec_accepts_and_refuses_what_the_standard_decoder_does(data: bytes) -> None:
    """Arbitrary bytes are accepted (with the same value) or refused exactly as before."""
    assert reference_decode(data) == codec_decode(data)


@pytest.mark.parametrize("text", ["NaN", "[1, Infinity]", '{"a": -Infinity}', "1 2", "[1] x"])
def test_codec_still_refuses_non_json(text: str) -> None:
    """Constants and trailing garbage stay errors on the fast path."""
    with pytest.raises(CodecError):
        JsonCodec().decode(text.encode())


HEADERS = (
    Header("processInstanceId", mandatory=True),
    Header("processInstanceUuid"),
    Header("jwt", secret=True, propagate=False),
    Header("tenant", mandatory=True),
)
SCENARIO = Scenario("S", "s", topics=(TopicBinding("out.s", "in.s"),), headers=HEADERS)


def route_for(takes_context: bool) -> Any:
    """The app's route for SCENARIO, built the way App.start builds it."""
    app = App(Integration("I", "i", scenarios=(SCENARIO,)))
    if takes_context:

        @app.handler(SCENARIO)
        def with_ctx(payload: Any, ctx: Any) -> None:
            return None

    else:

        @app.handler(SCENARIO)
        def without_ctx(payload: Any) -> None:
            return None

    return app.pipeline.route(SCENARIO)


header_names = st.sampled_from(["processInstanceId", "processInstanceUuid", "jwt", "tenant", "x"])
header_values = (
    st.binary(max_size=6)
    | st.text(max_size=6).map(str.encode)
    | st.sampled_from([b"\xc3", b"\xa9", b"\xc3\x00\xa9", b"\xe2\x82", b"\x00"])
)
raw_headers = st.lists(st.tuples(header_names, header_values), max_size=6).map(tuple)


def outcome(fn: Any, *args: Any) -> Any:
    """The value, or the violations of the ValidationError, that fn(*args) gives."""
    try:
        return ("ok", fn(*args))
    except ValidationError as exc:
        return ("invalid", exc.violations)


@given(raw_headers)
def test_header_fast_paths_agree_with_decode_headers(raw: tuple[tuple[str, bytes], ...]) -> None:
    """Both header shortcuts accept, decode and refuse exactly what decode_headers does."""
    expected = outcome(decode_headers, raw, HEADERS)
    assert expected == outcome(decode_request_headers, raw, route_for(True))
    checked = outcome(check_request_headers, raw, route_for(False))
    assert (expected[0], None if expected[0] == "ok" else expected[1]) == checked


VALID = [
    {"templateName": "otp", "recipient": "a@b.c", "channel": "SMS", "length": 6},
    {"otpId": "otp-1", "expiresAt": "2026-11-22T15:00:00Z"},
    {
        "templateName": "t",
        "recipients": [{"email": "a@b.c", "name": "A", "kind": "TO"}],
        "attachments": [{"fileName": "f.pdf", "documentUrl": "/d/1", "sizeBytes": 10}],
        "data": {"x": 1},
    },
    {"notificationId": "n-1", "status": "QUEUED"},
    {
        "documentType": "OFFER",
        "customerName": "Ana",
        "address": {"street": "s", "city": "c", "country": "RO"},
    },
    {"documentId": "d", "downloadPath": "/p", "pages": 2},
]
nearly_valid = st.builds(
    lambda payload, drop, key, value: {
        **{k: v for k, v in payload.items() if k != drop},
        **({key: value} if key else {}),
    },
    st.sampled_from(VALID),
    st.sampled_from(["", "templateName", "channel", "recipients", "status", "address"]),
    st.sampled_from(["", "channel", "length", "status", "kind", "extra", "recipients"]),
    json_values | st.sampled_from(["SMS", "EMAIL", "QUEUED", "TO", 3, True, [{"kind": "X"}]]),
)

CATALOG = Catalog.load(Path(__file__).resolve().parents[2] / "examples" / "catalog.json")


@pytest.mark.parametrize(
    ("integration", "scenario"),
    [
        ("notifications", "generate-otp"),
        ("notifications", "send-email"),
        ("documents", "generate-document"),
    ],
)
@settings(max_examples=60)
@given(data=st.data())
def test_validators_agree_with_bare_fastjsonschema(
    integration: str, scenario: str, data: st.DataObject
) -> None:
    """Our validators accept exactly what a bare fastjsonschema of their schema accepts."""
    found = CATALOG.integration(integration)
    for validator in scenario_validators(found, found.scenario(scenario)):
        bare = fastjsonschema.compile(validator.schema)
        payload = data.draw(
            nearly_valid | json_values | st.dictionaries(st.text(max_size=12), json_values)
        )
        try:
            bare(payload)
            accepted = True
        except fastjsonschema.JsonSchemaException:
            accepted = False
        assert accepted == validator.is_valid(payload)
        if not accepted:
            with pytest.raises(ValidationError):
                validator.validate(payload)


# Batches keep the order of one partition -------------------------------------------------


def backlog_app(kind: str, calls: list[str]) -> tuple[App, list[Any]]:
    """An app whose greet handler fails once for 'c', over a backlog written beforehand."""
    app = App(DEMO, retry=Retry(attempts=2, backoff=0.0))
    failed: set[str] = set()

    def greet(payload: dict[str, Any]) -> dict[str, Any]:
        name = payload["name"]
        calls.append(name)
        if name == "c" and name not in failed:
            failed.add(name)
            msg = "try again"
            raise ConnectionError(msg)
        return {"greeting": name}

    async def greet_async(payload: dict[str, Any]) -> dict[str, Any]:
        return greet(payload)

    app.handler(GREET)(greet if kind == "sync" else greet_async)
    transport = app.transport
    assert isinstance(transport, InMemoryTransport)
    written = [
        transport.broker.write(
            Record(
                GREET_OUT,
                key=b"one-key",
                value=json.dumps({"name": name}).encode(),
                headers=(("processInstanceId", b"7"),),
            )
        )
        for name in "abcde"
    ]
    return app, written


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_backlog_is_handled_in_order_with_a_retry_in_place(kind: str) -> None:
    """A failing request of a batch is retried before the next one; replies keep the order."""
    calls: list[str] = []
    app, written = backlog_app(kind, calls)
    with TestClient(app) as client:
        client.wait_handled(written[-1])
        replies = [json.loads(r.value)["greeting"] for r in client.replies(GREET)]
    assert (["a", "b", "c", "c", "d", "e"], list("abcde")) == (calls, replies)


# Backpressure: each partition has its share of the in-flight budget -----------------------


def test_a_partition_past_its_share_pauses_alone_and_resumes_at_half() -> None:
    """One partition holding its share is paused; the others keep fetching; half resumes it."""
    policy = Backpressure(max_in_flight=100, max_batch=10)
    busy, idle = TopicPartition(GREET_OUT, 0), TopicPartition(GREET_OUT, 1)
    assignment = {busy, idle}
    # Its share: 100 // 2 partitions.
    paused_when_full = policy.paused({busy: 50, idle: 0}, 50, assignment, set())
    paused_above_half = policy.paused({busy: 26, idle: 0}, 26, assignment, paused_when_full)
    resumed = policy.paused({busy: 25, idle: 0}, 25, assignment, paused_above_half)
    assert ({busy}, {busy}, set()) == (paused_when_full, paused_above_half, resumed)


def test_every_partition_pauses_past_the_whole_budget() -> None:
    """Past max_in_flight in all, every assigned partition pauses."""
    policy = Backpressure(max_in_flight=100, max_batch=10)
    tps = {TopicPartition(GREET_OUT, p) for p in range(4)}
    assert tps == policy.paused(dict.fromkeys(tps, 25), 100, tps, set())


def test_a_pause_of_every_partition_lasts_until_half_the_budget_is_done() -> None:
    """Paused in all, partitions stay paused above half of max_in_flight and resume at half."""
    policy = Backpressure(max_in_flight=100, max_batch=10)
    tps = {TopicPartition(GREET_OUT, p) for p in range(4)}
    policy.paused(dict.fromkeys(tps, 25), 100, tps, set())
    above_half = policy.paused(dict.fromkeys(tps, 13), 51, tps, tps)
    at_half = policy.paused(dict.fromkeys(tps, 12), 50, tps, tps)
    assert (tps, set()) == (above_half, at_half)
