"""A customer directory served to Boomi Flow from memory: data actions and file resources.

Serve it with ``flowintegrations serve examples/flow_customers.py:service --port 8080``.
The ``customer`` type is declared for the service; Load answers with ``query.apply`` over
the rows held in memory, Save creates (a new id) or updates, Delete removes. Uploaded files
are stored in a directory (``$FLOW_FILES_DIR``, else a fresh temporary one) under ids of
their own: the name a client sent is data, kept beside the content, never a path.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flowintegrations import App, DataModel, Property
from flowintegrations.flow import (
    FileInfo,
    FlowObject,
    FlowRequest,
    FlowService,
    Page,
    Query,
    Upload,
)

CUSTOMER = DataModel(
    (
        Property.string("id", description="The customer's id, assigned on create"),
        Property.string("name", mandatory=True),
        Property.string("email", mandatory=True),
        Property.string("city"),
        Property.number("age"),
        Property.boolean("vip"),
        Property.enum("tier", ("GOLD", "SILVER", "BRONZE")),
    ),
    additional_properties=False,
)

SEED = [
    {
        "id": "c1",
        "name": "Ana Pop",
        "email": "ana@example.com",
        "city": "Cluj",
        "age": 34,
        "vip": True,
        "tier": "GOLD",
    },
    {
        "id": "c2",
        "name": "Bogdan Ionescu",
        "email": "bogdan@example.com",
        "city": "Iasi",
        "age": 41,
        "vip": False,
        "tier": "SILVER",
    },
    {
        "id": "c3",
        "name": "Carmen Dobre",
        "email": "carmen@example.com",
        "city": "Cluj",
        "age": 27,
        "vip": False,
    },
]


class CustomerStore:
    """The customers, by id, in insertion order (a lock: plain handlers run in threads)."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self._lock = threading.Lock()
        self._rows = {row["id"]: dict(row) for row in rows}
        self._next = len(rows) + 1

    def rows(self) -> list[dict[str, Any]]:
        """A copy of every customer."""
        with self._lock:
            return [dict(row) for row in self._rows.values()]

    def save(self, obj: FlowObject) -> dict[str, Any]:
        """Create (a new id) or update one customer; the saved row."""
        with self._lock:
            row = dict(obj.payload)
            if obj.external_id is None:
                row["id"] = f"c{self._next}"
                self._next += 1
            self._rows[row["id"]] = row
            return dict(row)

    def delete(self, customer_id: str) -> None:
        """Remove a customer (gone already is fine)."""
        with self._lock:
            self._rows.pop(customer_id, None)


class FileStore:
    """Uploads in a directory: ``<id>.bin`` holds the content, ``<id>.json`` its description."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def add(self, upload: Upload) -> FileInfo:
        """Store an upload under a fresh id; its description."""
        file_id = uuid.uuid4().hex  # the client's file name is never part of a path
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        info = FileInfo(
            file_id,
            upload.name or "file",
            mime_type=upload.mime_type,
            description=f"{upload.size} bytes",
            date_created=now,
            date_modified=now,
            download_uri=f"/files/{file_id}",
        )
        (self.directory / f"{file_id}.bin").write_bytes(upload.data)
        description = {
            "name": info.name,
            "mime_type": info.mime_type,
            "size": upload.size,
            "at": now,
        }
        (self.directory / f"{file_id}.json").write_text(json.dumps(description), encoding="utf-8")
        return info

    def list(self) -> list[FileInfo]:
        """Every stored file's description."""
        found = []
        for meta in sorted(self.directory.glob("*.json")):
            data = json.loads(meta.read_text(encoding="utf-8"))
            found.append(
                FileInfo(
                    meta.stem,
                    data["name"],
                    mime_type=data["mime_type"],
                    description=f"{data['size']} bytes",
                    date_created=data["at"],
                    date_modified=data["at"],
                    download_uri=f"/files/{meta.stem}",
                )
            )
        return found


def build(files_dir: Path | None = None, *, max_upload_bytes: int = 1024 * 1024) -> FlowService:
    """The service, with fresh in-memory customers and uploads stored in ``files_dir``."""
    customers = CustomerStore(SEED)
    files = FileStore(files_dir or Path(tempfile.mkdtemp(prefix="flow-files-")))
    service = FlowService(App(), types={"customer": CUSTOMER}, max_upload_bytes=max_upload_bytes)

    @service.load("customer")
    def load(query: Query) -> Page:
        return query.apply(customers.rows())

    @service.save("customer")
    def save(objects: list[FlowObject]) -> list[dict[str, Any]]:
        return [customers.save(obj) for obj in objects]

    @service.delete("customer")
    def delete(objects: list[FlowObject]) -> None:
        for obj in objects:
            customers.delete(str(obj.payload["id"]))

    @service.list_files
    def list_files(request: FlowRequest) -> list[FileInfo]:
        return files.list()

    @service.upload_file
    def upload_file(upload: Upload) -> FileInfo:
        return files.add(upload)

    return service


_directory = os.environ.get("FLOW_FILES_DIR")
service = build(Path(_directory) if _directory else None)
