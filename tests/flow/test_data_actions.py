"""Data actions end to end: the in-memory customer example under uvicorn, called with httpx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowintegrations import App, DataModel, HandlerRegistrationError, Property
from flowintegrations.flow import FlowService, Query
from support.flowcontract import FlowHttp
from support.flowdata import (
    criterion,
    example,
    external_ids,
    load_request,
    mobject,
    objects_request,
    payloads,
)
from support.flowserver import serve

CUSTOMERS = example("flow_customers")


@pytest.fixture
def client(flow_http: FlowHttp, tmp_path: Path) -> Iterator[httpx.Client]:
    """A client of a fresh in-memory customer service (three customers)."""
    with serve(CUSTOMERS.build(tmp_path / "files")) as base, flow_http.client(base) as client:
        yield client


def load(client: httpx.Client, list_filter: Any) -> dict[str, Any]:
    """POST /data with ``list_filter``; the answer (which must be 200)."""
    response = client.post("/data", json=load_request(list_filter))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_describe_binds_the_type_and_provides_a_database(client: httpx.Client) -> None:
    """A type with data actions has a binding of every property; providesDatabase is true."""
    answer = client.post("/metadata", json={}).json()
    (customer,) = answer["install"]["typeElements"]
    (binding,) = customer["bindings"]
    assert (answer["providesDatabase"], answer["providesFiles"], answer["providesLogic"]) == (
        True,
        True,
        False,
    )
    assert binding["databaseTableName"] == "customer"
    assert [b["databaseFieldName"] for b in binding["propertyBindings"]] == [
        "id",
        "name",
        "email",
        "city",
        "age",
        "vip",
        "tier",
    ]


def test_a_load_without_a_filter_answers_every_customer(client: httpx.Client) -> None:
    """No list filter: every customer, each with its externalId, and no more."""
    answer = load(client, None)
    assert (external_ids(answer), answer["hasMoreResults"]) == (["c1", "c2", "c3"], False)


def test_a_loaded_object_carries_typed_values(client: httpx.Client) -> None:
    """Numbers, booleans and text travel as Flow's typed values."""
    (ana,) = payloads(load(client, {"id": "c1"}))
    assert ana == {
        "id": "c1",
        "name": "Ana Pop",
        "email": "ana@example.com",
        "city": "Cluj",
        "age": "34",
        "vip": "true",
        "tier": "GOLD",
    }


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (criterion("city", "EQUAL", "Cluj"), ["c1", "c3"]),
        (criterion("city", "NOT_EQUAL", "Cluj"), ["c2"]),
        (criterion("age", "GREATER_THAN", "34"), ["c2"]),
        (criterion("age", "GREATER_THAN_OR_EQUAL", "34"), ["c1", "c2"]),
        (criterion("age", "LESS_THAN", "34"), ["c3"]),
        (criterion("age", "LESS_THAN_OR_EQUAL", "34"), ["c1", "c3"]),
        (criterion("email", "CONTAINS", "bogdan"), ["c2"]),
        (criterion("name", "STARTS_WITH", "Car"), ["c3"]),
        (criterion("email", "ENDS_WITH", "@example.com"), ["c1", "c2", "c3"]),
        (criterion("tier", "IS_EMPTY", "true"), ["c3"]),
        (criterion("vip", "EQUAL", "false"), ["c2", "c3"]),
    ],
)
def test_each_criteria_type_over_http(
    client: httpx.Client, where: dict[str, Any], expected: list[str]
) -> None:
    """Every criteriaType filters the customers as documented."""
    assert external_ids(load(client, {"where": [where]})) == expected


def test_or_and_nested_filters_over_http(client: httpx.Client) -> None:
    """Vip = false AND (city = Iasi OR age < 30)."""
    nested = {
        "comparisonType": "OR",
        "where": [criterion("city", "EQUAL", "Iasi"), criterion("age", "LESS_THAN", "30")],
    }
    found = load(client, {"where": [criterion("vip", "EQUAL", "false")], "listFilters": [nested]})
    assert external_ids(found) == ["c2", "c3"]


def test_order_and_paging_with_has_more_results(client: httpx.Client) -> None:
    """Ordered by age descending, two per page: a first page with more, a last without."""
    order = {"orderBy": [{"columnName": "age", "direction": "DESC"}], "limit": 2}
    first = load(client, order)
    last = load(client, {**order, "offset": 2})
    assert (external_ids(first), first["hasMoreResults"]) == (["c2", "c1"], True)
    assert (external_ids(last), last["hasMoreResults"]) == (["c3"], False)


