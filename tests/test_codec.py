"""JsonCodec: strict JSON in, compact JSON out, every refusal worded with what and where."""

from __future__ import annotations

import pytest

from flowintegrations.codec import JsonCodec
from flowintegrations.errors import CodecError


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
