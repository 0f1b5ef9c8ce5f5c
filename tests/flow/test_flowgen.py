"""The seeded request generator of the HTTP fuzz (tests/support/flowgen.py) on its own."""

from __future__ import annotations

import json
import logging
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowintegrations.flow import FlowService
from flowintegrations.flow.openapi import openapi_document
from support.flow_adapters import catalog_app
from support.flowdata import example
from support.flowfuzz import Direct, catalog_values, customer_values
from support.flowgen import MUTATIONS, Generator, Request

SAMPLE = 120


def services() -> dict[str, FlowService]:
    """The two services the fuzz sends to (fresh ones)."""
    customers = example("flow_customers").build(Path(tempfile.mkdtemp(prefix="flowgen-")))
    return {"catalog": FlowService(catalog_app(), path="/fs/catalog"), "customers": customers}


VALUES = {"catalog": catalog_values, "customers": customer_values}


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, tuple[Generator, Direct]]]:
    """Each service, a generator of its document (seed 7), and a direct client of it."""
    found = {}
    for name, service in services().items():
        generator = Generator(openapi_document(service), seed="7", values=VALUES[name]())
        found[name] = (generator, Direct(service))
    yield found
    for _, client in found.values():
        client.close()


def bodies(generator: Generator, label: str, count: int = SAMPLE) -> list[Any]:
    """The JSON bodies of the unspoiled requests among the first ``count`` of ``label``."""
    return [
        json.loads(r.body or b"{}")
        for r in generator.requests(label, count)
        if not r.mutations and r.body
    ]


def test_every_operation_of_the_document_is_generated(
    served: dict[str, tuple[Generator, Direct]],
) -> None:
    """One generated operation a (method, path) of the document, each with its requests."""
    for name, (generator, _) in served.items():
        document = generator.document
        labels = sorted(f"{m.upper()} {p}" for p, ops in document["paths"].items() for m in ops)
        made = {label: next(generator.requests(label, 1)) for label in generator.operations}
        assert (name, sorted(made)) == (name, labels)
        assert all((r.method, r.path) == tuple(k.split(" ", 1)) for k, r in made.items())


def test_the_same_seed_makes_the_same_requests() -> None:
    """Seed, operation and index fix a request; another seed makes other requests."""
    document = openapi_document(services()["customers"])
    first = list(Generator(document, seed="7").requests("PUT /data", 50))
    again = list(Generator(document, seed="7").requests("PUT /data", 50))
    other = list(Generator(document, seed="8").requests("PUT /data", 50))
    assert (first == again, first == other) == (True, False)


def test_a_request_is_made_again_alone_from_its_index() -> None:
    """request(label, i) is the i-th of requests(label, n): a failure replays by its index."""
    generator = Generator(openapi_document(services()["customers"]), seed="7")
    run = list(generator.requests("POST /data", 40))
    assert [generator.request("POST /data", i) for i in (0, 17, 39)] == [run[0], run[17], run[39]]


def test_a_replay_names_the_seed_index_and_request() -> None:
    """replay() prints the seed as FLOW_FUZZ_SEED, the index, mutations, method, path, body."""
    request = Request("POST /data", "POST", "/data", b'{"a": 1}', (), ("null",), "7", 12)
    assert request.replay() == (
        "FLOW_FUZZ_SEED=7 POST /data #12 (Generator(document, seed='7')"
        ".request('POST /data', 12)) mutations ['null']\n"
        "  POST /data headers {}\n"
        '  body {"a": 1}'
    )


def test_every_mutation_occurs(served: dict[str, tuple[Generator, Direct]]) -> None:
    """Over a few hundred requests of an operation with a body, each mutation is used."""
    generator, _ = served["customers"]
    used = Counter(m for r in generator.requests("PUT /data", 400) for m in r.mutations)
    assert sorted(used) == sorted(MUTATIONS)


def test_valid_requests_are_mostly_answered_2xx(
    served: dict[str, tuple[Generator, Direct]],
) -> None:
    """Of the unspoiled requests: 2xx for at least 70% in all and 10% of every operation."""
    logging.disable(logging.WARNING)  # the service's one line a rejected request
    shares = {}
    try:
        for generator, client in served.values():
            for label in generator.operations:
                valid = [r for r in generator.requests(label, SAMPLE) if not r.mutations]
                codes = [client.send(r.method, r.path, r.body, r.headers) for r in valid]
                shares[label] = (sum(c.status_code < 300 for c in codes), len(valid))
    finally:
        logging.disable(logging.NOTSET)
    ok, sent = (sum(x) for x in zip(*shares.values(), strict=True))
    low = {label: share for label, share in shares.items() if share[0] < 0.1 * share[1]}
    assert (low, ok >= 0.7 * sent) == ({}, True)


def test_valid_requests_are_shaped_as_the_engine_sends_them(
    served: dict[str, tuple[Generator, Direct]],
) -> None:
    """Every property in objects, "" unset, limit 0 and null, value-only where, lowercase."""
    generator, _ = served["customers"]
    saves = bodies(generator, "PUT /data", 200)
    loads = bodies(generator, "POST /data", 400)
    objects = [o for body in saves for o in body.get("objectData") or ()]
    names = [sorted(p["developerName"] for p in o["properties"] or ()) for o in objects]
    values = [p for o in objects for p in o["properties"] or ()]
    filters = [body["listFilter"] for body in loads if body.get("listFilter")]
    wheres = [w for f in filters for w in f.get("where") or ()]
    assert {
        "every property": ["age", "city", "email", "id", "name", "tier", "vip"] in names,
        "unset as empty text": any(p["contentValue"] == "" for p in values),
        "lowercase content type": any(p["contentType"] == "contentboolean" for p in values),
        "limit 0": any(f.get("limit") == 0 for f in filters),
        "limit null": any("limit" in f and f["limit"] is None for f in filters),
        "value only": any("value" in w and "contentValue" not in w for w in wheres),
        "culture": any(isinstance(body.get("culture"), dict) for body in loads),
        "configuration values": any(body.get("configurationValues") for body in loads),
    } == dict.fromkeys(
        (
            "every property",
            "unset as empty text",
            "lowercase content type",
            "limit 0",
            "limit null",
            "value only",
            "culture",
            "configuration values",
        ),
        True,
    )


def test_an_action_gets_every_input_by_name_with_its_content_type(
    served: dict[str, tuple[Generator, Direct]],
) -> None:
    """generate-otp's inputs: each described input at most once, in order, its declared type.

    The type in any case: the engine sends lowercase words too.
    """
    generator, _ = served["catalog"]
    every = [
        ("templateName", "contentstring"),
        ("recipient", "contentstring"),
        ("channel", "contentstring"),
        ("language", "contentstring"),
        ("length", "contentnumber"),
    ]
    sent = [
        [(v["developerName"], v["contentType"].lower()) for v in body["inputs"]]
        for body in bodies(generator, "POST /fs/catalog/actions/generate-otp")
        if body.get("inputs") is not None
    ]
    assert (every in sent, [s for s in sent if s != [x for x in every if x in s]]) == (True, [])
