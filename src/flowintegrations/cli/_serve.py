"""``serve``: an App (or a FlowService) served to Boomi Flow over HTTP."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from typing import Any

from flowintegrations.app import App
from flowintegrations.cli._common import as_service, load_user
from flowintegrations.cli._reload import add_reload_option, reload_on_changes
from flowintegrations.errors import FlowIntegrationsError
from flowintegrations.loading import load_object
from flowintegrations.vocabulary import FLOW_TOKEN_VAR


def _serve_flow(args: argparse.Namespace) -> int:
    if args.reload:
        return reload_on_changes(args.app, args.argv)
    try:
        from flowintegrations.flow import FlowService  # noqa: PLC0415 - an optional extra
        from flowintegrations.flow.server import serve_until_signal  # noqa: PLC0415
    except ImportError as exc:
        raise FlowIntegrationsError(str(exc)) from None
    found = load_user(args.app, lambda: load_object(args.app))
    token = None
    if args.token_env is not None or os.environ.get(FLOW_TOKEN_VAR):
        variable = args.token_env or FLOW_TOKEN_VAR
        token = os.environ.get(variable)
        if not token:
            msg = f"--token-env {variable}: the environment variable is not set or empty"
            raise FlowIntegrationsError(msg)
    if isinstance(found, App):
        if token is not None and not args.username:
            msg = "a token needs a --username: Flow sends both"
            raise FlowIntegrationsError(msg)
        service = FlowService(found, path=args.path, username=args.username, token=token)
    else:
        service = as_service(found, args.app)
        if args.path or args.username or args.token_env:
            msg = "--path, --username and --token-env configure an App; this is a FlowService"
            raise FlowIntegrationsError(msg)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve_until_signal(service, host=args.host, port=args.port))
    return 0


def add_serve_command(commands: Any) -> None:
    """``serve``: the Boomi Flow side."""
    serve = commands.add_parser("serve", help="serve an adapter to Boomi Flow over HTTP")
    serve.add_argument("app", metavar="MODULE:OBJ", help="an App or a FlowService")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8080, help="port (default: %(default)s; 0: any)")
    serve.add_argument("--path", default="", help='the "Path to Service", e.g. /fs/crm')
    serve.add_argument("--username", help="the basic-auth username Flow sends")
    serve.add_argument(
        "--token-env",
        metavar="VAR",
        help=f"environment variable holding the basic-auth token (default: {FLOW_TOKEN_VAR})",
    )
    add_reload_option(serve)
    serve.set_defaults(func=_serve_flow)
