"""docs/catalog.schema.json is generated from the code and describes real catalog files."""

from __future__ import annotations

import json
from pathlib import Path

import fastjsonschema
import pytest

from flowintegrations.model.wire import catalog_file_schema

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_FILE = ROOT / "docs" / "catalog.schema.json"
EXAMPLE = ROOT / "examples" / "catalog.json"


def test_published_schema_is_current() -> None:
    """The published schema equals the one generated from the classes (regenerate if not)."""
    published = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert published == catalog_file_schema(), (
        "docs/catalog.schema.json is stale: run "
        "`python -c 'import json; from flowintegrations.model.wire import catalog_file_schema; "
        "print(json.dumps(catalog_file_schema(), indent=2, ensure_ascii=False))' "
        "> docs/catalog.schema.json`"
    )


def test_example_catalog_matches_the_published_schema() -> None:
    """The example catalog is valid against the catalog file's JSON Schema."""
    validate = fastjsonschema.compile(catalog_file_schema())
    validate(json.loads(EXAMPLE.read_text(encoding="utf-8")))


def test_published_schema_rejects_a_typo() -> None:
    """An editor using the schema flags a misspelt key, as the loader does."""
    validate = fastjsonschema.compile(catalog_file_schema())
    data = {"integrations": [{"name": "n", "identifier": "i", "senarios": []}]}
    with pytest.raises(fastjsonschema.JsonSchemaValueException):
        validate(data)
