"""JsonCodec: strict JSON in, compact JSON out, every refusal worded with what and where."""

from __future__ import annotations

import concurrent.futures
import json

import pytest
from hypothesis import given

from flowintegrations.codec import JsonCodec
from flowintegrations.errors import CodecError
from support.jsonvalues import json_values


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1e400", "value is not JSON: number 1e400 at line 1, column 1 is out of range"),
        ('{"n": 1e400}', "value is not JSON: number 1e400 at line 1, column 7 is out of range"),
        ('{"n": -1e400}', "value is not JSON: number -1e400 at line 1, column 7 is out of range"),
        (
            '{"a": [1, {"b": [2.5, 9.9E999]}]}',
            "value is not JSON: number 9.9E999 at line 1, column 23 is out of range",
        ),
        (
            '{"1e400": "1e400",\n "x": 1e400}',
            "value is not JSON: number 1e400 at line 2, column 7 is out of range",
        ),
        (" [1e400] ", "value is not JSON: number 1e400 at line 1, column 3 is out of range"),
        (
            "1" * 400 + ".0",
            f"value is not JSON: number {'1' * 400}.0 at line 1, column 1 is out of range",
        ),
    ],
    ids=["top", "member", "negative", "nested", "after-strings", "whitespace", "long-mantissa"],
)
def test_a_number_out_of_float_range_is_refused_with_where(text: str, message: str) -> None:
    """A number literal that overflows a float is a CodecError saying which and where."""
    with pytest.raises(CodecError) as raised:
        JsonCodec().decode(text.encode())
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e308", 1e308),
        ("1e-400", 0.0),
        ("-0.0", -0.0),
        ("1" * 400, int("1" * 400)),
        ('{"s": "1e400"}', {"s": "1e400"}),
    ],
    ids=["largest-decade", "underflow", "negative-zero", "big-integer", "in-a-string"],
)
def test_finite_numbers_and_strings_that_look_like_numbers_still_decode(
    text: str, value: object
) -> None:
    """Big but finite numbers, underflow to zero, exact integers and strings are accepted."""
    assert JsonCodec().decode(text.encode()) == value


@given(json_values)
def test_encode_writes_what_json_dumps_writes_compactly(value: object) -> None:
    """The C encoder made once writes byte for byte what json.dumps writes, and it decodes."""
    expected = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    encoded = JsonCodec().encode(value)
    assert encoded == expected.encode("utf-8")
    assert JsonCodec().decode(encoded) == value


def test_encode_keeps_other_alphabets_as_utf8() -> None:
    """Non-ASCII text is written as UTF-8 bytes, not as escapes."""
    assert JsonCodec().encode({"nume": "Ștefan", "n": [1, 2.5, None, True]}) == (
        '{"nume":"Ștefan","n":[1,2.5,null,true]}'.encode()
    )


def _containing_itself() -> object:
    value: dict[str, object] = {"a": 1}
    value["self"] = [value]
    return value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (_containing_itself(), "cannot encode the value as JSON: Circular reference detected"),
        (
            {"tags": {"a"}},
            "cannot encode the value as JSON: Object of type set is not JSON serializable",
        ),
        (
            [1.0, float("inf")],
            "cannot encode the value as JSON: Out of range float values are not JSON compliant",
        ),
        (
            {"s": "\ud800"},
            "cannot encode the value as JSON: 'utf-8' codec can't encode character '\\ud800' "
            "in position 6: surrogates not allowed",
        ),
    ],
    ids=["contains-itself", "a-set", "infinity", "lone-surrogate"],
)
def test_a_value_that_is_not_json_is_refused_saying_why(value: object, message: str) -> None:
    """Every refusal is a CodecError worded as json words it (a cycle too, not a RecursionError)."""
    codec = JsonCodec()
    with pytest.raises(CodecError) as raised:
        codec.encode(value)
    assert str(raised.value) == message
    assert codec.encode({"after": "a refusal"}) == b'{"after":"a refusal"}'


def test_threads_share_one_codec() -> None:
    """One codec encodes the same value in many threads at once (no cycle-check state)."""
    codec = JsonCodec()
    shared = {"otpId": "otp-1", "items": [{"n": n} for n in range(50)]}
    expected = json.dumps(shared, separators=(",", ":")).encode()

    def encode_many(_: int) -> set[bytes]:
        return {codec.encode(shared) for _ in range(2000)}

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = set().union(*pool.map(encode_many, range(8)))
    assert results == {expected}