def test_the_legacy_order_spelling_over_http(client: httpx.Client) -> None:
    """OrderByPropertyDeveloperName / orderByDirectionType order the answer too."""
    found = load(client, {"orderByPropertyDeveloperName": "name", "orderByDirectionType": "DESC"})
    assert external_ids(found) == ["c3", "c2", "c1"]


def test_an_id_lookup_of_a_missing_object_is_empty(client: httpx.Client) -> None:
    """listFilter.id of no customer: an empty list."""
    assert load(client, {"id": "c99"})["objectData"] == []


def test_save_creates_an_object_without_external_id(client: httpx.Client) -> None:
    """An empty externalId is a create: the answer carries the new id, and a load finds it."""
    new = mobject({"name": "Dan", "email": "dan@example.com", "age": 50})
    response = client.put("/data", json=objects_request(new))
    assert response.status_code == 200
    (saved,) = payloads(response.json())
    assert saved == {"id": "c4", "name": "Dan", "email": "dan@example.com", "age": "50"}
    assert external_ids(response.json()) == ["c4"]
    assert external_ids(load(client, {"where": [criterion("name", "EQUAL", "Dan")]})) == ["c4"]


def test_save_updates_an_object_with_external_id(client: httpx.Client) -> None:
    """An externalId is an update of that customer (its id filled from the externalId)."""
    changed = mobject({"name": "Ana Pop", "email": "ana@new.example", "city": "Brasov"}, "c1")
    assert client.put("/data", json=objects_request(changed)).status_code == 200
    (ana,) = payloads(load(client, {"id": "c1"}))
    assert ana == {"id": "c1", "name": "Ana Pop", "email": "ana@new.example", "city": "Brasov"}


def test_delete_removes_the_objects(client: httpx.Client) -> None:
    """POST /data/delete: an empty objectData, and the customer is gone."""
    gone = mobject({"id": "c2", "name": "Bogdan Ionescu", "email": "bogdan@example.com"}, "c2")
    response = client.post("/data/delete", json=objects_request(gone))
    assert (response.status_code, response.json()["objectData"]) == (200, [])
    assert external_ids(load(client, None)) == ["c1", "c3"]


def test_an_invalid_object_is_400_with_every_violation(client: httpx.Client) -> None:
    """A save missing a mandatory property and with a bad enum: 400, both with paths."""
    bad = mobject({"name": "X", "tier": "PLATINUM"})
    response = client.put("/data", json=objects_request(bad))
    assert response.status_code == 400
    assert [(v["path"], v["rule"]) for v in response.json()["violations"]] == [
        ("$.objectData[0].properties.email", "required"),
        ("$.objectData[0].properties.tier", "enum"),
    ]
    assert external_ids(load(client, None)) == ["c1", "c2", "c3"]


def test_a_value_that_does_not_fit_is_400(client: httpx.Client) -> None:
    """An age of "old" as a ContentNumber: 400 with its path."""
    bad = mobject({"name": "X", "email": "x@example.com"})
    bad["properties"].append(
        {"developerName": "age", "contentType": "ContentNumber", "contentValue": "old"}
    )
    response = client.put("/data", json=objects_request(bad))
    assert (response.status_code, [v["path"] for v in response.json()["violations"]]) == (
        400,
        ["$.objectData[0].properties.age"],
    )


def test_an_unknown_column_is_400(client: httpx.Client) -> None:
    """A criterion on a column the type does not have is 400 naming it."""
    response = client.post(
        "/data", json=load_request({"where": [criterion("salary", "EQUAL", "1")]})
    )
    assert response.status_code == 400
    assert response.json()["violations"] == [
        {
            "path": "$.listFilter.where[0].columnName",
            "rule": "column",
            "message": (
                "no column 'salary' in this type (columns: id, name, email, city, age, vip, tier)"
            ),
        }
    ]


