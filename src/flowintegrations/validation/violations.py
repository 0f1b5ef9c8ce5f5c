"""What a failed validation reports: :class:`Violation`."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["Violation"]


@attrs.frozen
class Violation:
    """One way a payload breaks its model.

    ``path`` is a JSON path (``$.recipients[2].email``; keys that are not identifiers are
    quoted: ``$['e-mail']``), ``rule`` the JSON Schema keyword broken (``type``,
    ``required``, ``enum``, ``additionalProperties``, ...), ``message`` a sentence, and
    ``value`` the offending value (``None`` for a missing one).
    """

    path: str
    rule: str
    message: str
    value: Any = None

    def to_json(self) -> dict[str, Any]:
        """This violation as JSON data (the value is left out: it may be large or private)."""
        return {"path": self.path, "rule": self.rule, "message": self.message}
