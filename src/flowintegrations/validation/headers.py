"""Header checks: mandatory headers present, every value UTF-8."""

from __future__ import annotations

from collections.abc import Iterable

from flowintegrations.errors import ValidationError
from flowintegrations.model import Header, json_path_step
from flowintegrations.validation.violations import Violation
from flowintegrations.vocabulary import REDACTED, UNREADABLE_HEADERS

__all__ = ["decode_headers"]


def decode_headers(
    raw: Iterable[tuple[str, bytes | str]], declared: Iterable[Header] = ()
) -> dict[str, str]:
    """Decode header values and check them against the ``declared`` headers.

    Values may be ``str`` or UTF-8 ``bytes``; a later header of the same name wins. Raises
    :class:`ValidationError` (subject ``headers``) listing every header that is not valid
    UTF-8 and every mandatory header that is missing. Values of secret headers never appear
    in a violation.
    """
    declared = tuple(declared)
    secret = {h.name for h in declared if h.secret}
    decoded: dict[str, str] = {}
    problems: list[Violation] = []
    for name, value in raw:
        if name == UNREADABLE_HEADERS:
            # Nothing else is known of the headers: not even which are missing.
            violation = Violation("$", "encoding", "cannot be read: a header name is not UTF-8")
            raise ValidationError([violation], subject="headers")
        if isinstance(value, str):
            decoded[name] = value
            continue
        try:
            decoded[name] = value.decode("utf-8")
        except (UnicodeDecodeError, AttributeError):
            shown = REDACTED if name in secret else value
            problems.append(
                Violation(
                    f"${json_path_step(name)}",
                    "encoding",
                    "is not valid UTF-8" if isinstance(value, bytes) else "is not bytes or str",
                    shown,
                )
            )
    for header in declared:
        if header.mandatory and header.name not in decoded:
            bad = any(v.path == f"${json_path_step(header.name)}" for v in problems)
            if not bad:
                problems.append(
                    Violation(
                        f"${json_path_step(header.name)}", "required", "is mandatory but missing"
                    )
                )
    if problems:
        raise ValidationError(problems, subject="headers")
    return decoded
