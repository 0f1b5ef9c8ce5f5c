"""The PostgreSQL example end to end, and its SQL held to Query.apply.

Needs the local PostgreSQL (127.0.0.1:5432, user postgres, database test, or
``$FLOW_CUSTOMERS_DSN``); without it these tests error, they never skip. Each test run
uses schemas of its own and drops them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings

from flowintegrations.flow import Query
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
from support.flowquery import COLUMNS, list_filters, rows
from support.flowserver import serve

POSTGRES = example("flow_customers_postgres")
SEED = example("flow_customers").SEED


def _directory(prefix: str) -> Any:
    directory = POSTGRES.CustomerDirectory(schema=f"{prefix}_{uuid.uuid4().hex[:12]}")
    try:
        directory.connection()
    except psycopg.OperationalError as exc:
        msg = (
            f"PostgreSQL is not reachable at {directory.dsn!r} ({exc}); these tests need it: "
            "start it, or point $FLOW_CUSTOMERS_DSN at one"
        )
        raise RuntimeError(msg) from exc
    return directory


@pytest.fixture
def directory() -> Iterator[Any]:
    """A customer table in a fresh schema, holding the three example customers."""
    found = _directory("flow_test")
    found.insert(SEED)
    yield found
    found.drop()


@pytest.fixture
def client(flow_http: FlowHttp, directory: Any) -> Iterator[httpx.Client]:
    """A client of the PostgreSQL service over that table."""
    with serve(POSTGRES.build(directory)) as base, flow_http.client(base) as client:
        yield client


def load(client: httpx.Client, list_filter: Any) -> dict[str, Any]:
    """POST /data with ``list_filter``; the answer (which must be 200)."""
    response = client.post("/data", json=load_request(list_filter))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def table_exists(directory: Any) -> bool:
    """Whether the customer table is still there."""
    found = directory.connection().execute(
        "SELECT to_regclass(%s) IS NOT NULL AS found", [f"{directory.schema}.customer"]
    )
    return bool(found.fetchone()["found"])


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (criterion("city", "EQUAL", "Cluj"), ["c1", "c3"]),
        (criterion("city", "NOT_EQUAL", "Cluj"), ["c2"]),
        (criterion("age", "GREATER_THAN", "34"), ["c2"]),
        (criterion("age", "GREATER_THAN_OR_EQUAL", "34"), ["c1", "c2"]),
        (criterion("age", "LESS_THAN", "34"), ["c3"]),
        (criterion("age", "LESS_THAN_OR_EQUAL", "34.0"), ["c1", "c3"]),
        (criterion("email", "CONTAINS", "bogdan"), ["c2"]),
        (criterion("name", "STARTS_WITH", "Car"), ["c3"]),
        (criterion("email", "ENDS_WITH", "@example.com"), ["c1", "c2", "c3"]),
        (criterion("tier", "IS_EMPTY", "true"), ["c3"]),
        (criterion("tier", "IS_EMPTY", "false"), ["c1", "c2"]),
        (criterion("vip", "EQUAL", "false"), ["c2", "c3"]),
    ],
)
def test_each_criteria_type_in_sql(
    client: httpx.Client, where: dict[str, Any], expected: list[str]
) -> None:
    """Every criteriaType, as SQL, selects what the in-memory example does."""
    assert external_ids(load(client, {"where": [where]})) == expected


def test_or_and_nesting_in_sql(client: httpx.Client) -> None:
    """Vip = false AND (city = Iasi OR age < 30), as SQL."""
    nested = {
        "comparisonType": "OR",
        "where": [criterion("city", "EQUAL", "Iasi"), criterion("age", "LESS_THAN", "30")],
    }
    found = load(client, {"where": [criterion("vip", "EQUAL", "false")], "listFilters": [nested]})
    assert external_ids(found) == ["c2", "c3"]


def test_order_and_paging_in_sql(client: httpx.Client) -> None:
    """Ordered by age descending, two per page, hasMoreResults honest on both pages."""
    order = {"orderByPropertyDeveloperName": "age", "orderByDirectionType": "DESC", "limit": 2}
    first = load(client, order)
    last = load(client, {**order, "offset": 2})
    assert (external_ids(first), first["hasMoreResults"]) == (["c2", "c1"], True)
    assert (external_ids(last), last["hasMoreResults"]) == (["c3"], False)


def test_an_id_lookup_in_sql(client: httpx.Client) -> None:
    """listFilter.id loads that one customer, with its typed values."""
    assert payloads(load(client, {"id": "c2"})) == [
        {
            "id": "c2",
            "name": "Bogdan Ionescu",
            "email": "bogdan@example.com",
            "city": "Iasi",
            "age": "41",
            "vip": "false",
            "tier": "SILVER",
        }
    ]


def test_save_creates_and_updates_rows(client: httpx.Client, directory: Any) -> None:
    """One save: a new customer gets an id, an existing one is updated."""
    new = mobject({"name": "Dan", "email": "dan@example.com"})
    changed = mobject({"name": "Ana Pop", "email": "ana@new.example"}, "c1")
    response = client.put("/data", json=objects_request(new, changed))
    assert response.status_code == 200
    created, updated = external_ids(response.json())
    assert updated == "c1"
    by_id = {row["id"]: row for row in directory.rows()}
    assert (by_id[created]["name"], by_id["c1"]["email"], len(by_id)) == (
        "Dan",
        "ana@new.example",
        4,
    )


def test_delete_removes_rows(client: httpx.Client, directory: Any) -> None:
    """POST /data/delete removes the customers it names."""
    gone = mobject({"id": "c1", "name": "Ana Pop", "email": "ana@example.com"}, "c1")
    assert client.post("/data/delete", json=objects_request(gone)).status_code == 200
    assert [row["id"] for row in directory.rows()] == ["c2", "c3"]


@pytest.mark.parametrize(
    "list_filter",
    [
        {"where": [criterion("name; DROP TABLE customer; --", "EQUAL", "x")]},
        {"orderBy": [{"columnName": 'name" DESC; DELETE FROM customer; --', "direction": "ASC"}]},
        {"orderByPropertyDeveloperName": "age", "orderByDirectionType": "ASC; DROP TABLE customer"},
        {"where": [criterion("salary", "GREATER_THAN", "0")]},
        {"limit": 10**15},
        {"limit": -1},
        {"offset": -10},
        {"offset": 10**30},
        {"where": [criterion("age", "EQUAL", "1 OR 1=1")]},
        {"where": [criterion("vip", "EQUAL", "1")]},
        {"where": [criterion("name", "EQUAL", "a\x00b")]},
        {"where": [criterion("age", "CONTAINS", "1")]},
    ],
)
def test_hostile_queries_are_refused_and_change_nothing(
    client: httpx.Client, directory: Any, list_filter: Any
) -> None:
    """SQL in columns, unknown columns, absurd pages, wrong types: 400, the table unchanged."""
    before = directory.rows()
    response = client.post("/data", json=load_request(list_filter))
    assert response.status_code == 400
    assert (table_exists(directory), directory.rows()) == (True, before)


@pytest.mark.parametrize(
    "value",
    [
        "'; DROP TABLE customer; --",
        "' OR '1'='1",
        "%",
        "_",
        "\\",
        "$1",
        "%s",
        "Robert'); DELETE FROM customer;--",
    ],
)
def test_sql_metacharacters_in_values_are_just_text(
    client: httpx.Client, directory: Any, value: str
) -> None:
    """Values full of SQL match literally (nothing here) and change nothing."""
    before = directory.rows()
    for kind in ("EQUAL", "CONTAINS", "STARTS_WITH", "ENDS_WITH"):
        assert load(client, {"where": [criterion("name", kind, value)]})["objectData"] == []
    assert load(client, {"search": value})["objectData"] == []
    assert (table_exists(directory), directory.rows()) == (True, before)


def test_a_saved_value_with_sql_is_stored_as_text(client: httpx.Client, directory: Any) -> None:
    """A name that is SQL is saved as that text, and the table is still there."""
    evil = "x'); DROP TABLE customer; --"
    response = client.put("/data", json=objects_request(mobject({"name": evil, "email": "e@x"})))
    assert response.status_code == 200
    assert table_exists(directory)
    assert evil in [row["name"] for row in directory.rows()]


def test_an_invalid_save_changes_nothing(client: httpx.Client, directory: Any) -> None:
    """A save with one good and one invalid object is 400, and neither is stored."""
    good = mobject({"name": "Dan", "email": "dan@example.com"})
    bad = mobject({"name": "Eve", "tier": "PLATINUM"})
    before = directory.rows()
    response = client.put("/data", json=objects_request(good, bad))
    assert response.status_code == 400
    assert directory.rows() == before


def test_a_nul_in_a_saved_value_is_400_and_changes_nothing(
    client: httpx.Client, directory: Any
) -> None:
    """PostgreSQL text cannot hold NUL: the save is refused, nothing stored."""
    before = directory.rows()
    response = client.put("/data", json=objects_request(mobject({"name": "a\x00", "email": "e@x"})))
    assert response.status_code == 400
    assert directory.rows() == before


@pytest.fixture(scope="module")
def scratch() -> Iterator[Any]:
    """An empty customer table of its own, for the property test."""
    found = _directory("flow_prop")
    yield found
    found.drop()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(table=rows(), list_filter=list_filters())
def test_sql_selects_what_query_apply_selects(
    scratch: Any, table: list[dict[str, Any]], list_filter: dict[str, Any]
) -> None:
    """For random rows and list filters, the SQL page equals query.apply(rows)."""
    scratch.connection().execute(f'TRUNCATE "{scratch.schema}".customer')
    scratch.insert(table)
    query = Query.from_list_filter(
        list_filter, type_name="customer", columns=COLUMNS, id_property="id"
    )
    in_sql = scratch.load(query)
    expected = query.apply(table)
    assert ([r["id"] for r in in_sql.objects], in_sql.more) == (
        [r["id"] for r in expected.objects],
        expected.more,
    )
