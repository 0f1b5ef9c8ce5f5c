"""A Flow Load on PostgreSQL: FlowService against a hand-written Starlette endpoint.

    .venv/bin/python bench/flow_data.py [--requests 4000] [--rounds 3] [--json OUT]

Both contenders answer the same Load: a 20-row page of customers with a two-criteria
filter (``city EQUAL Cluj AND age GREATER_THAN 30``, ordered by name) from a table of
5,000 rows, each in its own uvicorn process (one worker, loopback, no access log), each
with one psycopg 3 connection used from a worker thread. "hand" is what one would write
without the SDK: a Starlette route that reads the ListFilter by hand (columns checked
against a list), runs a parameterised SELECT and writes the objects by hand. "ours" is
``examples/flow_customers_postgres.py``: FlowService's typed query, the example's SQL
builder, validation of every row against the type, and the SDK's value conversion.

The table lives in a schema of its own, dropped at the end. Throughput is requests/s of a
round (median over rounds); latencies are pooled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import psycopg
import uvicorn
from http_load import compare, free_port
from psycopg import sql
from psycopg.rows import dict_row
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from flowintegrations.loading import load_module_file

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = load_module_file(ROOT / "examples" / "flow_customers_postgres.py", "flow_pg_example")
CITIES = ("Cluj", "Iasi", "Brasov", "Timisoara")

BODY = json.dumps(
    {
        "objectDataType": {"developerName": "customer"},
        "stateId": "4021",
        "listFilter": {
            "comparisonType": "AND",
            "where": [
                {"columnName": "city", "criteriaType": "EQUAL", "contentValue": "Cluj"},
                {"columnName": "age", "criteriaType": "GREATER_THAN", "contentValue": "30"},
            ],
            "orderByPropertyDeveloperName": "name",
            "orderByDirectionType": "ASC",
            "limit": 20,
            "offset": 0,
        },
    }
).encode()


def populate(schema: str, rows: int) -> None:
    directory = EXAMPLE.CustomerDirectory(schema=schema)
    rng = random.Random(7)
    directory.insert(
        {
            "id": f"c{i:05d}",
            "name": f"Customer {rng.randrange(10**6):06d}",
            "email": f"c{i}@example.com",
            "city": rng.choice(CITIES),
            "age": rng.randrange(18, 80),
            "vip": rng.random() < 0.1,
            "tier": rng.choice(("GOLD", "SILVER", "BRONZE")),
        }
        for i in range(rows)
    )
    directory.close()


def ours(schema: str) -> Any:
    return EXAMPLE.build(EXAMPLE.CustomerDirectory(schema=schema))


def hand(schema: str) -> Any:
    connection = psycopg.connect(EXAMPLE.DSN, autocommit=True, row_factory=dict_row)
    table = sql.Identifier(schema, "customer")
    columns = {"id", "name", "email", "city", "age", "vip", "tier"}
    operators = {"EQUAL": "=", "GREATER_THAN": ">", "LESS_THAN": "<"}
    numbers = {"age"}

    def value(column: str, text: str) -> Any:
        return float(text) if column in numbers else text

    def prop(name: str, val: Any) -> dict[str, Any]:
        if isinstance(val, bool):
            content_type, text = "ContentBoolean", "true" if val else "false"
        elif isinstance(val, float):
            content_type, text = "ContentNumber", str(int(val)) if val.is_integer() else repr(val)
        else:
            content_type, text = "ContentString", val
        return {
            "developerName": name,
            "contentType": content_type,
            "contentValue": text,
            "contentFormat": None,
            "objectData": None,
            "typeElementDeveloperName": None,
        }

    def load(request_body: bytes) -> dict[str, Any]:
        body = json.loads(request_body)
        found = body.get("listFilter") or {}
        conditions, params = [], []
        for entry in found.get("where") or []:
            column = entry["columnName"]
            if column not in columns or entry["criteriaType"] not in operators:
                raise ValueError(column)
            conditions.append(
                sql.SQL("{} " + operators[entry["criteriaType"]] + " %s").format(
                    sql.Identifier(column)
                )
            )
            params.append(value(column, entry["contentValue"]))
        order = found.get("orderByPropertyDeveloperName") or "id"
        if order not in columns:
            raise ValueError(order)
        direction = sql.SQL("DESC" if found.get("orderByDirectionType") == "DESC" else "ASC")
        limit = int(found.get("limit") or 20)
        offset = int(found.get("offset") or 0)
        joiner = sql.SQL(" AND " if found.get("comparisonType", "AND") == "AND" else " OR ")
        statement = sql.SQL(
            "SELECT * FROM {} WHERE {} ORDER BY {} {} NULLS LAST, id LIMIT %s OFFSET %s"
        ).format(
            table, joiner.join(conditions) or sql.SQL("TRUE"), sql.Identifier(order), direction
        )
        records = connection.execute(statement, [*params, limit + 1, offset]).fetchall()
        objects = [
            {
                "internalId": str(uuid.uuid4()),
                "externalId": record["id"],
                "developerName": "customer",
                "order": index,
                "isSelected": False,
                "properties": [prop(k, v) for k, v in record.items() if v is not None],
            }
            for index, record in enumerate(records[:limit])
        ]
        return {"objectData": objects, "hasMoreResults": len(records) > limit, "culture": None}

    async def endpoint(request: Request) -> JSONResponse:
        answer = await asyncio.to_thread(load, await request.body())
        return JSONResponse(answer)

    return Starlette(routes=[Route("/data", endpoint, methods=["POST"])])


def serve(kind: str, port: int, schema: str) -> None:
    asgi = ours(schema) if kind == "ours" else hand(schema)
    uvicorn.run(asgi, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", choices=("ours", "hand"))
    parser.add_argument("--schema")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.schema)
        return 0
    schema = f"flow_bench_{uuid.uuid4().hex[:10]}"
    populate(schema, args.rows)
    contenders = ("hand", "ours")
    ports = {kind: free_port() for kind in contenders}
    procs = {
        kind: subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve",
                kind,
                "--port",
                str(ports[kind]),
                "--schema",
                schema,
            ],
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
        for kind in contenders
    }
    try:
        measured = compare(
            {kind: (ports[kind], procs[kind]) for kind in contenders},
            "/data",
            BODY,
            lambda answer: answer.count(b'"externalId"') == 20,
            requests=args.requests,
            concurrency=args.concurrency,
            rounds=args.rounds,
            warmup=500,
        )
    finally:
        for proc in procs.values():
            proc.terminate()
            proc.wait(10)
        EXAMPLE.CustomerDirectory(schema=schema).drop()
    result: dict[str, Any] = {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "rows": args.rows,
        **measured,
    }
    result["throughput_x"] = result["ours"]["rate"] / result["hand"]["rate"]
    print(
        f"| Flow Load on PostgreSQL (20-row page, 2 criteria) | hand {result['hand']['rate']:,.0f}"
        f" req/s, p50 {result['hand']['p50_ms']:.2f} ms, p99 {result['hand']['p99_ms']:.2f} ms "
        f"| ours {result['ours']['rate']:,.0f} req/s, p50 {result['ours']['p50_ms']:.2f} ms, p99 "
        f"{result['ours']['p99_ms']:.2f} ms | throughput x{result['throughput_x']:.2f} (>= 0.8) |"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
