"""Requests shaped exactly as the Flow engine sends them, replayed through both examples.

The fixtures (tests/flow/fixtures/engine/, see its README) carry every property of the
type with ``""`` for unset ones, ``limit: 0`` and ``limit: null``, a ``culture`` object,
``configurationValues``, a where entry with only ``value`` and lowercase enum words. Each
test runs against the in-memory example (examples/flow_customers.py) and the PostgreSQL
one (needs the local PostgreSQL, like tests/flow/test_postgres.py; never skipped).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowintegrations.flow import FlowRequest
from support.flowcontract import FlowHttp
from support.flowdata import example, external_ids, payloads
from support.flowserver import serve

FIXTURES = Path(__file__).with_name("fixtures") / "engine"
MEMORY = example("flow_customers")
POSTGRES = example("flow_customers_postgres")


def engine(name: str) -> dict[str, Any]:
    """The engine-shaped request ``name`` (a fresh copy)."""
    loaded: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return loaded


class Backend:
    """A served example and a way to read its rows."""

    def __init__(self, client: httpx.Client, rows: Any) -> None:
        self.client = client
        self.rows = rows

    def by_id(self) -> dict[str, dict[str, Any]]:
        """Every stored customer by id."""
        return {row["id"]: row for row in self.rows()}


@pytest.fixture(params=["memory", "postgres"])
def backend(
    request: pytest.FixtureRequest, flow_http: FlowHttp, tmp_path: Path
) -> Iterator[Backend]:
    """The in-memory example, then the PostgreSQL one, each seeded with c1, c2, c3."""
    if request.param == "memory":
        service = MEMORY.build(tmp_path / "files")
        # The in-memory store is the handlers' closure: read it back through a Load.
        with serve(service) as base, flow_http.client(base) as client:

            def rows() -> list[dict[str, Any]]:
                answer = client.post("/data", json=engine("load-all")).json()
                return [_typed(p) for p in payloads(answer)]

            yield Backend(client, rows)
        return
    directory = POSTGRES.CustomerDirectory(schema=f"flow_engine_{uuid.uuid4().hex[:12]}")
    directory.insert(MEMORY.SEED)
    try:
        with serve(POSTGRES.build(directory)) as base, flow_http.client(base) as client:
            yield Backend(client, directory.rows)
    finally:
        directory.drop()


def _typed(row: dict[str, Any]) -> dict[str, Any]:
    """A row read from an answer's text values, typed like the stored rows."""
    typed: dict[str, Any] = dict(row)
    if "age" in typed:
        typed["age"] = int(typed["age"])
    if "vip" in typed:
        typed["vip"] = typed["vip"] == "true"
    return typed


def test_limit_0_loads_every_row_past_the_default_page(backend: Backend) -> None:
    """Limit 0 is no limit: 25 customers past the 20 default all come back, no more left."""
    many = engine("save-create")
    template = many["objectData"][0]
    many["objectData"] = []
    for n in range(22):
        item = copy.deepcopy(template)
        item["internalId"] = str(uuid.UUID(int=n + 1))
        for prop in item["properties"]:
            if prop["developerName"] == "name":
                prop["contentValue"] = f"Extra {n:02d}"
        many["objectData"].append(item)
    assert backend.client.put("/data", json=many).status_code == 200
    answer = backend.client.post("/data", json=engine("load-all")).json()
    assert (len(answer["objectData"]), answer["hasMoreResults"]) == (25, False)


def test_limit_null_with_value_only_and_lowercase_words(backend: Backend) -> None:
    """Limit null, a where entry with only `value`, `equal`/`and`/`desc`: Cluj by name desc."""
    answer = backend.client.post("/data", json=engine("load-null-limit")).json()
    assert (external_ids(answer), answer["hasMoreResults"]) == (["c3", "c1"], False)


def test_a_load_by_id_answers_that_object(backend: Backend) -> None:
    """listFilter.id (with limit 0 and every other field null or "") is one object."""
    answer = backend.client.post("/data", json=engine("load-by-id")).json()
    assert external_ids(answer) == ["c2"]
    assert answer["objectData"][0]["internalId"] is None


def test_a_create_with_every_property_empty_but_two(backend: Backend) -> None:
    """Unset number, boolean and enum ("") are absent; a new id; internalId kept."""
    response = backend.client.put("/data", json=engine("save-create"))
    assert response.status_code == 200, response.text
    answer = response.json()
    (created,) = external_ids(answer)
    assert answer["objectData"][0]["internalId"] == "0f8a6b2c-4d1e-4f3a-9b5c-6d7e8f901234"
    assert created not in ("", "c1", "c2", "c3")
    stored = backend.by_id()[created]
    assert {k: v for k, v in stored.items() if v is not None} == {
        "id": created,
        "name": "Dana Vlad",
        "email": "dana@example.com",
        "city": "",
    }
    assert len(backend.by_id()) == 4


@pytest.mark.parametrize("sent", ["a", "", "not-a-uuid", "{0f8a6b2c-4d1e-4f3a-9b5c-6d7e8f901234}"])
def test_an_internal_id_that_is_no_uuid_is_answered_null(backend: Backend, sent: str) -> None:
    """A Save of an object whose internalId is no UUID answers internalId null (not 'a')."""
    request = engine("save-update")
    request["objectData"][0]["internalId"] = sent
    response = backend.client.put("/data", json=request)
    assert (response.status_code, response.json()["objectData"][0]["internalId"]) == (200, None)


def test_an_update_keeps_its_id_from_the_external_id(backend: Backend) -> None:
    """ExternalId c2 with its id property "" updates row c2; no row '' appears."""
    response = backend.client.put("/data", json=engine("save-update"))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (external_ids(answer), answer["objectData"][0]["internalId"]) == (
        ["c2"],
        "1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d",
    )
    by_id = backend.by_id()
    assert (sorted(by_id), by_id["c2"]) == (
        ["c1", "c2", "c3"],
        {
            "id": "c2",
            "name": "Bogdan Ionescu",
            "email": "bogdan@example.org",
            "city": "Iasi",
            "age": 42,
            "vip": True,
            "tier": "GOLD",
        },
    )


def test_a_delete_by_external_id_with_every_property_empty(backend: Backend) -> None:
    """{externalId: c3, properties all ""} deletes row c3 and answers no objects."""
    response = backend.client.post("/data/delete", json=engine("delete"))
    assert response.status_code == 200, response.text
    assert response.json()["objectData"] == []
    assert sorted(backend.by_id()) == ["c1", "c2"]


def test_the_requested_properties_reach_the_handler() -> None:
    """objectDataType.properties of an engine request are the FlowRequest's properties."""
    request = FlowRequest.from_body("customer", engine("load-all"))
    assert (request.properties, request.culture["language"], request.configuration_values) == (
        ("id", "name", "email", "city", "age", "vip", "tier"),
        "EN",
        {"Host": "db.example.com", "Port": "5432", "Username": "flow"},
    )
