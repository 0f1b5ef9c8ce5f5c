"""An OpenAPI 3 document of a Flow service: :func:`openapi_document`.

A pure function of what the service says about itself in public: its
:meth:`~flowintegrations.flow.FlowService.endpoints` (what is served) and its
:meth:`~flowintegrations.flow.FlowService.describe` answer (the actions' inputs, the types
and their properties). Request and answer bodies have the platform's shapes, the ones the
contract suite holds every answer to (``tests/flow/contract/``, written from the engine's
``openapi.json`` and the Java SDK's models): a ServiceRequest of EngineValues for an action
(one schema per action, its inputs by name and content type), an ObjectDataRequest for
``/data`` (the served types by name, their objects' properties by name), a FileDataRequest
for ``/file``.

What the document declares an endpoint may answer is what it answers: 200 with the
platform's body, 400/404/413 for a request it refuses, 401 when credentials are asked
for (``credentials=True``), and 500 only where a handler's failure is the answer (a
message action whose handler still fails after its retries). Tools that generate requests
from it (schemathesis) can then hold the service to it; ``make fuzz-flow`` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

__all__ = ["OPENAPI_VERSION", "DescribedService", "openapi_document"]

OPENAPI_VERSION = "3.0.3"
"""The OpenAPI version of the document."""

CONTENT_TYPES = (
    "ContentBoolean",
    "ContentContent",
    "ContentDateTime",
    "ContentEncrypted",
    "ContentList",
    "ContentNumber",
    "ContentObject",
    "ContentPassword",
    "ContentString",
)


class DescribedService(Protocol):
    """What :func:`openapi_document` reads of a service (a FlowService has it)."""

    def endpoints(self) -> list[tuple[str, str]]:
        """Every (method, path) served."""

    def describe(self) -> dict[str, Any]:
        """The describe answer."""


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _text(*, nullable: bool = True) -> dict[str, Any]:
    return {"type": "string", "nullable": nullable}


def _array(items: dict[str, Any], *, nullable: bool = True) -> dict[str, Any]:
    return {"type": "array", "items": items, "nullable": nullable}


def _object(properties: Mapping[str, Any], required: Iterable[str] = ()) -> dict[str, Any]:
    found: dict[str, Any] = {"type": "object", "properties": dict(properties)}
    required = list(required)
    if required:
        found["required"] = required
    return found


_CONTENT_TYPE = {"type": "string", "enum": list(CONTENT_TYPES), "nullable": True}

_COMMON: dict[str, dict[str, Any]] = {
    "Culture": {
        **_object(
            {
                "id": _text(),
                "developerName": _text(),
                "developerSummary": _text(),
                "brand": _text(),
                "language": _text(),
                "country": _text(),
                "variant": _text(),
            }
        ),
        "nullable": True,
    },
    "Property": _object(
        {
            "developerName": _text(),
            "contentType": _CONTENT_TYPE,
            "contentValue": _text(),
            "contentFormat": _text(),
            "objectData": _array(_ref("MObject")),
        }
    ),
    "MObject": _object(
        {
            "internalId": _text(),
            "externalId": _text(),
            "developerName": _text(),
            "order": {"type": "integer"},
            "isSelected": {"type": "boolean"},
            "properties": _array(_ref("Property")),
        }
    ),
    "EngineValue": _object(
        {
            "developerName": _text(),
            "contentType": _CONTENT_TYPE,
            "contentValue": _text(),
            "objectData": _array(_ref("MObject")),
            "typeElementDeveloperName": _text(),
        }
    ),
    "ValueFault": _object(
        {
            "valueElementToReferenceId": _text(),
            "valueElementTypeElementPropertyToReferenceId": _text(),
            "faultCode": _text(),
            "faultMessage": _text(),
        }
    ),
    "ServiceResponse": _object(
        {
            "token": _text(),
            "tenantId": _text(),
            "culture": _ref("Culture"),
            "annotations": {
                "type": "object",
                "additionalProperties": _text(),
                "nullable": True,
            },
            "invokeType": {"type": "string"},
            "waitMessage": _text(),
            "outputs": _array(_ref("EngineValue")),
            "selectedOutcomeId": _text(),
            "rootFaults": {"type": "object", "additionalProperties": _text(), "nullable": True},
            "valueFaults": _array(_ref("ValueFault")),
        },
        required=["invokeType"],
    ),
    "ObjectDataResponse": _object(
        {
            "culture": _ref("Culture"),
            "objectData": _array(_ref("MObject")),
            "hasMoreResults": {"type": "boolean"},
            "offsetToken": _text(),
        },
        required=["objectData", "hasMoreResults"],
    ),
    "DescribeServiceResponse": _object(
        {
            "culture": _ref("Culture"),
            "uri": _text(),
            "configurationValues": _array({"type": "object"}),
            "actions": _array({"type": "object"}),
            "install": {"type": "object", "nullable": True},
        }
    ),
    "DescribeServiceRequest": _object(
        {
            "culture": _ref("Culture"),
            "uri": _text(),
            "configurationValues": _array(_ref("EngineValue")),
        }
    ),
    "ListFilterWhere": _object(
        {
            "columnName": _text(),
            "criteriaType": _text(),
            "contentValue": _text(),
            "value": _text(),
        }
    ),
    "ListFilter": {
        **_object(
            {
                "id": _text(),
                "comparisonType": _text(),
                "where": _array(_ref("ListFilterWhere")),
                "listFilters": _array(_ref("ListFilter")),
                "orderByPropertyDeveloperName": _text(),
                "orderByDirectionType": _text(),
                "orderBy": _array(
                    _object({"columnName": _text(), "direction": _text()}),
                ),
                "limit": {"type": "integer", "nullable": True},
                "offset": {"type": "integer", "nullable": True},
                "offsetToken": _text(),
                "search": _text(),
                "searchCriteria": _array(_object({"columnName": _text(), "query": _text()})),
                "filterByProvidedObjects": {"type": "boolean", "nullable": True},
            }
        ),
        "nullable": True,
    },
    "FileDataRequest": _object(
        {
            "stateId": _text(),
            "token": _text(),
            "culture": _ref("Culture"),
            "configurationValues": _array(_ref("EngineValue")),
            "resourcePath": _text(),
            "resourceFile": _text(),
            "listFilter": _ref("ListFilter"),
        }
    ),
    "Problem": _object(
        {
            "kind": {"type": "string"},
            "uri": {"type": "string"},
            "statusCode": {"type": "integer"},
            "message": {"type": "string"},
            "violations": {"type": "array", "items": {"type": "object"}},
        },
        required=["kind", "statusCode", "message"],
    ),
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, **_json(_ref("Problem"))}


def _answers(body: str, *, extra: Mapping[str, str] | None = None) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "200": {"description": f"a {body}", **_json(_ref(body))},
        "400": _problem("the request is malformed or breaks the model (every problem listed)"),
        "404": _problem("nothing of that name is served"),
        "413": _problem("the body is larger than the service takes"),
    }
    for status, description in (extra or {}).items():
        answers[status] = _problem(description)
    return answers


def _schema_name(prefix: str, name: str) -> str:
    safe = "".join(c if c.isalnum() else "_" for c in name)
    return f"{prefix}_{safe}"


def _action_request(action: Mapping[str, Any]) -> dict[str, Any]:
    """A ServiceRequest whose inputs are the action's, each by name and content type."""
    inputs = [
        _object(
            {
                "developerName": {"type": "string", "enum": [value["developerName"]]},
                "contentType": {"type": "string", "enum": [value["contentType"]]},
                "contentValue": _text(),
                "objectData": _array(_ref("MObject")),
            },
            required=["developerName", "contentType"],
        )
        for value in action.get("serviceInputs") or ()
    ]
    item: dict[str, Any] = {"oneOf": inputs} if inputs else _ref("EngineValue")
    return _object(
        {
            "token": _text(),
            "tenantId": _text(),
            "stateId": _text(),
            "culture": _ref("Culture"),
            "configurationValues": _array(_ref("EngineValue")),
            "inputs": _array(item),
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        }
    )


