"""The describe answer for examples/catalog.json: a snapshot, and the shapes of FLOW-SERVICES.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowintegrations.flow import FlowService
from support.flow_adapters import catalog_app
from support.flowcontract import FlowHttp
from support.flowserver import serve

SNAPSHOT = Path(__file__).with_name("snapshots") / "catalog_describe.json"
DESCRIBE_VALUE_KEYS = {
    "developerName",
    "contentType",
    "contentValue",
    "typeElementDeveloperName",
    "required",
    "isRequired",
    "ordinal",
    "order",
}


@pytest.fixture(scope="module")
def answer(flow_http: FlowHttp) -> dict[str, Any]:
    """/metadata of the catalog adapter, as served by uvicorn."""
    with serve(FlowService(catalog_app(), path="/fs/catalog")) as base:
        response = flow_http.post(
            f"{base}/fs/catalog/metadata", json={"culture": None, "uri": None}
        )
    assert response.status_code == 200
    return response.json()


def test_the_answer_matches_the_snapshot(answer: dict[str, Any]) -> None:
    """The whole describe answer is the reviewed snapshot (internal ids aside, there are none)."""
    assert answer == json.loads(SNAPSHOT.read_text(encoding="utf-8"))


def test_install_answers_the_same(flow_http: FlowHttp, answer: dict[str, Any]) -> None:
    """/metadata/install gives the same full answer as /metadata."""
    with serve(FlowService(catalog_app(), path="/fs/catalog")) as base:
        install = flow_http.post(f"{base}/fs/catalog/metadata/install", json={}).json()
    assert install == answer


def test_only_logic_is_provided(answer: dict[str, Any]) -> None:
    """Only the providesLogic capability flag is true."""
    flags = {k: v for k, v in answer.items() if k.startswith("provides")}
    assert [k for k, v in flags.items() if v] == ["providesLogic"]
    assert len(flags) == 12


def test_every_action_has_the_described_shape(answer: dict[str, Any]) -> None:
    """Each action: uriPart actions/<scenario>, inputs and outputs with both spellings."""
    assert [a["uriPart"] for a in answer["actions"]] == [
        "actions/generate-otp",
        "actions/send-email",
        "actions/generate-document",
        "actions/search-customer",
    ]
    for action in answer["actions"]:
        assert set(action) == {
            "developerName",
            "developerSummary",
            "uriPart",
            "serviceInputs",
            "serviceOutputs",
            "serviceActionOutcomes",
            "isViewMessageAction",
        }
        for value in action["serviceInputs"] + action["serviceOutputs"]:
            assert set(value) == DESCRIBE_VALUE_KEYS
            assert (value["required"], value["ordinal"]) == (value["isRequired"], value["order"])


def test_a_reference_input_names_its_type(answer: dict[str, Any]) -> None:
    """generate-document's OBJECT_REF input is a ContentObject of the type 'address'."""
    document = answer["actions"][2]
    address = next(v for v in document["serviceInputs"] if v["developerName"] == "address")
    assert (address["contentType"], address["typeElementDeveloperName"], address["required"]) == (
        "ContentObject",
        "address",
        True,
    )


def test_definitions_are_types_without_bindings(answer: dict[str, Any]) -> None:
    """Each definition is a TYPE; without data actions it has no binding."""
    types = {t["developerName"]: t for t in answer["install"]["typeElements"]}
    attachment = types["attachment"]
    assert attachment["elementType"] == "TYPE"
    assert [p["developerName"] for p in attachment["properties"]] == [
        "fileName",
        "contentType",
        "documentUrl",
        "sizeBytes",
    ]
    assert attachment["bindings"] == []


def test_inline_objects_are_types_named_by_action_and_path(answer: dict[str, Any]) -> None:
    """The recipients of send-email are the type 'send-email request recipients'."""
    names = [t["developerName"] for t in answer["install"]["typeElements"]]
    assert names == [
        "attachment",
        "address",
        "send-email request recipients",
        "search-customer reply customers",
    ]


def test_an_object_without_properties_is_neither_a_type_nor_a_value(
    answer: dict[str, Any],
) -> None:
    """send-email's free-form `data` (no properties) is left out: the Java SDK refuses it."""
    send_email = next(a for a in answer["actions"] if a["uriPart"] == "actions/send-email")
    names = [v["developerName"] for v in send_email["serviceInputs"]]
    ordinals = [v["ordinal"] for v in send_email["serviceInputs"]]
    assert (names, ordinals) == (
        ["templateName", "language", "subject", "recipients", "attachments"],
        [0, 1, 2, 3, 4],
    )
