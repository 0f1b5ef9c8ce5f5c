"""Realistic user code of Flow data actions, files and profiles: must pass mypy --strict."""

from __future__ import annotations

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

CUSTOMER = DataModel((Property.string("id"), Property.string("name", mandatory=True)))
PROFILE: DataModel = DataModel.from_json_sample({"id": "c1", "name": "Ana"})
FROM_SCHEMA: DataModel = DataModel.from_json_schema(CUSTOMER.json_schema())

service = FlowService(App(), types={"customer": CUSTOMER}, max_upload_bytes=1024)
rows: dict[str, dict[str, Any]] = {}


@service.load("customer")
async def load(query: Query, request: FlowRequest) -> Page:
    """The customers Flow asks for."""
    page: Page = query.apply(rows.values())
    return page if request.state_id else Page([], more=False)


@service.save("customer")
def save(objects: list[FlowObject]) -> list[dict[str, Any]]:
    """Store the customers."""
    return [dict(obj.payload, id=obj.external_id or "new") for obj in objects]


@service.delete("customer")
def delete(objects: list[FlowObject]) -> None:
    """Forget the customers."""
    for obj in objects:
        rows.pop(str(obj.payload["id"]), None)


@service.upload_file
def upload(file: Upload) -> FileInfo:
    """Describe an upload."""
    size: int = file.size
    return FileInfo("f1", file.safe_name, mime_type=file.mime_type, description=f"{size} bytes")


@service.list_files
def files(request: FlowRequest) -> list[FileInfo]:
    """No files."""
    return []
