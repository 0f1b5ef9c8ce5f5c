"""check_catalog: every problem of a catalog file in one run, with paths into the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowintegrations import Catalog, CatalogError
from flowintegrations.validation.report import check_catalog

BAD_TOPIC = {"out": "bad topic!", "in": "in.ok"}


def write(tmp_path: Path, data: Any) -> str:
    """``data`` as a catalog file; returns its path."""
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def integration(*scenarios: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A catalog of one integration with ``scenarios``."""
    return {
        "integrations": [{"name": "N", "identifier": "n", "scenarios": list(scenarios), **extra}]
    }


def scenario(identifier: str, **extra: Any) -> dict[str, Any]:
    """A scenario with good topics unless ``topics`` is given."""
    extra.setdefault("topics", [{"out": f"{identifier}.out", "in": f"{identifier}.in"}])
    return {"name": identifier.upper(), "identifier": identifier, **extra}


def lines(tmp_path: Path, data: Any) -> list[str]:
    """The problems check_catalog reports for ``data``, as ``path: message`` lines."""
    return [str(p) for p in check_catalog(write(tmp_path, data)).problems]


def test_a_bad_topic_an_unresolved_ref_and_a_bad_example_are_all_reported(
    tmp_path: Path,
) -> None:
    """Three kinds of problems in one file: all three in one run."""
    data = integration(
        scenario(
            "s",
            topics=[BAD_TOPIC],
            outputModel={"properties": [{"name": "a", "type": "OBJECT_REF", "ref": "Missing"}]},
        ),
        scenario(
            "t",
            outputModel={"properties": [{"name": "n", "type": "NUMBER"}]},
            examples=[{"name": "e", "request": {"n": "one"}}],
        ),
    )
    assert lines(tmp_path, data) == [
        "$.integrations[0].scenarios[0].topics[0].out: topic name 'bad topic!' has illegal "
        "characters ' !' (only letters, digits, '.', '_' and '-')",
        "$.integrations[0].scenarios[0].outputModel.properties[0].ref: reference 'Missing' of "
        "property 'a' does not resolve (definitions: none)",
        "$.integrations[0].scenarios[1].examples[0].request.n: the request breaks the "
        "scenario's output model: must be a number, got 'one'",
    ]


def test_paths_point_into_the_original_file_after_a_cut(tmp_path: Path) -> None:
    """A problem after a cut-out property keeps the index it has in the file."""
    properties = [
        {"name": "a", "type": "NOPE"},
        {"name": "b", "type": "ENUM", "enumeration": "missing"},
    ]
    data = integration(scenario("s", outputModel={"properties": properties}))
    assert lines(tmp_path, data) == [
        "$.integrations[0].scenarios[0].outputModel.properties[0].type: unknown property type "
        "'NOPE' (expected one of STRING, NUMBER, BOOLEAN, OBJECT, OBJECT_REF, ARRAY, "
        "ARRAY_REF, ENUM)",
        "$.integrations[0].scenarios[0].outputModel.properties[1].enumeration: enumeration "
        "'missing' of property 'b' does not resolve (enumerations: none)",
    ]


def test_problems_in_other_scenarios_keep_their_index(tmp_path: Path) -> None:
    """After a scenario is cut out, the next one's problems still name its own index."""
    data = integration(
        scenario("s", topics=[BAD_TOPIC], errorReply="yes"),
        scenario(
            "t", outputModel={"properties": [{"name": "a", "type": "OBJECT_REF", "ref": "X"}]}
        ),
    )
    assert [line.split(":")[0] for line in lines(tmp_path, data)] == [
        "$.integrations[0].scenarios[0].topics[0].out",
        "$.integrations[0].scenarios[0].errorReply",
        "$.integrations[0].scenarios[1].outputModel.properties[0].ref",
    ]


def test_an_example_of_a_cut_model_is_not_blamed_for_the_cut(tmp_path: Path) -> None:
    """Cutting a broken property does not make the scenario's examples look wrong."""
    model = {
        "additionalProperties": False,
        "properties": [{"name": "a", "type": "NOPE"}],
    }
    data = integration(
        scenario("s", outputModel=model, examples=[{"name": "e", "request": {"a": 1}}])
    )
    assert [line.split(":")[0] for line in lines(tmp_path, data)] == [
        "$.integrations[0].scenarios[0].outputModel.properties[0].type"
    ]


def test_a_clean_catalog_has_no_problems_and_is_loaded(tmp_path: Path) -> None:
    """No problems: the report holds the loaded catalog."""
    report = check_catalog(write(tmp_path, integration(scenario("s"))))
    assert (report.ok, report.catalog) == (True, Catalog.load(integration(scenario("s"))))


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    """Catalog.load(path) says which file its problems are in."""
    path = write(tmp_path, integration(scenario("s", topics=[BAD_TOPIC])))
    with pytest.raises(CatalogError) as caught:
        Catalog.load(path)
    assert (caught.value.source, str(caught.value).split(": ")[0]) == (path, path)


def test_a_schema_key_is_accepted() -> None:
    """The "$schema" key that docs/catalog.md recommends loads."""
    data = {"$schema": "https://flowintegrations.dev/catalog.schema.json", "integrations": []}
    assert Catalog.load(data) == Catalog()


def test_a_schema_key_must_be_a_string() -> None:
    """A "$schema" that is not a string is a problem at its path."""
    with pytest.raises(
        CatalogError, match=r"^\$\['\$schema'\]: expected a string, got the number 1$"
    ):
        Catalog.load({"$schema": 1})
