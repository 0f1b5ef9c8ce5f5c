"""Scenario, Enumeration and Integration: identifiers, references and cross-checks."""

from __future__ import annotations

import attrs
import pytest

from flowintegrations import (
    CatalogError,
    DataModel,
    Header,
    Integration,
    Property,
    Scenario,
    TopicBinding,
)
from flowintegrations.errors import CatalogProblem
from flowintegrations.model import Enumeration, FrozenDict
from support.exact import exactly

ADDRESS = DataModel([Property.string("street", mandatory=True), Property.string("city")])


def scenario_with(*properties: Property, identifier: str = "s") -> Scenario:
    """A scenario whose output model holds ``properties``."""
    return Scenario("S", identifier, output_model=DataModel(properties))


# Scenario ---------------------------------------------------------------------------------


def test_scenario_defaults() -> None:
    """A scenario has no topics, empty models, a mandatory processInstanceId, no error reply."""
    scenario = Scenario("Generate OTP", "generate-otp")
    expected = ((), DataModel(), DataModel(), (Header("processInstanceId", mandatory=True),))
    actual = (scenario.topics, scenario.input_model, scenario.output_model, scenario.headers)
    assert (expected, False, "") == (actual, scenario.error_reply, scenario.description)


def test_scenario_options_are_keyword_only() -> None:
    """Only name and identifier are positional."""
    with pytest.raises(TypeError):
        Scenario("S", "s", ())  # type: ignore[misc]


def test_scenario_sequences_become_tuples() -> None:
    """Lists of topics and headers are stored as tuples."""
    scenario = Scenario("S", "s", topics=[TopicBinding("out")], headers=[Header("h")])
    assert ((TopicBinding("out"),), (Header("h"),)) == (scenario.topics, scenario.headers)


def test_scenario_is_frozen() -> None:
    """A Scenario cannot be changed once built."""
    scenario = Scenario("S", "s")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        scenario.name = "T"  # type: ignore[misc]


def test_empty_scenario_name_is_rejected() -> None:
    """A scenario needs a non-empty name."""
    message = "$.name: a scenario name must be a non-empty string, got ''"
    with pytest.raises(CatalogError, match=exactly(message)):
        Scenario("", "s")


def test_empty_scenario_identifier_is_rejected() -> None:
    """A scenario needs a non-empty identifier."""
    message = "$.identifier: a scenario identifier must be a non-empty string, got ''"
    with pytest.raises(CatalogError, match=exactly(message)):
        Scenario("S", "")


def test_duplicate_header_names_are_rejected() -> None:
    """A scenario declares each header once."""
    message = "$.headers[1].name: duplicate header 'jwt' (first at index 0)"
    with pytest.raises(CatalogError, match=exactly(message)):
        Scenario("S", "s", headers=(Header("jwt"), Header("jwt", secret=True)))


def test_secret_headers() -> None:
    """secret_headers names the headers marked secret."""
    scenario = Scenario("S", "s", headers=(Header("jwt", secret=True), Header("x")))
    assert frozenset({"jwt"}) == scenario.secret_headers


def test_environments_lists_the_bindings() -> None:
    """Scenario.environments lists each binding's environment, None for the default."""
    topics = (TopicBinding("a"), TopicBinding("b", environment="prod"))
    assert Scenario("S", "s", topics=topics).environments == (None, "prod")


def test_error_reply_needs_a_string_error_property() -> None:
    """With error_reply, an 'error' property of the input model must be a STRING."""
    message = (
        "$.inputModel.properties[0].type: "
        "with errorReply the input model's 'error' property must be a STRING"
    )
    with pytest.raises(CatalogError, match=exactly(message)):
        Scenario("S", "s", input_model=DataModel([Property.number("error")]), error_reply=True)


def test_error_reply_forbids_other_mandatory_properties() -> None:
    """With error_reply, {'error': ...} must be a valid reply, so nothing else is mandatory."""
    message = (
        "$.inputModel.properties[0].mandatory: with errorReply an error reply "
        "{'error': ...} must be valid, but 'otpId' is mandatory"
    )
    model = DataModel([Property.string("otpId", mandatory=True)])
    with pytest.raises(CatalogError, match=exactly(message)):
        Scenario("S", "s", input_model=model, error_reply=True)


def test_error_reply_needs_room_for_the_error() -> None:
    """With error_reply, a closed input model must declare 'error'."""
    message = (
        "$.inputModel.additionalProperties: with errorReply the input model must declare "
        "an 'error' STRING property or allow additional properties"
    )
    model = DataModel([Property.string("otpId")], additional_properties=False)
    with pytest.raises(CatalogError, match=exactly(message)):
        Scenario("S", "s", input_model=model, error_reply=True)


