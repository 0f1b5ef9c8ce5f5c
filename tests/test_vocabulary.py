"""The engine's vocabulary: one redact() that finds a secret in every form it takes."""

from __future__ import annotations

import json

from flowintegrations.vocabulary import REDACTED, encodable, redact

SECRET = 'tok"en\\ä-0123456789'


def test_redact_replaces_the_secret_as_it_is() -> None:
    """The plain secret is replaced by the one marker."""
    assert redact(f"token {SECRET} refused", [SECRET]) == f"token {REDACTED} refused"


def test_redact_replaces_the_json_escaped_form() -> None:
    """The secret as json.dumps writes it (quotes, backslashes, unicode escapes) is replaced."""
    assert redact(json.dumps({"jwt": SECRET}), [SECRET]) == '{"jwt": "<redacted>"}'


def test_redact_replaces_the_repr_form() -> None:
    """The secret as repr() writes it is replaced."""
    assert redact(f"bad token {SECRET!r}", [SECRET]) == "bad token '<redacted>'"


def test_redact_replaces_a_secret_cut_short_by_a_message() -> None:
    """A prefix of eight or more characters of a secret followed by '...' is replaced."""
    secret = "eyJhbGciOiJIUzI1NiJ9.payload.signature"
    assert redact(f"got '{secret[:20]}...' here", [secret]) == "got '<redacted>' here"


def test_redact_leaves_short_prefixes_alone() -> None:
    """Fewer than eight characters of a secret before '...' are not taken for it."""
    assert redact("value 'eyJh...'", ["eyJhbGciOiJIUzI1NiJ9"]) == "value 'eyJh...'"


def test_redact_without_secrets_returns_the_text() -> None:
    """No secret (or only empty ones): the text is unchanged."""
    assert redact("nothing to hide", ["", ""]) == "nothing to hide"


def test_encodable_escapes_lone_surrogates() -> None:
    """A lone surrogate becomes a backslash escape, so the text encodes as UTF-8."""
    assert (encodable("bad \ud800 key"), encodable("fine ä")) == ("bad \\ud800 key", "fine ä")


def test_redacted_has_one_home_and_the_old_import_path_is_an_alias() -> None:
    """validation.REDACTED is vocabulary's REDACTED, and not in validation's __all__."""
    from flowintegrations import validation  # noqa: PLC0415 - the old path under test

    assert (validation.REDACTED is REDACTED, "REDACTED" in validation.__all__) == (True, False)