@pytest.mark.parametrize(
    "list_filter",
    [
        {"limit": 10**9},
        {"offset": -1},
        {"where": [criterion("age", "EQUAL", "thirty")]},
        {"where": [criterion("age", "EQUAL", 30)]},
        {"where": [criterion("name", "EQUAL", "x")], "comparisonType": "XOR"},
        {"orderBy": [{"columnName": 'name"; DROP TABLE customer; --', "direction": "ASC"}]},
        "not an object",
    ],
)
def test_hostile_list_filters_are_400(client: httpx.Client, list_filter: Any) -> None:
    """Absurd limits, negative offsets, wrong value types, SQL in a column: 400."""
    assert client.post("/data", json=load_request(list_filter)).status_code == 400


def test_sql_metacharacters_in_a_value_are_just_text(client: httpx.Client) -> None:
    """A value full of quotes and comments matches nothing and harms nothing."""
    found = load(client, {"where": [criterion("name", "EQUAL", "' OR '1'='1'; --")]})
    assert found["objectData"] == []
    assert external_ids(load(client, None)) == ["c1", "c2", "c3"]


def test_an_unknown_type_is_404(client: httpx.Client) -> None:
    """A load of a type without data actions is 404 naming the types that have them."""
    response = client.post("/data", json=load_request(None, type_name="invoice"))
    assert (response.status_code, response.json()["message"]) == (
        404,
        "no load for type 'invoice' (types: customer)",
    )


def test_a_handler_row_that_breaks_the_type_is_500(flow_http: FlowHttp) -> None:
    """A Load handler answering a row the model rejects is a service failure, never sent."""
    service = FlowService(App(), types={"customer": DataModel((Property.string("id"),))})

    @service.load("customer")
    def broken(query: Query) -> list[dict[str, Any]]:
        return [{"id": 7}]

    with serve(service) as base:
        response = flow_http.post(f"{base}/data", json=load_request(None))
    assert (response.status_code, response.headers["x-manywho-service-problem-kind"]) == (
        500,
        "service",
    )


def test_a_plain_list_longer_than_the_limit_means_more(flow_http: FlowHttp) -> None:
    """A handler returning limit + 1 rows: the page is limit rows and hasMoreResults is true."""
    service = FlowService(App(), types={"customer": DataModel((Property.string("id"),))})

    @service.load("customer")
    async def rows(query: Query) -> list[dict[str, Any]]:
        return [{"id": str(n)} for n in range(query.limit + 1)]

    with serve(service) as base:
        answer = flow_http.post(f"{base}/data", json=load_request({"limit": 3})).json()
    assert (external_ids(answer), answer["hasMoreResults"]) == (["0", "1", "2"], True)


def test_a_type_without_its_id_property_cannot_be_registered() -> None:
    """Registering data actions for a type with no id property names the fix."""
    service = FlowService(App(), types={"customer": DataModel((Property.string("code"),))})
    with pytest.raises(
        HandlerRegistrationError,
        match=r"^type 'customer' has no id property 'id' \(properties: code\); name it with",
    ):
        service.load("customer")


def test_an_unknown_type_cannot_be_registered() -> None:
    """@service.load of a name that is no type lists the types there are."""
    service = FlowService(App(), types={"customer": DataModel((Property.string("id"),))})
    with pytest.raises(
        HandlerRegistrationError, match=r"no type 'invoice'.*\(types: 'customer'\)$"
    ):
        service.load("invoice")


def test_an_integration_definition_is_a_type_too(flow_http: FlowHttp) -> None:
    """An App's integration definition gets data actions with id_properties naming its id."""
    from support.flow_adapters import catalog_app  # noqa: PLC0415

    service = FlowService(catalog_app(), id_properties={"attachment": "fileName"})

    @service.load("attachment")
    def attachments(query: Query) -> list[dict[str, Any]]:
        return [{"fileName": "a.pdf", "documentUrl": "/a.pdf"}]

    with serve(service) as base:
        answer = flow_http.post(f"{base}/data", json=load_request(None, "attachment")).json()
    assert external_ids(answer) == ["a.pdf"]


def test_a_delete_of_an_object_without_any_id_is_400(client: httpx.Client) -> None:
    """An object to delete with neither externalId nor id names nothing: 400 at its path."""
    nameless = mobject({"name": "Nobody", "email": "n@example.com"})
    response = client.post("/data/delete", json=objects_request(nameless))
    assert (response.status_code, response.json()["violations"]) == (
        400,
        [
            {
                "path": "$.objectData[0].externalId",
                "rule": "required",
                "message": "an object to delete needs its externalId (or its 'id' property)",
            }
        ],
    )
