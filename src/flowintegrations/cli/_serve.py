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

log = logging.getLogger("flowintegrations.cli")


def _token(args: argparse.Namespace, *, implicit: bool) -> str | None:
    """The token of ``--token-env`` (or of the default variable, when ``implicit``)."""
    if args.token_env is None and not (implicit and os.environ.get(FLOW_TOKEN_VAR)):
        return None
    variable = args.token_env or FLOW_TOKEN_VAR
    token = os.environ.get(variable)
    if not token:
        msg = f"--token-env {variable}: the environment variable is not set or empty"
        raise FlowIntegrationsError(msg)
    return token


def _flow_service(args: argparse.Namespace) -> Any:
    """The FlowService to serve, with the command line's path and credentials applied."""
    from flowintegrations.flow import FlowService  # noqa: PLC0415 - an optional extra

    found = load_user(args.app, lambda: load_object(args.app))
    service = FlowService(found) if isinstance(found, App) else as_service(found, args.app)
    # The default variable fills in a token the object does not set; --token-env is explicit.
    token = _token(args, implicit=not service.requires_credentials)
    username = args.username
    if token is not None and username is None and service.username is None:
        msg = "a token needs a --username: Flow sends both"
        raise FlowIntegrationsError(msg)
    if username is not None and token is None and not service.requires_credentials:
        msg = (
            f"--username {username} needs a token: set {FLOW_TOKEN_VAR} (or name another "
            "variable with --token-env)"
        )
        raise FlowIntegrationsError(msg)
    try:
        service.configure(path=args.path or None, username=username, token=token)
    except ValueError as exc:
        raise FlowIntegrationsError(f"{args.app}: {exc}") from None
    return service


def _serve_flow(args: argparse.Namespace) -> int:
    if args.reload:
        return reload_on_changes(args.app, args.argv)
    try:
        from flowintegrations.flow.server import (  # noqa: PLC0415 - an optional extra
            is_loopback,
            serve_until_signal,
        )
    except ImportError as exc:
        raise FlowIntegrationsError(str(exc)) from None
    service = _flow_service(args)
    if args.no_auth and service.requires_credentials:
        msg = "--no-auth, but credentials are configured: drop one or the other"
        raise FlowIntegrationsError(msg)
    if not service.requires_credentials and not args.no_auth and not is_loopback(args.host):
        msg = (
            f"refusing to serve without credentials on {args.host}: give --username and a "
            f"token ({FLOW_TOKEN_VAR} or --token-env), or pass --no-auth to mean it"
        )
        raise FlowIntegrationsError(msg)
    service.build()  # what it serves, checked now: a HandlerRegistrationError is one line
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if not service.requires_credentials:
        log.warning(
            "no authentication: anyone who can reach %s may call this Flow service",
            args.host,
            extra={"event": "serve.no_auth"},
        )
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
    serve.add_argument(
        "--no-auth",
        action="store_true",
        help="serve without credentials, on any host (logged as a warning)",
    )
    add_reload_option(serve)
    serve.set_defaults(func=_serve_flow)
