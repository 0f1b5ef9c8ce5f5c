"""The /file endpoints beyond multipart: bare octet-stream uploads, and /file/delete."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowintegrations.flow import PROBLEM_KIND_HEADER
from support.asgi import Session, session
from support.flowdata import example

CUSTOMERS = example("flow_customers")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Session]:
    """The example service in process, uploads capped at 1 KiB."""
    with session(CUSTOMERS.build(tmp_path / "files", max_upload_bytes=1024)) as client:
        yield client


def file_values(answer: dict[str, Any]) -> dict[str, Any]:
    """The properties of the one $File of an answer, by name."""
    (file,) = answer["objectData"]
    return {p["developerName"]: p["contentValue"] for p in file["properties"]}


def test_an_octet_stream_upload_is_taken(client: Session) -> None:
    """The bare file as application/octet-stream: one $File named by Content-Disposition."""
    response = client.post(
        "/file/content",
        content=b"%PDF-1.7",
        headers={
            "Content-Type": "application/octet-stream",
            "Content-Disposition": 'attachment; filename="contract.pdf"',
        },
    )
    assert response.status_code == 200
    values = file_values(response.json())
    assert (values["Name"], values["Mime Type"], values["Description"]) == (
        "contract.pdf",
        "application/octet-stream",
        "8 bytes",
    )


def test_an_octet_stream_upload_without_a_name_is_called_file(client: Session) -> None:
    """No Content-Disposition: the file is named "file"."""
    response = client.post(
        "/file/content", content=b"x", headers={"Content-Type": "application/octet-stream"}
    )
    assert file_values(response.json())["Name"] == "file"


def test_an_octet_stream_upload_over_the_cap_is_413(client: Session) -> None:
    """A bare file over max_upload_bytes: 413 naming the limit."""
    response = client.post(
        "/file/content",
        content=b"x" * 1025,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert (response.status_code, response.json()["message"]) == (
        413,
        "the file is larger than the 1024 bytes allowed",
    )


def test_file_delete_is_the_java_sdks_500_problem(
    client: Session, caplog: pytest.LogCaptureFixture
) -> None:
    """POST /file/delete: a 500 JSON problem of kind service, logged as a refusal."""
    caplog.set_level(logging.INFO, logger="flowintegrations.flow")
    response = client.post("/file/delete", json={})
    assert (response.status_code, response.json(), response.headers[PROBLEM_KIND_HEADER]) == (
        500,
        {
            "kind": "service",
            "uri": "/file/delete",
            "statusCode": 500,
            "message": "deleting files is not supported by this service",
        },
        "service",
    )
    assert [r.levelname for r in caplog.records] == ["WARNING"]
