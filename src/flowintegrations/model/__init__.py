"""The typed domain core: integrations, scenarios, data models. No I/O, no SDK imports."""

from flowintegrations.model.catalog import FORMAT_VERSION, Catalog
from flowintegrations.model.datamodel import (
    DataModel,
    FrozenDict,
    JSONValue,
    Property,
    PropertyType,
    json_path_step,
)
from flowintegrations.model.diff import CatalogDiff, Change, Impact
from flowintegrations.model.examples import Example, Matcher
from flowintegrations.model.headers import DEFAULT_HEADERS, Header
from flowintegrations.model.integration import (
    Definitions,
    Enumeration,
    Integration,
    Scenario,
    iter_properties,
)
from flowintegrations.model.lookup import find_scenario
from flowintegrations.model.topics import TopicBinding, topic_name_problem

__all__ = [
    "DEFAULT_HEADERS",
    "FORMAT_VERSION",
    "Catalog",
    "CatalogDiff",
    "Change",
    "DataModel",
    "Definitions",
    "Enumeration",
    "Example",
    "FrozenDict",
    "Header",
    "Impact",
    "Integration",
    "JSONValue",
    "Matcher",
    "Property",
    "PropertyType",
    "Scenario",
    "TopicBinding",
    "find_scenario",
    "iter_properties",
    "json_path_step",
    "topic_name_problem",
]