def test_error_reply_with_a_declared_error_property() -> None:
    """A closed input model with an 'error' STRING allows error replies."""
    model = DataModel([Property.string("error")], additional_properties=False)
    assert Scenario("S", "s", input_model=model, error_reply=True).error_reply


# Enumeration -------------------------------------------------------------------------------


def test_enumeration_without_values_is_rejected() -> None:
    """An enumeration has at least one value."""
    with pytest.raises(CatalogError, match=exactly("$.values: enumeration 'status' has no values")):
        Enumeration("status", [])


def test_enumeration_with_duplicate_values_is_rejected() -> None:
    """An enumeration lists each value once."""
    message = "$.values[1]: duplicate enumeration value 'A' (first at index 0)"
    with pytest.raises(CatalogError, match=exactly(message)):
        Enumeration("status", ["A", "A"])


def test_enumeration_with_empty_name_is_rejected() -> None:
    """An enumeration needs a non-empty name."""
    message = "$.name: an enumeration name must be a non-empty string, got ''"
    with pytest.raises(CatalogError, match=exactly(message)):
        Enumeration("", ["A"])


def test_enumeration_values_are_strings() -> None:
    """Enumeration values are strings."""
    message = "$.values[0]: enumeration values are strings, got 1"
    with pytest.raises(CatalogError, match=exactly(message)):
        Enumeration("status", [1])  # type: ignore[list-item]


# Integration -------------------------------------------------------------------------------


def test_integration_defaults() -> None:
    """An integration has no system name, scenarios, definitions or enumerations by default."""
    integration = Integration("Notifications", "notifications")
    actual = (
        integration.system_name,
        integration.scenarios,
        integration.definitions,
        integration.enumerations,
        integration.description,
    )
    assert (None, (), FrozenDict(), (), "") == actual


def test_integration_definitions_are_frozen() -> None:
    """Integration definitions given as a dict are stored as an immutable FrozenDict."""
    integration = Integration("N", "n", definitions={"address": ADDRESS})
    assert (FrozenDict, {"address": ADDRESS}) == (
        type(integration.definitions),
        integration.definitions,
    )


def test_integration_is_hashable() -> None:
    """Integrations with equal content are equal and hash alike."""
    first = Integration("N", "n", definitions={"address": ADDRESS}, scenarios=[scenario_with()])
    second = Integration("N", "n", definitions={"address": ADDRESS}, scenarios=[scenario_with()])
    assert (hash(first), first) == (hash(second), second)


def test_integration_options_are_keyword_only() -> None:
    """Only name and identifier are positional."""
    with pytest.raises(TypeError):
        Integration("N", "n", "SYS")  # type: ignore[misc]


def test_empty_integration_name_is_rejected() -> None:
    """An integration needs a non-empty name."""
    message = "$.name: an integration name must be a non-empty string, got ''"
    with pytest.raises(CatalogError, match=exactly(message)):
        Integration("", "n")


def test_empty_integration_identifier_is_rejected() -> None:
    """An integration needs a non-empty identifier."""
    message = "$.identifier: an integration identifier must be a non-empty string, got ''"
    with pytest.raises(CatalogError, match=exactly(message)):
        Integration("N", "")


def test_empty_system_name_is_rejected() -> None:
    """A system name is a non-empty string or absent."""
    message = "$.systemName: a system name is a non-empty string or absent, got ''"
    with pytest.raises(CatalogError, match=exactly(message)):
        Integration("N", "n", system_name="")


def test_duplicate_scenario_identifiers_are_rejected() -> None:
    """Scenario identifiers are unique within an integration."""
    message = "$.scenarios[1].identifier: duplicate scenario identifier 'otp' (first at index 0)"
    with pytest.raises(CatalogError, match=exactly(message)):
        Integration(
            "N", "n", scenarios=[scenario_with(identifier="otp"), scenario_with(identifier="otp")]
        )


def test_duplicate_enumeration_names_are_rejected() -> None:
    """Enumeration names are unique within an integration."""
    message = "$.enumerations[1].name: duplicate enumeration name 'status' (first at index 0)"
    with pytest.raises(CatalogError, match=exactly(message)):
        Integration(
            "N", "n", enumerations=[Enumeration("status", ["A"]), Enumeration("status", ["B"])]
        )


def test_empty_definition_name_is_rejected() -> None:
    """A definition needs a non-empty name."""
    message = "$.definitions: a definition name must be a non-empty string, got ''"
    with pytest.raises(CatalogError, match=exactly(message)):
        Integration("N", "n", definitions={"": ADDRESS})


def test_definition_must_be_a_data_model() -> None:
    """A definition is a DataModel."""
    message = "$.definitions.address: a definition must be a DataModel, got 'street'"
    with pytest.raises(CatalogError, match=exactly(message)):
        Integration("N", "n", definitions={"address": "street"})  # type: ignore[dict-item]


