"""HTTP fuzz: requests generated from each service's own OpenAPI document, in process.

Two services: the example catalog's message actions (under ``/fs/catalog``) and the
customer example's data actions and files. Two generators read ``openapi_document(service)``
for every operation: the seeded one of support.flowgen (engine-shaped valid requests, most
of them spoiled by its mutations; cheap, so thousands an operation) and schemathesis (a
different, slower search). Each answer must be a status the document declares, JSON, never
a 5xx but a handler's declared failure, and (a 2xx) valid against the platform's contract;
nothing may log a traceback. After each run the service still answers a correct request.

``make test``: 2,500 seeded requests an operation (``FLOW_FUZZ_REQUESTS``; the seed is
``FLOW_FUZZ_SEED``, 21 unless set, and a failure prints the seed, index and request to
replay) and 100 schemathesis examples an operation (``FLOW_FUZZ_EXAMPLES``), about 39,000
requests in all. ``make fuzz-flow`` sends over 100,000 (see the Makefile).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings

from flowintegrations.flow import FlowService
from flowintegrations.flow.openapi import openapi_document
from support.flow_adapters import catalog_app
from support.flowcontract import ContractViolation
from support.flowdata import example
from support.flowfuzz import (
    Direct,
    InProcess,
    catalog_values,
    customer_values,
    judge,
    operations,
    verdict,
)
from support.flowgen import Generator

EXAMPLES = int(os.environ.get("FLOW_FUZZ_EXAMPLES", "100"))
REQUESTS = int(os.environ.get("FLOW_FUZZ_REQUESTS", "2500"))
SEED = os.environ.get("FLOW_FUZZ_SEED", "21")
CUSTOMERS = example("flow_customers")


def catalog(files: Path) -> FlowService:
    """The example catalog's actions, under a service path."""
    return FlowService(catalog_app(), path="/fs/catalog")


def customers(files: Path) -> FlowService:
    """The customer example: Load, Save, Delete, file list and upload (stored in ``files``)."""
    return CUSTOMERS.build(files)


SERVICES = {"catalog": catalog, "customers": customers}
VALUES = {"catalog": catalog_values, "customers": customer_values}
LABELS = [
    (name, label)
    for name, build in SERVICES.items()
    for label in operations(build(Path(tempfile.gettempdir()) / "flow-fuzz-labels"))
]

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


def _reported(
    what: str, sent: int, statuses: Counter[int], kinds: Counter[str], caplog: Any
) -> list[logging.LogRecord]:
    """Print one operation's summary line and problem kinds; the records with a traceback."""
    print(f"{what}: {sent} requests, statuses {dict(sorted(statuses.items()))}")  # noqa: T201
    for kind, count in kinds.most_common():
        print(f"  found {count} x {kind}")  # noqa: T201
    return [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


T = TypeVar("T")
C = TypeVar("C", InProcess, Direct)


def _each_service(
    factory: pytest.TempPathFactory, folder: str, pair: Callable[[str, FlowService], tuple[T, C]]
) -> Iterator[dict[str, tuple[T, C]]]:
    """For each service (uploads in a fresh ``folder``), what ``pair`` makes of it; then close.

    ``pair`` gives what the test reads and the client it sends with, closed at the end.
    """
    found = {name: pair(name, build(factory.mktemp(folder))) for name, build in SERVICES.items()}
    yield found
    for _, client in found.values():
        client.close()


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, tuple[FlowService, InProcess]]]:
    """Each service (uploads in a fresh directory), and an in-process client of it."""
    yield from _each_service(
        tmp_path_factory, "schemathesis-files", lambda _, service: (service, InProcess(service))
    )


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
    kinds = Counter(_kind(problem) for problem in problems)
    tracebacks = _reported(f"fuzz {name} {label}", sent, client.statuses - before, kinds, caplog)
    path, body = CORRECT[name]
    after = client.post(path, body)
    assert (problems[:5], tracebacks[:5], after.status_code) == ([], [], 200)


@pytest.fixture(scope="module")
def seeded(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, tuple[Generator, Direct]]]:
    """Each service (fresh ones), its seeded generator, and a direct ASGI client of it."""

    def pair(name: str, service: FlowService) -> tuple[Generator, Direct]:
        generator = Generator(openapi_document(service), seed=SEED, values=VALUES[name]())
        return generator, Direct(service)

    yield from _each_service(tmp_path_factory, "seeded-files", pair)


@pytest.mark.parametrize(("name", "label"), LABELS, ids=[f"{n}:{lbl}" for n, lbl in LABELS])
def test_seeded_requests_get_declared_answers_and_no_tracebacks(
    seeded: dict[str, tuple[Generator, Direct]],
    name: str,
    label: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every seeded request: a declared status, JSON, no 5xx but declared, no traceback."""
    generator, client = seeded[name]
    declared = generator.operations[label].statuses
    problems: list[str] = []
    kinds: Counter[str] = Counter()
    caplog.set_level(logging.INFO)
    before = Counter(client.statuses)
    for request in generator.requests(label, REQUESTS):
        try:
            answer = client.send(request.method, request.path, request.body, request.headers)
            found = judge(label, declared, answer)
        except ContractViolation as exc:
            found = str(exc)
        if found is not None:
            kinds[_kind(found)] += 1
            problems.append(f"{found}\n{request.replay()}")
    seen = client.statuses - before
    tracebacks = _reported(f"seeded {name} {label}", REQUESTS, seen, kinds, caplog)
    path, body = CORRECT[name]
    after = client.send(
        "POST", path, json.dumps(body).encode(), [("Content-Type", "application/json")]
    )
    assert (problems[:3], tracebacks[:3], after.status_code) == ([], [], 200)
