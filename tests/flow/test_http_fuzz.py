"""HTTP fuzz: requests generated from each service's own OpenAPI document, in process.

Two services: the example catalog's message actions (under ``/fs/catalog``) and the
customer example's data actions and files. For every operation, schemathesis generates
requests from ``openapi_document(service)``; each answer must be a status the document
declares, JSON, never a 5xx but a handler's declared failure, and (a 2xx) valid against
the platform's contract; nothing may log a traceback. After each run the service still
answers a correct request. ``make test`` sends about 150 requests per operation;
``make fuzz-flow`` sets ``FLOW_FUZZ_EXAMPLES`` for 100,000 or more in all.
"""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from flowintegrations.flow import FlowService
from support.flow_adapters import catalog_app
from support.flowcontract import ContractViolation
from support.flowdata import example
from support.flowfuzz import InProcess, operations, verdict

EXAMPLES = int(os.environ.get("FLOW_FUZZ_EXAMPLES", "150"))
CUSTOMERS = example("flow_customers")


def catalog() -> FlowService:
    """The example catalog's actions, under a service path."""
    return FlowService(catalog_app(), path="/fs/catalog")


def customers() -> FlowService:
    """The customer example: Load, Save, Delete, file list and upload."""
    return CUSTOMERS.build(Path(os.environ.get("FLOW_FUZZ_FILES", "/tmp")) / "flow-fuzz-files")


SERVICES = {"catalog": catalog, "customers": customers}
LABELS = [(name, label) for name, build in SERVICES.items() for label in operations(build())]

CORRECT = {
    "catalog": (
        "/fs/catalog/actions/generate-otp",
        {
            "stateId": "4021",
            "inputs": [
                {"developerName": n, "contentType": "ContentString", "contentValue": v}
                for n, v in (
                    ("templateName", "otp-login"),
                    ("recipient", "+40700000000"),
                    ("channel", "SMS"),
                )
            ],
        },
    ),
    "customers": ("/data", {"objectDataType": {"developerName": "customer"}, "listFilter": None}),
}


def _kind(problem: str) -> str:
    """A problem without its particulars (the offending values), for a summary."""
    lines = problem.splitlines()
    first = lines[1].strip() if len(lines) > 1 else lines[0]
    return re.sub(r"\[\d+\]", "[i]", first.split("'")[0].strip())[:100]


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, tuple[FlowService, InProcess]]]:
    """Each service, and an in-process client of it."""
    found = {}
    for name, build in SERVICES.items():
        service = build()
        found[name] = (service, InProcess(service))
    yield found
    for _, client in found.values():
        client.close()


@pytest.mark.parametrize(("name", "label"), LABELS, ids=[f"{n}:{lbl}" for n, lbl in LABELS])
def test_generated_requests_get_declared_answers_and_no_tracebacks(
    served: dict[str, tuple[FlowService, InProcess]],
    name: str,
    label: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every generated request: a declared status, JSON, no 5xx but declared, no traceback."""
    service, client = served[name]
    operation = operations(service)[label]
    problems: list[str] = []
    sent = 0

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        nonlocal sent
        sent += 1
        try:
            found = verdict(operation, client.send(case))
        except ContractViolation as exc:  # kept, not raised: no shrinking, every kind seen
            found = str(exc)
        if found is not None:
            problems.append(found)

    caplog.set_level(logging.INFO)
    before = Counter(client.statuses)
    run()
    statuses = dict(sorted((client.statuses - before).items()))
    tracebacks = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    kinds = Counter(_kind(problem) for problem in problems)
    print(f"fuzz {name} {label}: {sent} requests, statuses {statuses}")  # noqa: T201
    for kind, count in kinds.most_common():
        print(f"  found {count} x {kind}")  # noqa: T201
    path, body = CORRECT[name]
    after = client.post(path, body)
    assert (problems[:5], tracebacks[:5], after.status_code) == ([], [], 200)
