"""File resources end to end: upload (multipart) and list, on the in-memory example."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowintegrations.flow import Upload
from support.flowcontract import FlowHttp
from support.flowdata import example, external_ids
from support.flowserver import serve

CUSTOMERS = example("flow_customers")
REQUEST = ("fileDataRequest", (None, json.dumps({"resourcePath": "contracts"}), "application/json"))


@pytest.fixture
def files_dir(tmp_path: Path) -> Path:
    """Where the service stores uploads."""
    return tmp_path / "files"


@pytest.fixture
def client(flow_http: FlowHttp, files_dir: Path) -> Iterator[httpx.Client]:
    """A client of the example service, uploads capped at 1 KiB."""
    service = CUSTOMERS.build(files_dir, max_upload_bytes=1024)
    with serve(service) as base, flow_http.client(base) as client:
        yield client


def upload(client: httpx.Client, *parts: tuple[str, Any]) -> httpx.Response:
    """POST /file/content with ``parts`` as multipart/form-data."""
    return client.post("/file/content", files=list(parts))


def raw_upload(client: httpx.Client, filename: str) -> httpx.Response:
    """An upload written by hand, so that the file name travels byte for byte."""
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="r"\r\n'
        b"Content-Type: application/json\r\n\r\n{}\r\n"
        b'--XyZ\r\nContent-Disposition: form-data; name="f"; filename="'
        + filename.encode()
        + b'"\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--\r\n'
    )
    headers = {"content-type": "multipart/form-data; boundary=XyZ"}
    return client.post("/file/content", content=body, headers=headers)


def names(answer: dict[str, Any]) -> list[str]:
    """The Name of each $File in an answer."""
    return [
        next(p["contentValue"] for p in o["properties"] if p["developerName"] == "Name")
        for o in answer["objectData"]
    ]


def test_an_upload_answers_one_file(client: httpx.Client) -> None:
    """Both parts: 200 with one $File carrying the name, MIME type and size."""
    response = upload(
        client, REQUEST, ("fileContent", ("contract.pdf", b"%PDF-1.7", "application/pdf"))
    )
    assert response.status_code == 200
    (file,) = response.json()["objectData"]
    values = {p["developerName"]: p["contentValue"] for p in file["properties"]}
    assert (file["developerName"], values["Name"], values["Mime Type"], values["Description"]) == (
        "$File",
        "contract.pdf",
        "application/pdf",
        "8 bytes",
    )
    assert file["externalId"] == values["Id"]


def test_parts_are_found_by_content_type_not_name(client: httpx.Client) -> None:
    """The file first, parts named anything: still read right."""
    response = upload(
        client,
        ("a", ("notes.txt", b"hello", "text/plain")),
        ("b", (None, "{}", "application/json")),
    )
    assert (response.status_code, names(response.json())) == (200, ["notes.txt"])


def test_list_answers_the_uploaded_files(client: httpx.Client) -> None:
    """POST /file lists what was uploaded, ordered by the list filter."""
    for name in ("b.txt", "a.txt"):
        assert upload(client, REQUEST, ("f", (name, b"x", "text/plain"))).status_code == 200
    listing = {
        "listFilter": {"orderByPropertyDeveloperName": "Name", "orderByDirectionType": "ASC"}
    }
    answer = client.post("/file", json=listing).json()
    assert (names(answer), answer["hasMoreResults"]) == (["a.txt", "b.txt"], False)


def test_list_pages_the_files(client: httpx.Client) -> None:
    """Limit 1 of two files: one, and more to come."""
    for name in ("b.txt", "a.txt"):
        upload(client, REQUEST, ("f", (name, b"x", "text/plain")))
    answer = client.post("/file", json={"listFilter": {"limit": 1}}).json()
    assert (len(external_ids(answer)), answer["hasMoreResults"]) == (1, True)


def test_a_missing_file_part_is_400(client: httpx.Client) -> None:
    """Only the request part: 400 saying the file is missing."""
    response = upload(client, REQUEST)
    assert (response.status_code, response.json()["message"]) == (
        400,
        "the upload has no file part",
    )


def test_a_missing_request_part_is_400(client: httpx.Client) -> None:
    """Only the file: 400 saying the FileDataRequest is missing."""
    response = upload(client, ("f", ("a.txt", b"x", "text/plain")))
    assert (response.status_code, response.json()["message"]) == (
        400,
        "the upload has no application/json part (the FileDataRequest)",
    )


def test_a_body_that_is_not_multipart_is_400(client: httpx.Client) -> None:
    """A JSON body on /file/content is 400."""
    response = client.post("/file/content", json={})
    assert (response.status_code, response.json()["message"]) == (
        400,
        "an upload is multipart/form-data (a JSON part and a file part)",
    )


def test_an_oversized_file_is_413(client: httpx.Client, files_dir: Path) -> None:
    """A file over max_upload_bytes is 413, and nothing is stored."""
    response = upload(client, REQUEST, ("f", ("big.bin", b"x" * 1025, "application/octet-stream")))
    assert (response.status_code, response.json()["message"]) == (
        413,
        "the file is larger than the 1024 bytes allowed",
    )
    assert list(files_dir.iterdir()) == []


def test_a_file_of_exactly_the_limit_is_taken(client: httpx.Client) -> None:
    """A file of max_upload_bytes is accepted."""
    response = upload(client, REQUEST, ("f", ("edge.bin", b"x" * 1024, "application/octet-stream")))
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd", "../../etc/passwd"),
        ("..\\..\\windows\\win.ini", "..\\..\\windows\\win.ini"),
        ("a\x00b\x01c\x7fd.txt", "abcd.txt"),
        ("/absolute/path.txt", "/absolute/path.txt"),
    ],
)
def test_hostile_file_names_stay_data(
    client: httpx.Client, files_dir: Path, sent: str, kept: str
) -> None:
    """A name with ../, NUL or control characters is kept as data, never used as a path."""
    response = raw_upload(client, sent)
    assert (response.status_code, names(response.json())) == (200, [kept])
    (file_id,) = external_ids(response.json())
    assert sorted(p.name for p in files_dir.iterdir()) == [f"{file_id}.bin", f"{file_id}.json"]


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", ".._.._etc_passwd"),
        ("..", "file"),
        ("", "file"),
        ("ok name.pdf", "ok name.pdf"),
    ],
)
def test_safe_name_is_one_harmless_path_component(name: str, safe: str) -> None:
    """Upload.safe_name has no separators and is never empty, '.' or '..'."""
    assert Upload(name=name, mime_type="text/plain", data=b"").safe_name == safe


def test_describe_provides_files(client: httpx.Client) -> None:
    """A service with file handlers says providesFiles."""
    assert client.post("/metadata", json={}).json()["providesFiles"] is True
