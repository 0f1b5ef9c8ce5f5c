"""Flow message actions over HTTP: FlowService against a hand-written Starlette endpoint.

    .venv/bin/python bench/flow.py [--requests 6000] [--concurrency 32] [--rounds 3] [--json OUT]

Both contenders run the example catalog's send-email action (a list of recipient objects
in, two strings out) with the same async handler, each in its own uvicorn process started
the same way (one worker, loopback, no access log). "hand" is what one would write without
the SDK: a Starlette route that reads the Flow inputs by hand, validates the request and
the reply with fastjsonschema, and writes the outputs by hand. "ours" is
``FlowService(app)``: the SDK's value conversion, the App's handling pipeline (validation
both ways, retries, Context), and the describe-driven outputs.

The load comes from this process over keep-alive connections with a minimal HTTP/1.1
client (so the client costs little next to the servers); contenders alternate round by
round. Throughput is requests/s of a round (median over rounds); latencies are pooled.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import fastjsonschema
import uvicorn
from http_load import compare, free_port
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from flowintegrations import App, Catalog
from flowintegrations.flow import FlowService

ROOT = Path(__file__).resolve().parents[1]

BODY = json.dumps(
    {
        "token": "state-token",
        "tenantId": "tenant-1",
        "stateId": "4021",
        "inputs": [
            {
                "developerName": "templateName",
                "contentType": "ContentString",
                "contentValue": "contract-ready",
            },
            {"developerName": "language", "contentType": "ContentString", "contentValue": "en"},
            {
                "developerName": "subject",
                "contentType": "ContentString",
                "contentValue": "Your contract is ready",
            },
            {
                "developerName": "recipients",
                "contentType": "ContentList",
                "contentValue": None,
                "objectData": [
                    {
                        "developerName": "send-email request recipients",
                        "properties": [
                            {
                                "developerName": "email",
                                "contentType": "ContentString",
                                "contentValue": f"user{i}@example.com",
                            },
                            {
                                "developerName": "name",
                                "contentType": "ContentString",
                                "contentValue": f"User {i}",
                            },
                            {
                                "developerName": "kind",
                                "contentType": "ContentString",
                                "contentValue": "TO",
                            },
                        ],
                    }
                    for i in range(3)
                ],
            },
        ],
    }
).encode()


async def handler(payload: dict[str, Any]) -> dict[str, Any]:
    """The one handler both contenders call."""
    return {"notificationId": f"ntf-{len(payload['recipients'])}", "status": "QUEUED"}


# The servers -----------------------------------------------------------------------------


def ours() -> Any:
    catalog = Catalog.load(ROOT / "examples" / "catalog.json")
    app = App(catalog.integration("notifications"))
    app.handler("send-email")(handler)
    return FlowService(app)


def hand() -> Any:
    catalog = Catalog.load(ROOT / "examples" / "catalog.json")
    integration = catalog.integration("notifications")
    scenario = integration.scenario("send-email")
    enumerations = {e.name: e.values for e in integration.enumerations}
    check_request = fastjsonschema.compile(
        scenario.output_model.json_schema(integration.definitions, enumerations=enumerations)
    )
    check_reply = fastjsonschema.compile(
        scenario.input_model.json_schema(integration.definitions, enumerations=enumerations)
    )

    def read_object(obj: dict[str, Any]) -> dict[str, Any]:
        return {
            p["developerName"]: p["contentValue"]
            for p in obj["properties"]
            if p["contentValue"] is not None
        }

    async def send_email(request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        payload: dict[str, Any] = {}
        for value in body["inputs"]:
            if value["contentType"] == "ContentList":
                payload[value["developerName"]] = [read_object(o) for o in value["objectData"]]
            elif value["contentValue"] is not None:
                payload[value["developerName"]] = value["contentValue"]
        try:
            check_request(payload)
        except fastjsonschema.JsonSchemaException as exc:
            return JSONResponse({"message": str(exc)}, status_code=400)
        reply = await handler(payload)
        check_reply(reply)
        outputs = [
            {
                "developerName": name,
                "contentType": "ContentString",
                "contentValue": value,
                "contentFormat": None,
                "objectData": None,
                "typeElementDeveloperName": None,
            }
            for name, value in reply.items()
        ]
        return JSONResponse(
            {
                "token": body.get("token"),
                "tenantId": body.get("tenantId"),
                "culture": body.get("culture"),
                "invokeType": "FORWARD",
                "outputs": outputs,
                "rootFaults": {},
            }
        )

    return Starlette(routes=[Route("/actions/send-email", send_email, methods=["POST"])])


def serve(kind: str, port: int) -> None:
    asgi = ours() if kind == "ours" else hand()
    uvicorn.run(asgi, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# The load --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", choices=("ours", "hand"))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return 0
    contenders = ("hand", "ours")
    ports = {kind: free_port() for kind in contenders}
    procs = {
        kind: subprocess.Popen(
            [sys.executable, __file__, "--serve", kind, "--port", str(ports[kind])],
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
        for kind in contenders
    }
    try:
        measured = compare(
            {kind: (ports[kind], procs[kind]) for kind in contenders},
            "/actions/send-email",
            BODY,
            lambda answer: b'"FORWARD"' in answer,
            requests=args.requests,
            concurrency=args.concurrency,
            rounds=args.rounds,
            warmup=1000,
        )
    finally:
        for proc in procs.values():
            proc.terminate()
            proc.wait(10)
    result: dict[str, Any] = {
        "requests": args.requests,
        "concurrency": args.concurrency,
        **measured,
    }
    result["throughput_x"] = result["ours"]["rate"] / result["hand"]["rate"]
    result["p99_x"] = result["ours"]["p99_ms"] / result["hand"]["p99_ms"]
    print(
        f"| Flow message action | hand {result['hand']['rate']:,.0f} req/s, p50 "
        f"{result['hand']['p50_ms']:.2f} ms, p99 {result['hand']['p99_ms']:.2f} ms | ours "
        f"{result['ours']['rate']:,.0f} req/s, p50 {result['ours']['p50_ms']:.2f} ms, p99 "
        f"{result['ours']['p99_ms']:.2f} ms | throughput x{result['throughput_x']:.2f} "
        f"(>= 0.8), p99 x{result['p99_x']:.2f} (<= 1.3) |"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
