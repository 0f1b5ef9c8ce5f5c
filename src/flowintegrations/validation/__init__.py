"""The validation engine: data model -> JSON Schema -> compiled validator, and header checks."""

from flowintegrations.validation.codes import CodeTranslator, enumeration_values, translator_for
from flowintegrations.validation.examples import DEFAULT_EXAMPLE_HEADERS, example_problems
from flowintegrations.validation.headers import decode_headers
from flowintegrations.validation.schema import (
    DRAFT_07,
    Enumerations,
    to_json_schema,
    used_definitions,
    validation_schema,
)
from flowintegrations.validation.validator import Validator, scenario_validators, validator_for
from flowintegrations.validation.violations import Violation

__all__ = [
    "DEFAULT_EXAMPLE_HEADERS",
    "DRAFT_07",
    "CodeTranslator",
    "Enumerations",
    "Validator",
    "Violation",
    "decode_headers",
    "enumeration_values",
    "example_problems",
    "scenario_validators",
    "to_json_schema",
    "translator_for",
    "used_definitions",
    "validation_schema",
    "validator_for",
]


def __getattr__(name: str) -> object:
    """The old import path of ``REDACTED``, whose one home is :mod:`flowintegrations.vocabulary`."""
    if name == "REDACTED":
        from flowintegrations import vocabulary  # noqa: PLC0415 - only for the old path

        return vocabulary.REDACTED
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
