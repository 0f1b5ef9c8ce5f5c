"""Helpers of the Flow data-action and file tests: the examples, and requests as Flow sends them."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

from flowintegrations.loading import load_module_file

ROOT = Path(__file__).resolve().parents[2]


def example(name: str) -> ModuleType:
    """The module ``examples/<name>.py``."""
    return load_module_file(ROOT / "examples" / f"{name}.py", f"example_{name}")


def typed(name: str, value: Any) -> dict[str, Any]:
    """A typed property of an object, as Flow sends it (None: no value)."""
    if isinstance(value, bool):
        content_type, text = "ContentBoolean", "true" if value else "false"
    elif isinstance(value, (int, float)):
        content_type, text = "ContentNumber", str(value)
    else:
        content_type, text = "ContentString", value
    return {"developerName": name, "contentType": content_type, "contentValue": text}


def mobject(payload: dict[str, Any], external_id: str | None = None) -> dict[str, Any]:
    """An object of type customer carrying ``payload``."""
    return {
        "externalId": external_id,
        "developerName": "customer",
        "properties": [typed(k, v) for k, v in payload.items()],
    }


def load_request(list_filter: Any = None, type_name: str = "customer") -> dict[str, Any]:
    """An ObjectDataRequest for a Load."""
    return {
        "objectDataType": {"developerName": type_name},
        "listFilter": list_filter,
        "culture": None,
    }


def objects_request(*objects: dict[str, Any]) -> dict[str, Any]:
    """An ObjectDataRequest for a Save or Delete of ``objects``."""
    return {"objectDataType": {"developerName": "customer"}, "objectData": list(objects)}


def criterion(column: str, criteria_type: str, value: Any) -> dict[str, Any]:
    """One where entry."""
    return {"columnName": column, "criteriaType": criteria_type, "contentValue": value}


def external_ids(answer: dict[str, Any]) -> list[str]:
    """The externalIds of an ObjectDataResponse's objects."""
    return [o["externalId"] for o in answer["objectData"]]


def payloads(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The scalar properties of an answer's objects, by name (absent ones left out)."""
    return [
        {
            p["developerName"]: p["contentValue"]
            for p in o["properties"]
            if p["contentValue"] is not None
        }
        for o in answer["objectData"]
    ]
