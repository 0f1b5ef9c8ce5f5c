"""The App's scenarios served to Boomi Flow over HTTP: :class:`FlowService`.

Needs the ``flow`` extra (``pip install 'flowintegrations[flow]'``): Starlette for the HTTP
layer, httpx for callbacks, uvicorn to serve it from the command line.
"""

try:
    import httpx as _httpx  # noqa: F401 - checked here so the message names the extra
    import starlette as _starlette  # noqa: F401
except ImportError as _missing:  # pragma: no cover - exercised in a subprocess
    _msg = (
        f"flowintegrations.flow needs the 'flow' extra ({_missing.name} is missing): "
        "pip install 'flowintegrations[flow]'"
    )
    raise ImportError(_msg, name=_missing.name) from _missing

from flowintegrations.flow.callbacks import CallbackSender, UndeliveredCallback
from flowintegrations.flow.data import DataType, FlowObject, FlowRequest
from flowintegrations.flow.describe import describe_answer
from flowintegrations.flow.files import FILE_TYPE, FileInfo, Upload, UploadError, UploadTooLarge
from flowintegrations.flow.query import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Comparison,
    Criterion,
    CriterionType,
    Filter,
    OrderBy,
    Page,
    Query,
    QueryError,
)
from flowintegrations.flow.service import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_UPLOAD_BYTES,
    PROBLEM_KIND_HEADER,
    FlowService,
)
from flowintegrations.flow.types import Action, ContentType, Field, FieldKind, Shape, build_actions
from flowintegrations.flow.values import FlowValueError, engine_values, payload_from_values

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_UPLOAD_BYTES",
    "DEFAULT_PAGE_SIZE",
    "FILE_TYPE",
    "MAX_PAGE_SIZE",
    "PROBLEM_KIND_HEADER",
    "Action",
    "CallbackSender",
    "Comparison",
    "ContentType",
    "Criterion",
    "CriterionType",
    "DataType",
    "Field",
    "FieldKind",
    "FileInfo",
    "Filter",
    "FlowObject",
    "FlowRequest",
    "FlowService",
    "FlowValueError",
    "OrderBy",
    "Page",
    "Query",
    "QueryError",
    "Shape",
    "UndeliveredCallback",
    "Upload",
    "UploadError",
    "UploadTooLarge",
    "build_actions",
    "describe_answer",
    "engine_values",
    "payload_from_values",
]
