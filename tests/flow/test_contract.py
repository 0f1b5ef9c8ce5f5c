"""The contract suite itself: the platform's schemas are sound and reject what the platform does.

Every Flow test's answers are held to these schemas by the ``flow_http`` fixture
(tests/flow/conftest.py); these tests check the schemas and the fixture's endpoint map.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from support.flowcontract import (
    CONTRACT,
    SCHEMAS,
    ContractViolation,
    check,
    schema,
    schema_for,
    violations,
)

TENANT = "3b8f7c2e-1d4a-4f6b-9e0c-5a7d2b1c9e01"


def forward(**fields: Any) -> dict[str, Any]:
    """A FORWARD ServiceResponse as the Java SDK writes one, with ``fields`` changed."""
    answer: dict[str, Any] = {
        "token": "state-token",
        "tenantId": TENANT,
        "culture": None,
        "annotations": {},
        "invokeType": "FORWARD",
        "waitMessage": None,
        "outputs": [
            {
                "developerName": "otpId",
                "contentType": "ContentString",
                "contentValue": "otp-1",
                "objectData": None,
                "typeElementDeveloperName": None,
            }
        ],
        "rootFaults": {},
        "valueFaults": [],
    }
    answer.update(fields)
    return answer


def test_every_schema_file_is_in_the_suite() -> None:
    """The suite names every schema file of the folder, and nothing else."""
    assert sorted(p.stem for p in CONTRACT.glob("*.json")) == sorted(SCHEMAS)


@pytest.mark.parametrize("name", SCHEMAS)
def test_each_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    """Each schema passes the draft 2020-12 meta-schema and names itself by its file."""
    found = schema(name)
    jsonschema.Draft202012Validator.check_schema(found)
    assert (found["$schema"], found["$id"]) == (
        "https://json-schema.org/draft/2020-12/schema",
        f"https://contract.flowintegrations.test/{name}.json",
    )


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_reference_resolves_inside_the_suite(name: str) -> None:
    """Each $ref names a schema of the suite or one of its own $defs (nothing is fetched)."""
    text = (CONTRACT / f"{name}.json").read_text()
    refs = set(re.findall(r'"\$ref": "([^"]+)"', text))
    local = {r for r in refs if r.startswith("#/$defs/")}
    assert {r.removeprefix("#/$defs/") for r in local} <= set(schema(name).get("$defs", {}))
    assert {r.removesuffix(".json") for r in refs - local} <= set(SCHEMAS)


def test_valuefaults_as_an_object_is_rejected() -> None:
    """The known-bad answer (valueFaults: {}) breaks ServiceResponse, naming the field."""
    assert violations("ServiceResponse", forward(valueFaults={})) == [
        "$.valueFaults: {} is not of type 'array', 'null'"
    ]


def test_a_java_sdk_shaped_forward_is_accepted() -> None:
    """A FORWARD as the Java SDK writes it (valueFaults an array) is valid."""
    assert violations("ServiceResponse", forward()) == []


def test_check_raises_a_contract_violation_naming_the_endpoint() -> None:
    """check() fails with where, the schema and every violation."""
    with pytest.raises(ContractViolation) as raised:
        check("ServiceResponse", forward(valueFaults={}, invokeType="LATER"), "POST /actions/x")
    assert str(raised.value) == (
        "POST /actions/x: the answer breaks the platform's ServiceResponse schema:\n"
        "  $.invokeType: 'LATER' is not one of ['DONE', 'FORWARD', 'JOIN', 'NAVIGATE', "
        "'STATUS', 'SUCCESS', 'SYNC', 'TOKEN_COMPLETED', 'WAIT', 'BUSY']\n"
        "  $.valueFaults: {} is not of type 'array', 'null'"
    )


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"objectData": [{"internalId": "not-a-uuid", "properties": []}], "hasMoreResults": 0},
            [
                "$.hasMoreResults: 0 is not of type 'boolean'",
                "$.objectData[0].internalId: 'not-a-uuid' does not match "
                "'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'",
            ],
        ),
        (
            {
                "objectData": [
                    {"properties": [{"developerName": "n", "contentType": "Number"}]},
                ],
                "hasMoreResults": False,
            },
            [
                "$.objectData[0].properties[0].contentType: 'Number' is not one of "
                "['ContentBoolean', 'ContentContent', 'ContentDateTime', 'ContentEncrypted', "
                "'ContentList', 'ContentNumber', 'ContentObject', 'ContentPassword', "
                "'ContentString', None]"
            ],
        ),
        (
            {"objectData": {}, "hasMoreResults": False},
            ["$.objectData: {} is not of type 'array', 'null'"],
        ),
    ],
)
def test_object_data_responses_are_typed_strictly(document: Any, expected: list[str]) -> None:
    """An internalId is a UUID, hasMoreResults a boolean, contentType a Flow word, arrays arrays."""
    assert violations("ObjectDataResponse", document) == expected


def test_a_type_element_without_properties_is_rejected() -> None:
    """The Java SDK refuses a type with no properties; so does the schema."""
    element = {"elementType": "TYPE", "developerName": "empty", "properties": []}
    assert violations("TypeElement", element) == ["$.properties: [] should be non-empty"]


def test_unknown_keys_are_refused() -> None:
    """Keys neither the engine's schema nor the Java SDK has are refused (typos show)."""
    assert violations("ValueFault", {"faultMesage": "x"}) == [
        "$: Additional properties are not allowed ('faultMesage' was unexpected)"
    ]


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/fs/x/metadata", "DescribeServiceResponse"),
        ("POST", "/metadata/install", "DescribeServiceResponse"),
        ("POST", "/fs/x/actions/send-email", "ServiceResponse"),
        ("POST", "/actions/a/b", "ServiceResponse"),
        ("POST", "/data", "ObjectDataResponse"),
        ("PUT", "/fs/x/data", "ObjectDataResponse"),
        ("POST", "/data/delete", "ObjectDataResponse"),
        ("POST", "/file", "ObjectDataResponse"),
        ("POST", "/file/content", "ObjectDataResponse"),
        ("GET", "/health", None),
        ("GET", "/openapi.json", None),
    ],
)
def test_each_endpoint_is_held_to_its_schema(method: str, path: str, expected: str | None) -> None:
    """/metadata -> describe, /actions/* -> ServiceResponse, /data* and /file* -> data."""
    assert schema_for(method, path) == expected


def test_the_readme_names_the_source_of_every_schema() -> None:
    """The folder's README has a row for each schema."""
    readme = (Path(CONTRACT) / "README.md").read_text()
    missing = [name for name in SCHEMAS if f"`{name}.json`" not in readme]
    assert missing == []
