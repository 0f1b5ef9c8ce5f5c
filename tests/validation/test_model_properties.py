"""Properties that hold for every data model: model -> schema -> validate."""

from __future__ import annotations

import copy
import json

from hypothesis import given
from hypothesis import strategies as st

from flowintegrations import DataModel, ValidationError
from flowintegrations.model import FrozenDict
from flowintegrations.model.wire import converter
from flowintegrations.testing.strategies import (
    headers,
    integrations,
    invalid_payloads,
    payloads,
)
from flowintegrations.validation import (
    decode_headers,
    to_json_schema,
    validation_schema,
    validator_for,
)
from support.generated import PROPERTIES, Enumerations, models_in_context

Context = tuple[DataModel, FrozenDict, Enumerations]


def rebuilt(model: DataModel) -> DataModel:
    """An equal but separately built copy of ``model``, through catalog JSON text."""
    text = json.dumps(converter.unstructure(model, DataModel))
    return converter.structure(json.loads(text), DataModel)


@PROPERTIES
@given(st.data())
def test_generated_payloads_always_validate(data: st.DataObject) -> None:
    """For every model, every payload drawn by payloads() validates and is left unchanged."""
    model, definitions, enumerations = data.draw(models_in_context())
    payload = data.draw(payloads(model, definitions=definitions, enumerations=enumerations))
    before = copy.deepcopy(payload)
    validator_for(model, definitions, enumerations).validate(payload)
    assert payload == before


@PROPERTIES
@given(st.data())
def test_invalid_payloads_fail_with_exactly_the_promised_violation(data: st.DataObject) -> None:
    """For every model, invalid_payloads() fails with exactly its one expected violation."""
    model, definitions, enumerations = data.draw(models_in_context())
    strategy = invalid_payloads(model, definitions=definitions, enumerations=enumerations)
    payload, expected = data.draw(strategy)
    validator = validator_for(model, definitions, enumerations)
    try:
        validator.validate(payload)
    except ValidationError as error:
        actual = [(v.path, v.rule) for v in error.violations]
    else:
        actual = []
    assert actual == [(expected.path, expected.rule)]


@PROPERTIES
@given(st.data())
def test_fast_and_slow_paths_agree(data: st.DataObject) -> None:
    """The compiled check rejects a payload exactly when the walk finds violations."""
    model, definitions, enumerations = data.draw(models_in_context())
    validator = validator_for(model, definitions, enumerations)
    valid = data.draw(payloads(model, definitions=definitions, enumerations=enumerations))
    invalid, _ = data.draw(
        invalid_payloads(model, definitions=definitions, enumerations=enumerations)
    )
    actual = [(validator.is_valid(p), validator.violations(p) == ()) for p in (valid, invalid)]
    assert actual == [(True, True), (False, False)]


@PROPERTIES
@given(models_in_context())
def test_schema_generation_is_deterministic(context: Context) -> None:
    """An equal, separately built model gives byte-identical schemas, both flavours."""
    model, definitions, enumerations = context
    twin = rebuilt(model)
    twin_definitions = FrozenDict({name: rebuilt(m) for name, m in definitions.items()})
    actual = [
        json.dumps(schema(twin, twin_definitions, dict(enumerations)))
        for schema in (to_json_schema, validation_schema)
    ]
    expected = [
        json.dumps(schema(model, definitions, enumerations))
        for schema in (to_json_schema, validation_schema)
    ]
    assert actual == expected


@PROPERTIES
@given(st.data())
def test_generated_headers_pass_the_scenario_checks(data: st.DataObject) -> None:
    """For every scenario, headers() draws header sets its checks accept, as UTF-8 bytes."""
    integration = data.draw(integrations().filter(lambda i: bool(i.scenarios)))
    scenario = data.draw(st.sampled_from(integration.scenarios))
    drawn = data.draw(headers(scenario))
    raw = [(name, value.encode("utf-8")) for name, value in drawn.items()]
    assert decode_headers(raw, scenario.headers) == drawn
