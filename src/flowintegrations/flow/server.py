"""Running a :class:`FlowService` with uvicorn until a signal: :func:`serve_until_signal`.

What ``flowintegrations serve`` runs. SIGTERM or SIGINT stops it gracefully: the listening
socket closes, requests in flight finish, then the service's lifespan waits for WAITing
actions to deliver their answers; the coroutine then returns (the process exits 0, unlike
uvicorn's own handling, which re-raises the signal).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import signal
import socket
from collections.abc import Iterator

import uvicorn

from flowintegrations.errors import FlowIntegrationsError
from flowintegrations.flow.service import FlowService

__all__ = ["is_loopback", "listening_socket", "serve_until_signal"]

log = logging.getLogger("flowintegrations.cli")


class _Server(uvicorn.Server):
    """uvicorn's server, stopping on SIGTERM/SIGINT without re-raising the signal."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.up = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start as uvicorn does, then tell whoever waits on :attr:`up`."""
        await super().startup(sockets)
        self.up.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Stop on SIGTERM/SIGINT (a second SIGINT forces the exit)."""
        loop = asyncio.get_running_loop()
        installed = []
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self._signalled, signum)
                installed.append(signum)
        try:
            yield
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)

    def _signalled(self, signum: int) -> None:
        if self.should_exit and signum == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True


def is_loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this machine (``localhost``, 127.x, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, ready for uvicorn.

    Raises :class:`~flowintegrations.errors.FlowIntegrationsError` naming the address when
    it cannot be had (the port is in use, the host is not this machine's).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        msg = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        raise FlowIntegrationsError(msg) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        why = "the port is in use" if exc.errno == errno.EADDRINUSE else exc.strerror or exc
        msg = f"cannot listen on {host}:{port}: {why}"
        raise FlowIntegrationsError(msg) from None
    return sock


async def serve_until_signal(service: FlowService, *, host: str, port: int) -> None:
    """Serve ``service`` on ``host:port`` until SIGTERM/SIGINT, logging a start and a stop line.

    The start line names the base URL (the real port when ``port`` is 0), every action, the
    types with data actions and whether files are served. Raises
    :class:`~flowintegrations.errors.FlowIntegrationsError` when the address cannot be had.
    """
    sock = listening_socket(host, port)
    config = uvicorn.Config(
        service, host=host, port=port, lifespan="on", log_level="warning", access_log=False
    )
    server = _Server(config)
    serving = asyncio.ensure_future(server.serve(sockets=[sock]))
    up = asyncio.ensure_future(server.up.wait())
    await asyncio.wait({up, serving}, return_when=asyncio.FIRST_COMPLETED)
    up.cancel()
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}{service.path}"
    if server.started:
        bound = server.servers[0].sockets[0].getsockname()[1]
        base = f"http://{shown}:{bound}{service.path}"
        served = [f"POST {base}/actions/{a.uri_part}" for a in service.actions]
        if service.data_types:
            served.append(f"data ({', '.join(service.data_types)}) at {base}/data")
        if any(path.endswith("/file") for _, path in service.endpoints()):
            served.append(f"files at {base}/file")
        log.info(
            "serving Flow service at %s: %s",
            base,
            " ".join(served) or "(no actions)",
            extra={"event": "serve", "base_url": base},
        )
    try:
        await serving
    finally:
        sock.close()
    log.info("stopped Flow service at %s", base, extra={"event": "exit"})