def _data_request(types: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """An ObjectDataRequest naming one of the served types, its objects' properties by name."""
    names = sorted(types)
    properties = sorted({p["developerName"] for found in types.values() for p in found})
    typed_property = _object(
        {
            "developerName": {"type": "string", "enum": properties} if properties else _text(),
            "contentType": _CONTENT_TYPE,
            "contentValue": _text(),
            "contentFormat": _text(),
            "objectData": _array(_ref("MObject")),
        }
    )
    mobject = _object(
        {
            "internalId": _text(),
            "externalId": _text(),
            "developerName": _text(),
            "order": {"type": "integer"},
            "isSelected": {"type": "boolean"},
            "properties": _array(typed_property),
        }
    )
    return _object(
        {
            "stateId": _text(),
            "token": _text(),
            "culture": _ref("Culture"),
            "configurationValues": _array(_ref("EngineValue")),
            "objectDataType": _object(
                {
                    "developerName": {"type": "string", "enum": names} if names else _text(),
                    "properties": _array(_object({"developerName": _text()})),
                },
                required=["developerName"],
            ),
            "listFilter": _ref("ListFilter"),
            "objectData": _array(mobject),
        },
        required=["objectDataType"],
    )


def openapi_document(
    service: DescribedService, *, title: str = "Flow service", credentials: bool = False
) -> dict[str, Any]:
    """The OpenAPI 3 document of ``service`` (see the module): paths, bodies and answers.

    ``credentials``: the service asks for HTTP Basic credentials, so every endpoint but
    ``/health`` declares them and may answer 401. Pure: it reads ``service.endpoints()``
    and ``service.describe()`` and nothing else, so two calls give equal documents.
    """
    described = service.describe()
    actions = {a["uriPart"].removeprefix("actions/"): a for a in described.get("actions") or ()}
    types = {
        element["developerName"]: element.get("properties") or []
        for element in (described.get("install") or {}).get("typeElements") or ()
        if element.get("bindings")
    }
    schemas: dict[str, Any] = dict(_COMMON)
    if types:
        schemas["ObjectDataRequest"] = _data_request(types)
    paths: dict[str, dict[str, Any]] = {}
    for method, path in service.endpoints():
        operation = _operation(method.lower(), path, actions, schemas)
        if credentials and not path.endswith("/health"):
            operation["security"] = [{"basic": []}]
            operation["responses"]["401"] = _problem("no or wrong credentials")
        paths.setdefault(path, {})[method.lower()] = operation
    components: dict[str, Any] = {"schemas": schemas}
    if credentials:
        components["securitySchemes"] = {"basic": {"type": "http", "scheme": "basic"}}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title,
            "version": "1",
            "description": "Boomi Flow's External Service API, as this service serves it.",
        },
        "paths": paths,
        "components": components,
    }


