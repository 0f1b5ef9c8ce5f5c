"""``list``: an adapter's handlers, topics and Flow endpoints."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from flowintegrations.app import App
from flowintegrations.cli._common import as_service, load_user
from flowintegrations.errors import CatalogError, FlowIntegrationsError, HandlerRegistrationError
from flowintegrations.loading import load_object

FLOW_EXTRA_HINT = "pip install 'flowintegrations[flow]' to list the Boomi Flow endpoints too"
"""What ``list`` says on ``stderr`` when the ``flow`` extra is not installed."""


def _list(args: argparse.Namespace) -> int:
    if ":" not in args.app and Path(args.app).is_file() and Path(args.app).suffix != ".py":
        msg = (
            f"list takes MODULE:OBJ (an App or a FlowService), and {args.app!r} is a file: "
            f"for a catalog file, `flowintegrations summary {args.app}` lists its scenarios"
        )
        raise FlowIntegrationsError(msg)
    found = load_user(args.app, lambda: load_object(args.app))
    service = None
    if isinstance(found, App):
        app = found
    else:
        service = as_service(found, args.app)
        app = service.app
    if args.env is not None:
        app.environment = args.env
    env = app.environment or "(default)"
    try:
        routes = app.pipeline.routes
    except HandlerRegistrationError:
        if service is None:
            msg = f"{args.app} has no handlers: register one with @app.handler(scenario)"
            raise FlowIntegrationsError(msg) from None
        routes = ()
    for route in routes:
        name = f"{route.integration.identifier}\t{route.scenario.identifier}\tenv={env}"
        try:
            binding = route.scenario.binding(app.environment)
        except CatalogError:
            print(f"{name}\t(no topics: served to Flow only)")
            continue
        print(f"{name}\tout={binding.out_topic or '-'}\tin={binding.in_topic or '-'}")
    try:
        from flowintegrations.flow import FlowService  # noqa: PLC0415 - an optional extra
    except ImportError:
        print(f"note: {FLOW_EXTRA_HINT}", file=sys.stderr)
        return 0
    service = service or FlowService(app)
    scenarios = {a.uri_part: a for a in service.actions}
    for method, path in service.endpoints():
        action = scenarios.get(path.rpartition("/actions/")[2]) if "/actions/" in path else None
        served = f"\t{action.integration.identifier}/{action.scenario.identifier}" if action else ""
        if path.endswith(("/data", "/data/delete")):
            served = f"\ttypes: {', '.join(service.data_types)}"
        print(f"flow\t{method} {path}{served}")
    return 0


def add_list_command(commands: Any) -> None:
    """``list``: what an adapter serves."""
    listing = commands.add_parser(
        "list", help="list an adapter's handlers, topics and Flow endpoints"
    )
    listing.add_argument("app", metavar="MODULE:OBJ", help="an App or a FlowService")
    listing.add_argument("--env", help="environment (default: $FLOWINTEGRATIONS_ENV)")
    listing.set_defaults(func=_list)
