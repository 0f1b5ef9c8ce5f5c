"""The parser of every command, and :func:`main`: exit codes and the one-line errors."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from flowintegrations.cli._broker import add_broker_command
from flowintegrations.cli._catalog import add_catalog_commands
from flowintegrations.cli._list import add_list_command
from flowintegrations.cli._run import add_run_commands
from flowintegrations.cli._serve import add_serve_command
from flowintegrations.cli._tooling import add_tooling_commands
from flowintegrations.errors import CatalogError, FlowIntegrationsError


def _version() -> str:
    try:
        return version("flowintegrations")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowintegrations", description="Validated adapters for a Kafka process engine."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_catalog_commands(commands)
    add_run_commands(commands)
    add_list_command(commands)
    add_serve_command(commands)
    add_tooling_commands(commands)
    add_broker_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, 1; argparse exits 2 itself)."""
    args = _parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for --reload's child
    try:
        status: int = args.func(args)
        sys.stdout.flush()
    except FlowIntegrationsError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return status


def _one_line(exc: FlowIntegrationsError) -> str:
    """The error's message; a catalog's one problem with the whole file has no ``$:`` path."""
    if isinstance(exc, CatalogError) and exc.source is None and len(exc.problems) == 1:
        (problem,) = exc.problems
        if problem.path == "$":
            return problem.message
    return str(exc)


def _silence_stdout() -> None:
    """The reader of our output went away (``| head``): drop what is left, quietly.

    Python flushes ``stdout`` once more at exit; pointing it at ``/dev/null`` keeps that
    flush from failing too (the recipe of the ``signal`` module's documentation).
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # not a real file (captured output): nothing to silence
        pass
