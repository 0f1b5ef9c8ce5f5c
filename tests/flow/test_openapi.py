"""openapi_document: an OpenAPI 3 document of a Flow service from endpoints() and describe()."""

from __future__ import annotations

from typing import Any

import pytest

from flowintegrations.flow import FlowService
from flowintegrations.flow.openapi import OPENAPI_VERSION, openapi_document
from support.flow_adapters import catalog_app
from support.flowdata import example
from support.flowfuzz import operations

CUSTOMERS = example("flow_customers")


@pytest.fixture(scope="module")
def catalog() -> dict[str, Any]:
    """The document of the example catalog's actions under /fs/catalog."""
    return openapi_document(FlowService(catalog_app(), path="/fs/catalog"))


def test_one_operation_per_endpoint(catalog: dict[str, Any]) -> None:
    """Every (method, path) of endpoints() is an operation, and nothing else is."""
    service = FlowService(catalog_app(), path="/fs/catalog")
    served = sorted((m.lower(), p) for m, p in service.endpoints())
    documented = sorted((m, p) for p, ops in catalog["paths"].items() for m in ops)
    assert (catalog["openapi"], documented) == (OPENAPI_VERSION, served)


def test_the_document_is_a_pure_function_of_the_service() -> None:
    """Two calls give equal documents."""
    service = CUSTOMERS.build()
    assert openapi_document(service) == openapi_document(service)


def test_an_action_takes_its_inputs_by_name_and_content_type(catalog: dict[str, Any]) -> None:
    """generate-otp's request lists its described inputs, each with its contentType."""
    schema = catalog["components"]["schemas"]["ServiceRequest_generate_otp"]
    inputs = schema["properties"]["inputs"]["items"]["oneOf"]
    found = [
        (i["properties"]["developerName"]["enum"][0], i["properties"]["contentType"]["enum"][0])
        for i in inputs
    ]
    assert found == [
        ("templateName", "ContentString"),
        ("recipient", "ContentString"),
        ("channel", "ContentString"),
        ("language", "ContentString"),
        ("length", "ContentNumber"),
    ]


def test_only_a_message_action_declares_a_500(catalog: dict[str, Any]) -> None:
    """A handler's failure is an action's answer; describe never answers 500."""
    paths = catalog["paths"]
    assert (
        sorted(paths["/fs/catalog/actions/generate-otp"]["post"]["responses"]),
        sorted(paths["/fs/catalog/metadata"]["post"]["responses"]),
    ) == (["200", "400", "404", "413", "500"], ["200", "400", "404", "413"])


def test_credentials_declare_basic_auth_and_401_but_not_on_health() -> None:
    """credentials=True: a basic security scheme and a 401 on every endpoint but /health."""
    document = openapi_document(CUSTOMERS.build(), credentials=True)
    secured = {
        (m, p): ("401" in op["responses"], op.get("security"))
        for p, ops in document["paths"].items()
        for m, op in ops.items()
    }
    assert secured[("get", "/health")] == (False, None)
    assert [v for k, v in secured.items() if k[1] != "/health"] == [(True, [{"basic": []}])] * 7
    assert document["components"]["securitySchemes"] == {
        "basic": {"type": "http", "scheme": "basic"}
    }


def test_data_requests_name_the_served_types_and_their_properties() -> None:
    """ObjectDataRequest: objectDataType.developerName and object properties are enums."""
    schema = openapi_document(CUSTOMERS.build())["components"]["schemas"]["ObjectDataRequest"]
    mobject = schema["properties"]["objectData"]["items"]
    names = mobject["properties"]["properties"]["items"]["properties"]["developerName"]["enum"]
    assert (
        schema["properties"]["objectDataType"]["properties"]["developerName"]["enum"],
        names,
    ) == (
        ["customer"],
        ["age", "city", "email", "id", "name", "tier", "vip"],
    )


def test_schemathesis_reads_every_operation() -> None:
    """The document loads in schemathesis with one operation per endpoint."""
    assert sorted(operations(CUSTOMERS.build())) == [
        "GET /health",
        "POST /data",
        "POST /data/delete",
        "POST /file",
        "POST /file/content",
        "POST /metadata",
        "POST /metadata/install",
        "PUT /data",
    ]