def test_definitions_must_be_a_mapping() -> None:
    """Integration definitions must be a mapping of names to data models."""
    message = "$.definitions: definitions must be a mapping of name to DataModel, got ['address']"
    with pytest.raises(CatalogError, match=exactly(message)):
        Integration("N", "n", definitions=["address"])  # type: ignore[arg-type]


def test_scenario_lookup() -> None:
    """integration.scenario(identifier) returns that scenario."""
    otp = scenario_with(identifier="otp")
    integration = Integration("N", "n", scenarios=[scenario_with(identifier="mail"), otp])
    assert otp == integration.scenario("otp")


def test_unknown_scenario_lookup_names_the_known_ones() -> None:
    """An unknown scenario identifier is a CatalogError listing the known ones."""
    integration = Integration("N", "n", scenarios=[scenario_with(identifier="mail")])
    message = "$.scenarios: integration 'n' has no scenario 'otp' (it has: 'mail')"
    with pytest.raises(CatalogError, match=exactly(message)):
        integration.scenario("otp")


def test_object_ref_resolves_in_definitions() -> None:
    """An OBJECT_REF naming a definition is accepted."""
    integration = Integration(
        "N",
        "n",
        definitions={"address": ADDRESS},
        scenarios=[scenario_with(Property.object_ref("home", "address"))],
    )
    assert integration.scenario("s").output_model.property("home").ref == "address"


def test_unresolved_object_ref_is_rejected() -> None:
    """An OBJECT_REF naming no definition is a CatalogError naming the known definitions."""
    message = (
        "$.scenarios[0].outputModel.properties[0].ref: reference 'adress' of property 'home' "
        "does not resolve (definitions: 'address')"
    )
    with pytest.raises(CatalogError, match=exactly(message)):
        Integration(
            "N",
            "n",
            definitions={"address": ADDRESS},
            scenarios=[scenario_with(Property.object_ref("home", "adress"))],
        )


def test_unresolved_nested_array_ref_is_rejected() -> None:
    """An ARRAY_REF nested in an OBJECT of the input model is checked too."""
    message = (
        "$.scenarios[0].inputModel.properties[0].properties[0].ref: reference 'file' of "
        "property 'files' does not resolve (definitions: none)"
    )
    model = DataModel([Property.object("o", [Property.array_ref("files", "file")])])
    with pytest.raises(CatalogError, match=exactly(message)):
        Integration("N", "n", scenarios=[Scenario("S", "s", input_model=model)])


def test_unresolved_ref_inside_a_definition_is_rejected() -> None:
    """A definition's own references must resolve."""
    message = (
        "$.definitions.person.properties[0].ref: reference 'address' of property 'home' "
        "does not resolve (definitions: 'person')"
    )
    person = DataModel([Property.object_ref("home", "address")])
    with pytest.raises(CatalogError, match=exactly(message)):
        Integration("N", "n", definitions={"person": person})


def test_reference_cycle_is_rejected() -> None:
    """Definitions that refer to each other in a cycle are a CatalogError naming the cycle."""
    message = "$.definitions.a: definitions refer to each other in a cycle: 'a' -> 'b' -> 'a'"
    a = DataModel([Property.object_ref("b", "b")])
    b = DataModel([Property.array_ref("a", "a")])
    with pytest.raises(CatalogError, match=exactly(message)):
        Integration("N", "n", definitions={"a": a, "b": b})


def test_self_reference_is_a_cycle() -> None:
    """A definition that refers to itself is a cycle."""
    message = "$.definitions.node: definitions refer to each other in a cycle: 'node' -> 'node'"
    node = DataModel([Property.array("children", "OBJECT_REF", ref="node")])
    with pytest.raises(CatalogError, match=exactly(message)):
        Integration("N", "n", definitions={"node": node})


def test_shared_definition_is_not_a_cycle() -> None:
    """Two definitions referring to a third (a diamond) are fine."""
    definitions = {
        "address": ADDRESS,
        "home": DataModel([Property.object_ref("at", "address")]),
        "work": DataModel([Property.object_ref("at", "address")]),
        "person": DataModel([Property.object_ref("h", "home"), Property.object_ref("w", "work")]),
    }
    assert definitions == Integration("N", "n", definitions=definitions).definitions


def test_enumeration_name_resolves() -> None:
    """An ENUM naming an enumeration takes its values from it."""
    prop = Property.enum("status", enumeration="deliveryStatus")
    integration = Integration(
        "N",
        "n",
        enumerations=[Enumeration("deliveryStatus", ["QUEUED", "SENT"])],
        scenarios=[scenario_with(prop)],
    )
    assert integration.enum_values(prop) == ("QUEUED", "SENT")


def test_enum_values_of_a_property_with_values() -> None:
    """enum_values of an ENUM with its own values are those values."""
    assert Integration("N", "n").enum_values(Property.enum("e", ["A"])) == ("A",)


