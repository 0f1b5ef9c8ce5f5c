"""Hypothesis strategies generated from data models, for adapter tests and property tests.

``payloads(model)`` draws payloads that validate against ``model``; ``invalid_payloads(model)``
draws payloads that break it in exactly one place, each with the violation it must produce;
``headers(scenario)`` draws header sets a scenario accepts. Each takes the integration the
model belongs to (``payloads(model, integration=crm)``, or ``payloads(scenario, crm)`` for a
scenario's request), which resolves its references and named enumerations.
``data_models``, ``integrations`` and ``catalogs`` draw valid structures, for testing code
that works on *any* model::

    from hypothesis import given
    from flowintegrations.testing.strategies import payloads

    @given(payloads(OTP.output_model))
    def test_handler_accepts_every_valid_request(payload):
        assert handle(payload) is not None

This is the public module; the strategies live in
:mod:`~flowintegrations.testing.payload_strategies` (payloads and headers) and
:mod:`~flowintegrations.testing.model_strategies` (declarations). Hypothesis is a test
dependency: import this module from tests only.
"""

from flowintegrations.testing.model_strategies import catalogs, data_models, integrations
from flowintegrations.testing.payload_strategies import (
    ENGINE_HEADERS,
    ExpectedViolation,
    headers,
    invalid_payloads,
    payloads,
)

__all__ = [
    "ENGINE_HEADERS",
    "ExpectedViolation",
    "catalogs",
    "data_models",
    "headers",
    "integrations",
    "invalid_payloads",
    "payloads",
]
