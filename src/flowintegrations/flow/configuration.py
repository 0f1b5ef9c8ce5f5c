"""A service's settings, filled in by the Flow builder: :class:`Configuration`.

``FlowService(app, configuration=DataModel(...))`` declares them. The describe answer lists
each top-level property as a DescribeValue of ``configurationValues`` (STRING and ENUM as
``ContentString``, a secret as ``ContentPassword``, NUMBER as ``ContentNumber``, BOOLEAN as
``ContentBoolean``; ``required`` from ``mandatory``); the engine then posts the values
filled in as ``configurationValues: [EngineValue]`` on every request, and each request's
are read here: typed by the model (``"5432"`` on a NUMBER is ``5432``), a missing required
one or one of the wrong type a 400 naming it. Handlers get them as
:class:`ConfigurationValues`: ``ctx.configuration`` in a message action, and
``request.configuration_values`` in a data or file handler.

Secrets. A property is secret when it is named in ``secret`` or its name contains
``password`` or ``secret`` (any case). Its value is never in a repr
(:class:`ConfigurationValues` shows ``<redacted>``), never in an error message of ours
(a bad secret is named, never shown), and is removed from the answer's message when a
handler's own error quotes it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

import attrs

from flowintegrations.flow.types import ContentType
from flowintegrations.model import DataModel, Property, PropertyType, json_path_step
from flowintegrations.runtime.context import NO_CONFIGURATION
from flowintegrations.validation import Violation
from flowintegrations.vocabulary import REDACTED

__all__ = ["NO_CONFIGURATION", "Configuration", "ConfigurationError", "ConfigurationValues"]

_SECRET_NAME = re.compile(r"password|secret", re.IGNORECASE)
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_CONTENT_TYPES = {
    PropertyType.STRING: ContentType.STRING,
    PropertyType.ENUM: ContentType.STRING,
    PropertyType.NUMBER: ContentType.NUMBER,
    PropertyType.BOOLEAN: ContentType.BOOLEAN,
}


class ConfigurationError(ValueError):
    """The configuration values of a request do not fit the declared settings (a 400).

    ``violations`` name each setting at fault (``$.configurationValues.<name>``); no
    message ever shows a secret's value.
    """

    def __init__(self, violations: tuple[Violation, ...]) -> None:
        self.violations = violations
        super().__init__(
            "the service's configuration values are not as declared: "
            + "; ".join(v.message for v in violations)
        )


class ConfigurationValues(Mapping[str, Any]):
    """One request's configuration values by name, typed; the repr hides the secret ones."""

    __slots__ = ("_secret", "_values")

    def __init__(self, values: Mapping[str, Any], secret: Collection[str] = ()) -> None:
        self._values = dict(values)
        self._secret = frozenset(secret)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    @property
    def secret_values(self) -> tuple[str, ...]:
        """The values of the secret settings (to redact from what is shown)."""
        return tuple(
            str(v) for k, v in self._values.items() if k in self._secret and v not in (None, "")
        )

    def __repr__(self) -> str:
        shown = {k: (REDACTED if k in self._secret else v) for k, v in self._values.items()}
        return f"ConfigurationValues({shown!r})"


def looks_secret(name: str, content_type: object = None) -> bool:
    """Whether a configuration value named ``name`` is hidden even when nobody declared it.

    A value Flow sends as ``ContentPassword`` (in any case), or whose name contains
    ``password`` or ``secret``, is never shown.
    """
    is_password = isinstance(content_type, str) and content_type.lower() == "contentpassword"
    return is_password or _SECRET_NAME.search(name) is not None


def _names(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


@attrs.frozen
class Configuration:
    """The settings a service declares (``model``), and reading them from a request.

    Raises ``ValueError`` at construction for a property that is not a STRING, NUMBER,
    BOOLEAN or ENUM: a setting is one value.
    """

    model: DataModel
    secret: frozenset[str] = attrs.field(default=frozenset(), converter=_names)

    def __attrs_post_init__(self) -> None:
        for prop in self.model.properties:
            if prop.type not in _CONTENT_TYPES:
                msg = (
                    f"configuration property {prop.name!r} is {prop.type.value}: a setting is "
                    "a STRING, NUMBER, BOOLEAN or ENUM"
                )
                raise ValueError(msg)
        named = {p.name for p in self.model.properties}
        secret = {p.name for p in self.model.properties if _SECRET_NAME.search(p.name)}
        object.__setattr__(self, "secret", frozenset((self.secret & named) | secret))

    def content_type(self, prop: Property) -> ContentType:
        """How Flow shows ``prop``: ``ContentPassword`` for a secret."""
        if prop.name in self.secret:
            return ContentType.PASSWORD
        return _CONTENT_TYPES[prop.type]

    def describe(self) -> list[dict[str, Any]]:
        """The ``configurationValues`` of the describe answer (DescribeValues)."""
        return [
            {
                "developerName": prop.name,
                "contentType": self.content_type(prop).value,
                "contentValue": None,
                "typeElementDeveloperName": None,
                "required": prop.mandatory,
                "isRequired": prop.mandatory,
                "ordinal": ordinal,
                "order": ordinal,
            }
            for ordinal, prop in enumerate(self.model.properties)
        ]

    def read(self, body: Mapping[str, Any]) -> ConfigurationValues:
        """The typed values of a request's ``configurationValues``.

        Unknown names are ignored; ``""`` or null is absent. Raises
        :class:`ConfigurationError` naming every setting missing (when required) or of the
        wrong type.
        """
        sent: dict[str, Any] = {}
        values = body.get("configurationValues")
        if isinstance(values, list):
            for value in values:
                if isinstance(value, dict) and isinstance(value.get("developerName"), str):
                    sent[value["developerName"]] = value.get("contentValue")
        found: dict[str, Any] = {}
        problems: list[Violation] = []
        for prop in self.model.properties:
            raw = sent.get(prop.name)
            path = "$.configurationValues" + json_path_step(prop.name)
            if raw is None or raw == "":
                if prop.mandatory:
                    message = f"{prop.name!r} is required (a setting of the service in Flow)"
                    problems.append(Violation(path, "required", message))
                continue
            value, problem = self._typed(prop, raw)
            if problem:
                problems.append(Violation(path, "contentValue", problem))
            else:
                found[prop.name] = value
        if problems:
            raise ConfigurationError(tuple(problems))
        return ConfigurationValues(found, self.secret)

    def _typed(self, prop: Property, raw: Any) -> tuple[Any, str]:
        """(value, "") or (None, why not); a secret's value is never in the why."""
        shown = "its value" if prop.name in self.secret else repr(raw)[:100]
        if not isinstance(raw, str):
            return None, f"{prop.name!r} must be text, got {type(raw).__name__}"
        if prop.type is PropertyType.NUMBER:
            text = raw.strip()
            if _NUMBER.fullmatch(text):
                if _INTEGER.fullmatch(text):
                    return int(text), ""
                number = float(text)
                if math.isfinite(number):
                    return number, ""
            return None, f"{prop.name!r} is a number; {shown} is not"
        if prop.type is PropertyType.BOOLEAN:
            if raw.lower() in ("true", "false"):
                return raw.lower() == "true", ""
            return None, f"{prop.name!r} is 'true' or 'false'; {shown} is neither"
        if prop.type is PropertyType.ENUM and raw not in prop.enum:
            allowed = ", ".join(repr(v) for v in prop.enum)
            return None, f"{prop.name!r} is one of {allowed}; {shown} is not"
        return raw, ""
