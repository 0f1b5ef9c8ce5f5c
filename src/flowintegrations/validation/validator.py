"""Compiled validators: one fastjsonschema call on the happy path, every violation otherwise.

The happy path is the compiled function and nothing else. Only when it rejects a payload
does :meth:`Validator.violations` run the payload walker
(:mod:`flowintegrations.validation.walker`) over the same model to collect *every*
violation with an exact JSON path (fastjsonschema's own error names are dotted strings
that become ambiguous as soon as a key contains a dot or a bracket).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, NoReturn

import fastjsonschema

from flowintegrations.errors import ValidationError
from flowintegrations.model import DataModel, FrozenDict, Integration, Scenario
from flowintegrations.validation.schema import Enumerations, validation_schema
from flowintegrations.validation.violations import Violation
from flowintegrations.validation.walker import Scope, model_violations

__all__ = ["Validator", "scenario_validators", "validator_for"]


def _refuse_remote(uri: str) -> NoReturn:
    msg = f"remote $ref {uri!r} is never fetched"
    raise ValueError(msg)


_NO_REMOTE = {"http": _refuse_remote, "https": _refuse_remote, "file": _refuse_remote}


class Validator:
    """A data model compiled for validation. Build it once (see :func:`validator_for`)."""

    __slots__ = ("_fast", "_scope", "model", "schema", "subject")

    def __init__(
        self,
        model: DataModel,
        definitions: Mapping[str, DataModel] | None = None,
        enumerations: Enumerations | None = None,
        *,
        subject: str = "payload",
    ) -> None:
        self.model = model
        self.subject = subject
        self.schema = validation_schema(model, definitions, enumerations)
        self._scope = Scope(dict(definitions or {}), dict(enumerations or {}))
        # Every option explicit: no default-filling, no formats, no remote refs, and the
        # first error is enough because the slow path below reports all of them.
        self._fast = fastjsonschema.compile(
            self.schema,
            handlers=_NO_REMOTE,
            formats={},
            use_default=False,
            use_formats=False,
            detailed_exceptions=False,
            fast_fail=True,
        )

    def validate(self, payload: Any) -> None:
        """Return if ``payload`` is valid, else raise :class:`ValidationError` (every violation)."""
        try:
            self._fast(payload)
        except fastjsonschema.JsonSchemaException as exc:
            self._fail(payload, exc)

    def is_valid(self, payload: Any) -> bool:
        """Whether ``payload`` is valid (the compiled check alone)."""
        try:
            self._fast(payload)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    def violations(self, payload: Any) -> tuple[Violation, ...]:
        """Every violation in ``payload`` (empty when it is valid)."""
        return model_violations(self.model, payload, self._scope)

    def _fail(self, payload: Any, exc: fastjsonschema.JsonSchemaException) -> NoReturn:
        found = self.violations(payload)
        if not found:  # the two paths disagree: never let a rejected payload pass silently
            found = (Violation("$", getattr(exc, "rule", None) or "schema", str(exc), None),)
        raise ValidationError(found, subject=self.subject) from None


@functools.lru_cache(maxsize=4096)
def _cached(
    model: DataModel, definitions: FrozenDict | None, enumerations: FrozenDict | None
) -> Validator:
    return Validator(model, definitions, enumerations)


def validator_for(
    model: DataModel,
    definitions: Mapping[str, DataModel] | None = None,
    enumerations: Enumerations | None = None,
) -> Validator:
    """The compiled :class:`Validator` for ``model``, built once and cached per arguments."""
    values = None
    if enumerations:
        # Values may come as lists; the cache key needs them hashable.
        values = FrozenDict({name: tuple(v) for name, v in enumerations.items()})
    return _cached(model, None if not definitions else _frozen(definitions), values)


def _frozen(mapping: Mapping[str, Any]) -> FrozenDict:
    return mapping if isinstance(mapping, FrozenDict) else FrozenDict(mapping)


def scenario_validators(
    integration: Integration, scenario: Scenario
) -> tuple[Validator, Validator]:
    """The (request, reply) validators of ``scenario``: its output and its input model.

    Definitions and enumerations come from ``integration``.
    """
    enumerations = FrozenDict({e.name: e.values for e in integration.enumerations})
    request = validator_for(scenario.output_model, integration.definitions, enumerations)
    reply = validator_for(scenario.input_model, integration.definitions, enumerations)
    return request, reply