def _operation(
    method: str, path: str, actions: Mapping[str, Any], schemas: dict[str, Any]
) -> dict[str, Any]:
    tail = path.rsplit("/actions/", 1)[1] if "/actions/" in path else None
    if tail is not None:
        action = actions.get(tail, {})
        name = _schema_name("ServiceRequest", tail)
        schemas[name] = _action_request(action)
        return {
            "summary": action.get("developerName") or tail,
            "description": action.get("developerSummary") or "",
            "requestBody": {"required": True, **_json(_ref(name))},
            "responses": _answers(
                "ServiceResponse",
                extra={"500": "the handler failed after its retries (kind service)"},
            ),
        }
    if path.endswith("/openapi.json"):
        return {
            "summary": "this document",
            "responses": {
                "200": {"description": "the OpenAPI document", **_json({"type": "object"})}
            },
        }
    if path.endswith("/health"):
        return {
            "summary": "health",
            "responses": {"200": {"description": "the service is up"}},
        }
    if path.endswith(("/metadata", "/metadata/install")):
        return {
            "summary": "describe",
            "requestBody": {"required": False, **_json(_ref("DescribeServiceRequest"))},
            "responses": _answers("DescribeServiceResponse"),
        }
    if path.endswith("/file/content"):
        upload = _object(
            {
                "FileDataRequest": {"type": "string"},
                "file": {"type": "string", "format": "binary"},
            }
        )
        return {
            "summary": "upload a file",
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {"schema": upload},
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                },
            },
            "responses": _answers("ObjectDataResponse"),
        }
    if path.endswith("/file"):
        return {
            "summary": "list files",
            "requestBody": {"required": False, **_json(_ref("FileDataRequest"))},
            "responses": _answers("ObjectDataResponse"),
        }
    what = {"post": "load", "put": "save"}.get(method, method)
    if path.endswith("/delete"):
        what = "delete"
    return {
        "summary": f"{what} objects",
        "requestBody": {"required": True, **_json(_ref("ObjectDataRequest"))},
        "responses": _answers("ObjectDataResponse"),
    }
