"""Catalog.diff: every rule of the table, the processes a breaking change affects, properties."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowintegrations.model import (
    Catalog,
    DataModel,
    Enumeration,
    Header,
    Impact,
    Integration,
    Property,
    PropertyType,
    Scenario,
    TopicBinding,
)
from flowintegrations.model.diff import RULES
from flowintegrations.testing.strategies import catalogs

S, N, E = PropertyType.STRING, PropertyType.NUMBER, PropertyType.ENUM
TOPICS = (TopicBinding("out.a", "in.a"),)


def closed(*properties: Property) -> DataModel:
    """A model that forbids properties it does not declare."""
    return DataModel(properties, additional_properties=False)


def catalog(**scenario: Any) -> Catalog:
    """A catalog of one integration with one scenario ``s`` used by process ``p1``."""
    enumerations = scenario.pop("enumerations", ())
    system = scenario.pop("system_name", None)
    scenario.setdefault("topics", TOPICS)
    found = Scenario("S", "s", used_by=("p1",), **scenario)
    return Catalog(
        [Integration("I", "i", scenarios=[found], enumerations=enumerations, system_name=system)]
    )


def model(*properties: Property) -> DataModel:
    """An open model (the default: other properties allowed)."""
    return DataModel(properties)


def prop(name: str, kind: PropertyType = S, **options: Any) -> Property:
    """A property; ENUMs get values ``a``, ``b`` unless given."""
    if kind is E and "enum" not in options and "enumeration" not in options:
        options["enum"] = ("a", "b")
    return Property(name, kind, **options)


OPTIONAL = prop("x")
MANDATORY = prop("x", mandatory=True)
COUNTRY = Enumeration("c", ["RO", "DE"], codes={"CRM": {"RO": "1", "DE": "2"}})
RECODED = Enumeration("c", ["RO", "DE"], codes={"CRM": {"RO": "1", "DE": "3"}})

# rule -> (old catalog, new catalog); each pair differs by exactly that one change.
CASES: dict[str, tuple[Catalog, Catalog]] = {
    "integration-removed": (catalog(), Catalog()),
    "integration-added": (Catalog(), catalog()),
    "scenario-removed": (catalog(), Catalog([Integration("I", "i")])),
    "scenario-added": (Catalog([Integration("I", "i")]), catalog()),
    "topic-changed": (catalog(), catalog(topics=[TopicBinding("out.b", "in.a")])),
    "binding-removed": (
        catalog(topics=[*TOPICS, TopicBinding("out.d", "in.d", environment="dev")]),
        catalog(),
    ),
    "binding-added": (
        catalog(),
        catalog(topics=[*TOPICS, TopicBinding("out.d", "in.d", environment="dev")]),
    ),
    "header-added-mandatory": (catalog(headers=()), catalog(headers=[Header("h", mandatory=True)])),
    "header-made-mandatory": (
        catalog(headers=[Header("h")]),
        catalog(headers=[Header("h", mandatory=True)]),
    ),
    "header-added-optional": (catalog(headers=()), catalog(headers=[Header("h")])),
    "header-removed": (catalog(headers=[Header("h")]), catalog(headers=())),
    "error-reply-dropped": (
        catalog(error_reply=True, input_model=model(prop("error"))),
        catalog(input_model=model(prop("error"))),
    ),
    "error-reply-added": (
        catalog(input_model=model(prop("error"))),
        catalog(error_reply=True, input_model=model(prop("error"))),
    ),
    "codes-changed": (
        catalog(enumerations=[COUNTRY], system_name="CRM"),
        catalog(enumerations=[RECODED], system_name="CRM"),
    ),
}
for where, key in (("request", "output_model"), ("reply", "input_model")):
    CASES.update(
        {
            f"{where}-property-added-mandatory": (catalog(), catalog(**{key: model(MANDATORY)})),
            f"{where}-property-added-optional": (catalog(), catalog(**{key: model(OPTIONAL)})),
            f"{where}-property-added-optional-closed": (
                catalog(**{key: closed()}),
                catalog(**{key: closed(OPTIONAL)}),
            ),
            f"{where}-property-removed": (catalog(**{key: model(OPTIONAL)}), catalog()),
            f"{where}-property-removed-closed": (
                catalog(**{key: closed(OPTIONAL)}),
                catalog(**{key: closed()}),
            ),
            f"{where}-property-made-mandatory": (
                catalog(**{key: model(OPTIONAL)}),
                catalog(**{key: model(MANDATORY)}),
            ),
            f"{where}-property-made-optional": (
                catalog(**{key: model(MANDATORY)}),
                catalog(**{key: model(OPTIONAL)}),
            ),
            f"{where}-type-narrowed": (
                catalog(**{key: model(prop("x"))}),
                catalog(**{key: model(prop("x", E))}),
            ),
            f"{where}-type-widened": (
                catalog(**{key: model(prop("x", E))}),
                catalog(**{key: model(prop("x"))}),
            ),
            f"{where}-type-changed": (
                catalog(**{key: model(prop("x"))}),
                catalog(**{key: model(prop("x", N))}),
            ),
            f"{where}-enum-value-removed": (
                catalog(**{key: model(prop("x", E))}),
                catalog(**{key: model(prop("x", E, enum=("a",)))}),
            ),
            f"{where}-enum-value-added": (
                catalog(**{key: model(prop("x", E))}),
                catalog(**{key: model(prop("x", E, enum=("a", "b", "c")))}),
            ),
            f"{where}-closed": (catalog(), catalog(**{key: closed()})),
            f"{where}-opened": (catalog(**{key: closed()}), catalog()),
        }
    )


def test_every_rule_has_a_case() -> None:
    """The table of rules and the cases below cover each other exactly."""
    assert sorted(CASES) == sorted(RULES)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_rule_is_reported_with_its_impact(rule: str) -> None:
    """A change of one kind is reported once, under its rule, with the table's impact."""
    old, new = CASES[rule]
    (change,) = old.diff(new).changes
    assert (change.rule, change.engine, change.adapter) == (rule, *RULES[rule][:2])


