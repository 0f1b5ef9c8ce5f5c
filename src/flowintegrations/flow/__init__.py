"""The App's scenarios served to Boomi Flow over HTTP: :class:`FlowService`.

Needs the ``flow`` extra (``pip install 'flowintegrations[flow]'``): Starlette for the HTTP
layer, httpx for callbacks, uvicorn to serve it from the command line.

The names here are what a service's author uses. Others this package exported before
(``DataType``, ``build_actions``, ``CallbackSender``, ...) still import from here, and
live in their modules (:mod:`.data`, :mod:`.types`, :mod:`.callbacks`, ...).
"""

from typing import Any as _Any

try:
    import httpx as _httpx  # noqa: F401 - checked here so the message names the extra
    import starlette as _starlette  # noqa: F401
except ImportError as _missing:  # pragma: no cover - exercised in a subprocess
    _msg = (
        f"flowintegrations.flow needs the 'flow' extra ({_missing.name} is missing): "
        "pip install 'flowintegrations[flow]'"
    )
    raise ImportError(_msg, name=_missing.name) from _missing

from flowintegrations.flow.callbacks import UndeliveredCallback
from flowintegrations.flow.data import FlowObject, FlowRequest
from flowintegrations.flow.files import FileInfo, Upload
from flowintegrations.flow.http import PROBLEM_KIND_HEADER
from flowintegrations.flow.outcomes import ActionOutcome, Outcomes
from flowintegrations.flow.query import (
    Comparison,
    Criterion,
    CriterionType,
    Filter,
    OrderBy,
    Page,
    Query,
    QueryError,
)
from flowintegrations.flow.service import FlowService

__all__ = [
    "PROBLEM_KIND_HEADER",
    "ActionOutcome",
    "Comparison",
    "Criterion",
    "CriterionType",
    "FileInfo",
    "Filter",
    "FlowObject",
    "FlowRequest",
    "FlowService",
    "OrderBy",
    "Outcomes",
    "Page",
    "Query",
    "QueryError",
    "UndeliveredCallback",
    "Upload",
]

_FORMERLY = {
    "DEFAULT_MAX_BODY_BYTES": "flowintegrations.flow.http",
    "DEFAULT_MAX_UPLOAD_BYTES": "flowintegrations.flow.file_resources",
    "DEFAULT_PAGE_SIZE": "flowintegrations.flow.query",
    "FILE_TYPE": "flowintegrations.flow.files",
    "MAX_PAGE_SIZE": "flowintegrations.flow.query",
    "Action": "flowintegrations.flow.types",
    "CallbackSender": "flowintegrations.flow.callbacks",
    "ContentType": "flowintegrations.flow.types",
    "DataType": "flowintegrations.flow.data",
    "Field": "flowintegrations.flow.types",
    "FieldKind": "flowintegrations.flow.types",
    "FlowValueError": "flowintegrations.flow.values",
    "Shape": "flowintegrations.flow.types",
    "UploadError": "flowintegrations.flow.files",
    "UploadTooLarge": "flowintegrations.flow.files",
    "build_actions": "flowintegrations.flow.types",
    "describe_answer": "flowintegrations.flow.describe",
    "engine_values": "flowintegrations.flow.values",
    "payload_from_values": "flowintegrations.flow.values",
}
"""Names this package exported before its ``__all__`` was trimmed, and where they live."""


def __getattr__(name: str) -> _Any:
    """The names exported before (``_FORMERLY``), from their modules: old imports work."""
    module = _FORMERLY.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    import importlib  # noqa: PLC0415 - only for the old names

    return getattr(importlib.import_module(module), name)