def test_unresolved_enumeration_is_rejected() -> None:
    """An ENUM naming no enumeration is a CatalogError naming the known enumerations."""
    message = (
        "$.scenarios[0].outputModel.properties[0].enumeration: enumeration 'state' of property "
        "'status' does not resolve (enumerations: 'deliveryStatus')"
    )
    with pytest.raises(CatalogError, match=exactly(message)):
        Integration(
            "N",
            "n",
            enumerations=[Enumeration("deliveryStatus", ["QUEUED"])],
            scenarios=[scenario_with(Property.enum("status", enumeration="state"))],
        )


def test_unresolved_enumeration_of_array_items_is_rejected() -> None:
    """An ARRAY of ENUM naming no enumeration is rejected too."""
    message = (
        "$.scenarios[0].outputModel.properties[0].enumeration: enumeration 'tag' of property "
        "'tags' does not resolve (enumerations: none)"
    )
    with pytest.raises(CatalogError, match=exactly(message)):
        Integration(
            "N", "n", scenarios=[scenario_with(Property.array("tags", "ENUM", enumeration="tag"))]
        )


def test_enumeration_lookup_of_an_unknown_name() -> None:
    """integration.enumeration(name) raises KeyError for an unknown name."""
    with pytest.raises(KeyError, match="'state'"):
        Integration("N", "n").enumeration("state")


def test_example_outside_a_named_enumeration_is_rejected() -> None:
    """An ENUM example must be one of the named enumeration's values."""
    message = (
        "$.scenarios[0].outputModel.properties[0].example: example does not match property "
        "'status': must be one of 'QUEUED', 'SENT'; got 'LOST'"
    )
    with pytest.raises(CatalogError, match=exactly(message)):
        Integration(
            "N",
            "n",
            enumerations=[Enumeration("deliveryStatus", ["QUEUED", "SENT"])],
            scenarios=[
                scenario_with(Property.enum("status", enumeration="deliveryStatus", example="LOST"))
            ],
        )


def test_example_not_matching_its_definition_is_rejected() -> None:
    """An OBJECT_REF example must match the definition it refers to."""
    message = (
        "$.scenarios[0].outputModel.properties[0].example.street: example does not match "
        "property 'home': must be a string, got 1"
    )
    with pytest.raises(CatalogError, match=exactly(message)):
        Integration(
            "N",
            "n",
            definitions={"address": ADDRESS},
            scenarios=[
                scenario_with(Property.object_ref("home", "address", example={"street": 1}))
            ],
        )


def test_example_with_keys_a_closed_definition_lacks_is_rejected() -> None:
    """An ARRAY_REF example item follows its definition's additional_properties."""
    closed = DataModel([Property.string("name")], additional_properties=False)
    message = (
        "$.scenarios[0].outputModel.properties[0].example[0].age: example does not match "
        "property 'people': is not a property of this model"
    )
    with pytest.raises(CatalogError, match=exactly(message)):
        Integration(
            "N",
            "n",
            definitions={"person": closed},
            scenarios=[scenario_with(Property.array_ref("people", "person", example=[{"age": 3}]))],
        )


def test_example_matching_its_definition_is_accepted() -> None:
    """A valid OBJECT_REF example is kept."""
    prop = Property.object_ref("home", "address", example={"street": "Main", "city": "Cluj"})
    integration = Integration(
        "N", "n", definitions={"address": ADDRESS}, scenarios=[scenario_with(prop)]
    )
    assert integration.scenarios[0].output_model.properties[0].example == {
        "street": "Main",
        "city": "Cluj",
    }


def test_every_cross_reference_problem_is_reported() -> None:
    """An integration reports every unresolved name, not just the first."""
    with pytest.raises(CatalogError) as caught:
        Integration(
            "N",
            "n",
            scenarios=[
                scenario_with(Property.object_ref("a", "x"), Property.enum("e", enumeration="y"))
            ],
        )
    expected = [
        "$.scenarios[0].outputModel.properties[0].ref",
        "$.scenarios[0].outputModel.properties[1].enumeration",
    ]
    assert expected == [p.path for p in caught.value.problems]


def test_problem_equality_ignores_the_value() -> None:
    """CatalogProblems are equal by path and message."""
    assert CatalogProblem("$.a", "m", 1) == CatalogProblem("$.a", "m", 2)


def test_integration_is_frozen() -> None:
    """An Integration cannot be changed once built."""
    integration = Integration("N", "n")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        integration.identifier = "m"  # type: ignore[misc]


def test_integration_sequences_become_tuples() -> None:
    """Lists of scenarios and enumerations are stored as tuples."""
    status = Enumeration("status", ["A"])
    integration = Integration("N", "n", scenarios=[scenario_with()], enumerations=[status])
    assert (integration.scenarios, integration.enumerations) == ((scenario_with(),), (status,))
