"""What the commands share: loading the user's code and catalogs, settings, problem lists."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from flowintegrations.app import App
from flowintegrations.errors import CatalogProblem, FlowIntegrationsError, TransportBrokenError
from flowintegrations.loading import load_app
from flowintegrations.model import Catalog
from flowintegrations.transport.kafka.errors import error_name

if TYPE_CHECKING:
    from flowintegrations.flow import FlowService as FlowServiceType

T = TypeVar("T")

log = logging.getLogger("flowintegrations.cli")
"""The commands' logger: its name is the one users filter on, whichever module logs."""


def load_source(source: str) -> Catalog:
    """The catalog of ``source``: a catalog file, or ``MODULE:APP`` for an app's integrations."""
    if ":" in source and not Path(source).exists():
        return Catalog(load_app(source).integrations)
    return Catalog.load(source)


def parse_settings(pairs: Sequence[str]) -> dict[str, str]:
    """The librdkafka settings given as ``KEY=VALUE``; raises naming a malformed one."""
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            msg = f"--config expects KEY=VALUE (e.g. session.timeout.ms=6000), got {pair!r}"
            raise FlowIntegrationsError(msg)
        settings[key.strip()] = value
    return settings


def load_user_app(spec: str, environment: str | None = None) -> App:
    """:func:`load_app`, with an error of the module's own code told in one line."""
    return load_user(spec, lambda: load_app(spec, environment=environment))


def load_user(spec: str, load: Callable[[], T]) -> T:
    """``load()`` of the user's ``spec``, with an error of the module's own code in one line.

    A missing module, file or attribute is already a FlowIntegrationsError; anything the
    module raises while it is executed becomes one that names the file and line.
    """
    try:
        return load()
    except FlowIntegrationsError:
        raise
    except Exception as exc:  # the user's module failed: say where, in one line
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if "<frozen" not in f.filename]
        where, text = "", str(exc)
        if isinstance(exc, SyntaxError) and exc.filename:
            where, text = f"{exc.filename}, line {exc.lineno}: ", str(exc.msg)
        elif frames:
            where = f"{frames[-1].filename}, line {frames[-1].lineno}: "
        msg = f"cannot load {spec!r}: {where}{type(exc).__name__}: {text}"
        raise FlowIntegrationsError(msg) from exc


_UNREACHABLE = frozenset({"_TRANSPORT", "_ALL_BROKERS_DOWN", "_RESOLVE"})
"""librdkafka's names for "no broker answers at that address"."""


@contextlib.contextmanager
def broker_hint(bootstrap: str | None) -> Iterator[None]:
    """Run the block; a broker that does not answer at ``bootstrap`` gets a hint to start one."""
    try:
        yield
    except TransportBrokenError as exc:
        cause = exc.__cause__
        error = cause.args[0] if cause is not None and cause.args else None
        if bootstrap and error_name(error) in _UNREACHABLE:
            msg = f"{exc}; is a broker running at {bootstrap}? `flowintegrations broker` starts one"
            raise TransportBrokenError(msg) from exc
        raise


def counted(count: int, noun: str) -> str:
    """``1 integration``, ``2 integrations``: a count with its noun in the right number."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def print_problems(catalog: str, problems: Sequence[CatalogProblem]) -> None:
    print(f"{catalog}: {len(problems)} problem(s)", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)


def as_service(found: object, spec: str) -> FlowServiceType:
    """``found`` if it is a FlowService; raises naming what it is otherwise."""
    try:
        from flowintegrations.flow import FlowService  # noqa: PLC0415 - an optional extra
    except ImportError:
        msg = f"{spec!r} is a {type(found).__name__}, not an App"
        raise FlowIntegrationsError(msg) from None
    if not isinstance(found, FlowService):
        msg = f"{spec!r} is a {type(found).__name__}, not an App or a FlowService"
        raise FlowIntegrationsError(msg)
    return found


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a librdkafka setting for the Kafka clients (repeatable)",
    )
