"""`faxtui sim`: run the simulator in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from faxtui.sim.demo import (
    DEMO_BEARER_TOKEN,
    DEMO_CONCORD_PIN,
    DEMO_CONCORD_USER_ID,
    DEMO_INTERFAX_PASSWORD,
    DEMO_INTERFAX_USERNAME,
    DEMO_OAUTH_CLIENT_ID,
    DEMO_OAUTH_CLIENT_SECRET,
)
from faxtui.sim.faults import FaultSpecError, parse_faults
from faxtui.sim.options import SimOptions, option_docs
from faxtui.sim.server import SimServer

DEFAULT_PORT = 8765
PROG = "faxtui sim"


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Run the InterFax + Concord fax simulator.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to listen on (default {DEFAULT_PORT}; 0 = any free port)")
    parser.add_argument("--seed", type=int, default=1, help="random seed: same seed, same world (default 1)")
    parser.add_argument("--speed", type=float, default=1.0, help="how much faster than real time (default 1)")
    parser.add_argument("--faults", default="", metavar="SPEC",
                        help='faults to inject, e.g. "interfax:http500:p=0.1,concord@mbx0000000001:slow=3"')
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE", dest="options",
                        help="set a simulator option (repeatable), e.g. concord_order=reversed, "
                             "interfax_bad_fields=nil:PagesSent, soap_fault_style=qualified; "
                             "--list-options shows them all")
    parser.add_argument("--list-options", action="store_true",
                        help="print every option with its default and meaning, then exit")
    return parser


def list_options() -> str:
    defaults = SimOptions().to_json()
    lines: list[str] = []
    for name, doc in option_docs().items():
        value = defaults[name]
        shown = ",".join(value) if isinstance(value, list) else ("" if value is None else value)
        lines.append(f"{name}={shown}")
        if doc:
            lines.append(f"    {doc}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Serve until interrupted; 0 on Ctrl-C/SIGTERM, 2 on bad usage, 1 if the port cannot be bound."""
    try:
        args = build_parser().parse_args(argv)
        if not 0 <= args.port <= 65535:
            raise _UsageError("--port must be 0..65535")
        if args.list_options:
            print(list_options())
            return 0
        if args.faults.strip():
            parse_faults(args.faults)
        options = SimOptions.parse_assignments(args.options, SimOptions(seed=args.seed, speed=args.speed))
    except _UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except FaultSpecError as exc:
        print(f"{PROG}: invalid --faults: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    try:
        server = SimServer(options=options, host=args.host, port=args.port, faults=args.faults).start()
    except OSError as exc:
        print(f"{PROG}: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Both set explicitly: a process started in the background by a shell without job control
    # inherits SIGINT ignored, and Ctrl-C (or a test's SIGINT) must still stop it.
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"interfax: {server.interfax_url}")
        print(f"concord: {server.concord_url}")
        print(f"token: {server.token_url}")
        print(f"control: {server.control_url}")
        print(f"InterFax demo credentials: username {DEMO_INTERFAX_USERNAME}, "
              f"password {DEMO_INTERFAX_PASSWORD}")
        print(f"Concord demo credentials: UserID {DEMO_CONCORD_USER_ID}, PIN {DEMO_CONCORD_PIN}; "
              f"OAuth client id {DEMO_OAUTH_CLIENT_ID}, secret {DEMO_OAUTH_CLIENT_SECRET}; "
              f"static bearer token {DEMO_BEARER_TOKEN}")
        print(f"seed {options.seed}, speed {options.speed:g}"
              + (f", faults {args.faults}" if args.faults.strip() else "") + "; Ctrl-C to stop")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.stop()
    return 0
