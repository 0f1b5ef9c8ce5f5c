"""flowintegrations import-profile: a JSON sample or schema becomes a catalog definition."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowintegrations.cli import main
from flowintegrations.model import Catalog, DataModel, Property


def test_a_sample_prints_a_catalog_with_its_definition(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sample's model is the definition named like the file."""
    sample = tmp_path / "customer.json"
    sample.write_text(json.dumps({"id": "c1", "age": 3}), encoding="utf-8")
    assert main(["import-profile", str(sample)]) == 0
    catalog = Catalog.load(json.loads(capsys.readouterr().out))
    expected = DataModel(
        (Property.string("id", mandatory=True), Property.number("age", mandatory=True))
    )
    assert catalog.integration("profiles").definitions == {"customer": expected}


def test_the_printed_catalog_passes_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What import-profile prints is a catalog that check accepts."""
    sample = tmp_path / "order.json"
    sample.write_text(json.dumps({"lines": [{"sku": "A", "qty": 1}]}), encoding="utf-8")
    main(["import-profile", str(sample)])
    printed = tmp_path / "catalog.json"
    printed.write_text(capsys.readouterr().out, encoding="utf-8")
    assert main(["check", str(printed)]) == 0


def test_a_schema_keeps_its_definitions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--schema --name: the model under NAME, the schema's definitions beside it."""
    schema = {
        "type": "object",
        "properties": {"home": {"$ref": "#/definitions/address"}},
        "definitions": {"address": {"type": "object", "properties": {"city": {"type": "string"}}}},
    }
    path = tmp_path / "s.json"
    path.write_text(json.dumps(schema), encoding="utf-8")
    assert main(["import-profile", "--schema", "--name", "customer", str(path)]) == 0
    definitions = (
        Catalog.load(json.loads(capsys.readouterr().out)).integration("profiles").definitions
    )
    assert sorted(definitions) == ["address", "customer"]


def test_a_conflicting_sample_is_exit_1_with_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A conflict is reported with its JSON path on stderr, exit 1."""
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"a": 1}, {"a": "x"}]), encoding="utf-8")
    assert main(["import-profile", str(path)]) == 1
    assert capsys.readouterr().err == (
        f"{path}: 1 problem(s)\n  $[1].a: conflicting samples: a number here before, now a string\n"
    )


def test_a_file_that_is_not_json_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Text that is not JSON: exit 1, and the message says so."""
    path = tmp_path / "bad.json"
    path.write_text("{nope", encoding="utf-8")
    assert main(["import-profile", str(path)]) == 1
    assert capsys.readouterr().err.startswith(f"error: {path}: cannot read a JSON document (")


def test_every_problem_of_a_sample_is_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """import-profile lists every problem of the samples, not the first, exit 1."""
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"a": 1, "b": None}, {"a": "x"}]), encoding="utf-8")
    assert main(["import-profile", str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{path}: 2 problem(s)",
        "  $[1].a: conflicting samples: a number here before, now a string",
        "  $[*].b: only null here: cannot infer a type (give a value in the sample)",
    ]


def test_every_problem_of_a_schema_and_its_definitions_is_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--schema: the problems of the definitions and of the model, all in one list."""
    schema = {
        "type": "object",
        "properties": {"a": {"type": "null"}},
        "definitions": {"d": {"type": "object", "properties": {"e": {"type": "null"}}}},
    }
    path = tmp_path / "s.json"
    path.write_text(json.dumps(schema), encoding="utf-8")
    assert main(["import-profile", "--schema", str(path)]) == 1
    unsupported = "unsupported type 'null': one of 'object', 'string', 'number', 'integer', "
    assert capsys.readouterr().err.splitlines() == [
        f"{path}: 2 problem(s)",
        f"  $.definitions.d.properties.e.type: {unsupported}'boolean', 'array'",
        f"  $.properties.a.type: {unsupported}'boolean', 'array'",
    ]


def test_schema_on_a_sample_says_to_drop_schema_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--schema on a plain sample is one line saying to drop --schema, not a line per key."""
    path = tmp_path / "customer.json"
    path.write_text(json.dumps({"type": "person", "id": "c1", "age": 3}), encoding="utf-8")
    assert main(["import-profile", "--schema", str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: {path} looks like a JSON sample, not a JSON Schema ('age', 'id': no JSON "
        "Schema keyword): drop --schema"
    ]


def test_a_missing_file_is_one_line_without_errno(capsys: pytest.CaptureFixture[str]) -> None:
    """A file that is not there: one error line saying so, without the errno."""
    assert main(["import-profile", "nope.json"]) == 1
    assert capsys.readouterr().err == "error: cannot read 'nope.json': no such file\n"
