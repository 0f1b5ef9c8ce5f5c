"""Hypothesis helpers shared by the property tests: settings and models in context."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from flowintegrations import DataModel
from flowintegrations.model import FrozenDict
from flowintegrations.testing.strategies import data_models, integrations

PROPERTIES = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""Settings of the property tests over generated models: few, unhurried examples.

Models are nested structures, slow to generate on a loaded machine; nothing here is
about speed (that is bench/'s job), so there is no deadline and no too_slow check.
"""

Enumerations = dict[str, tuple[str, ...]]


@st.composite
def models_in_context(draw: st.DrawFn) -> tuple[DataModel, FrozenDict, Enumerations]:
    """A data model with the definitions and enumerations of a generated integration."""
    integration = draw(integrations(max_scenarios=1))
    enumerations = {e.name: e.values for e in integration.enumerations}
    model = draw(data_models(definitions=integration.definitions, enumerations=enumerations))
    return model, integration.definitions, enumerations