def test_the_issue_examples_are_classified_as_documented() -> None:
    """The examples of the issue: who each one breaks."""
    expected = {
        "request-property-added-mandatory": (Impact.BREAKING, Impact.COMPATIBLE),
        "reply-property-removed": (Impact.BREAKING, Impact.COMPATIBLE),
        "request-type-narrowed": (Impact.BREAKING, Impact.COMPATIBLE),
        "request-enum-value-removed": (Impact.BREAKING, Impact.COMPATIBLE),
        "request-property-added-optional": (Impact.COMPATIBLE, Impact.COMPATIBLE),
        "topic-changed": (Impact.BREAKING, Impact.BREAKING),
    }
    assert {rule: RULES[rule][:2] for rule in expected} == expected


def test_a_breaking_change_names_the_processes_that_use_the_scenario() -> None:
    """The scenario's usedBy, old and new together, lists the affected processes."""
    old = catalog()
    scenario = Scenario("S", "s", topics=TOPICS, output_model=model(MANDATORY), used_by=["p2"])
    new = Catalog([Integration("I", "i", scenarios=[scenario])])
    difference = old.diff(new)
    assert (difference.breaking[0].used_by, difference.affected_processes) == (
        ("p1", "p2"),
        ("p1", "p2"),
    )


def test_a_change_inside_a_definition_has_the_path_through_the_reference() -> None:
    """References are followed: a property of a definition is reported where it is used."""
    address = DataModel([prop("city")])
    stricter = DataModel([prop("city", mandatory=True)])
    uses = model(prop("home", PropertyType.ARRAY_REF, ref="Address"))

    def with_address(definition: DataModel) -> Catalog:
        scenario = Scenario("S", "s", topics=TOPICS, output_model=uses)
        return Catalog(
            [Integration("I", "i", scenarios=[scenario], definitions={"Address": definition})]
        )

    (change,) = with_address(address).diff(with_address(stricter)).changes
    assert (change.where, change.path, change.rule) == (
        "request",
        "$.home[*].city",
        "request-property-made-mandatory",
    )


def test_text_report_names_scenario_processes_and_sides() -> None:
    """The text report: one block per scenario, then a summary with the affected processes."""
    report = catalog().diff(catalog(output_model=model(MANDATORY))).render()
    assert report == (
        "i/s (used by p1)\n"
        "  BREAKING for the engine: request $.x: new mandatory property (STRING) "
        "[request-property-added-mandatory]\n"
        "1 change(s), 1 breaking; processes affected: p1\n"
    )


def test_json_report_spells_keys_like_the_catalog() -> None:
    """The JSON report has one object per change, usedBy in the catalog's spelling."""
    report = catalog().diff(catalog(output_model=model(OPTIONAL))).to_json()
    assert report == {
        "breaking": False,
        "affectedProcesses": [],
        "changes": [
            {
                "integration": "i",
                "scenario": "s",
                "where": "request",
                "path": "$.x",
                "rule": "request-property-added-optional",
                "message": "new optional property (STRING)",
                "engine": "compatible",
                "adapter": "compatible",
                "breaking": False,
                "usedBy": ["p1"],
            }
        ],
    }


@settings(max_examples=50, deadline=None)
@given(catalogs())
def test_a_catalog_has_no_changes_against_itself(found: Catalog) -> None:
    """diff(c, c) is empty for every catalog."""
    assert found.diff(found).changes == ()


@settings(max_examples=50, deadline=None)
@given(catalogs(max_integrations=1), st.data())
def test_a_new_mandatory_request_property_is_always_breaking(
    found: Catalog, data: st.DataObject
) -> None:
    """Adding a mandatory request property to any scenario is reported as breaking."""
    scenarios = [s for i in found.integrations for s in i.scenarios]
    if not scenarios:
        found = catalog()
        scenarios = list(found.integrations[0].scenarios)
    target = data.draw(st.sampled_from(scenarios))
    taken = {p.name for p in target.output_model.properties}
    name = next(f"added{n}" for n in range(len(taken) + 1) if f"added{n}" not in taken)
    added = prop(name, mandatory=True)
    changed = attrs.evolve(
        target,
        output_model=attrs.evolve(
            target.output_model, properties=(*target.output_model.properties, added)
        ),
    )
    integration = found.integrations[0]
    new = Catalog(
        [
            attrs.evolve(
                integration,
                scenarios=[changed if s is target else s for s in integration.scenarios],
            )
        ]
    )
    breaking = found.diff(new).breaking
    assert [(c.scenario, c.path, c.rule) for c in breaking] == [
        (target.identifier, f"$.{name}", "request-property-added-mandatory")
    ]


def test_the_docs_table_lists_every_rule_as_in_the_code() -> None:
    """docs/asyncapi-and-diff.md's table of rules is RULES, row for row."""
    page = Path(__file__).resolve().parents[2] / "docs" / "asyncapi-and-diff.md"
    section = page.read_text(encoding="utf-8").split("### The rules")[1].split("\n## ")[0]
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("| `")
    ]
    assert rows == [
        [f"`{rule}`", when, engine.value, adapter.value]
        for rule, (engine, adapter, when) in RULES.items()
    ]
