"""
Start the Matter rig by hand: `scripts/matter-rig --help`.

Prints the server URL (and the relay's node id and codes), then keeps
everything up until Ctrl-C, SIGTERM or end of input. Lines typed meanwhile:
  on | off | toggle   press the virtual relay (device side)
  state               the relay's state
  restart             restart the server (same port and storage)
  quit                stop everything
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import tempfile
import time
from pathlib import Path
from types import FrameType

from tools.rig.dev import DEFAULT_PORT, RunningRig, print_summary, running_rig
from tools.rig.relay import VirtualRelay


def _stop_on_sigterm() -> None:
    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


class _Commands:
    """Lines typed at the rig, read without blocking the loop that reports events."""

    def __init__(self) -> None:
        # scripts/lib/env.sh's in_env feeds its own script to the shell on
        # stdin, so scripts/matter-rig hands the terminal over on another fd.
        self.fd = int(os.environ.get("NO_NEUTRAL_RIG_INPUT_FD", "0"))
        self.open = True
        self._buffer = b""

    def poll(self, seconds: float) -> list[str]:
        """Return the complete lines that arrive within `seconds` (none once input ended)."""
        if not self.open:
            time.sleep(seconds)
            return []
        if not select.select([self.fd], [], [], seconds)[0]:
            return []
        chunk = os.read(self.fd, 4096)
        if not chunk:
            self.open = False  # detached: keep running until a signal
            return []
        *lines, self._buffer = (self._buffer + chunk).split(b"\n")
        return [line.decode(errors="replace").strip().lower() for line in lines]


def _report(relay: VirtualRelay, mark: int) -> int:
    """Print what the device did since `mark`, whoever switched it; return the new mark."""
    for event in relay.events[mark : (mark := relay.mark())]:
        if event.kind in {"onoff", "state", "commissioned", "decommissioned", "error"}:
            print(f"relay: {event.data}", flush=True)
    return mark


def _run(running: RunningRig, command: str) -> None:
    if command == "restart":
        print(f"server restarted in {running.server.restart():.2f} s", flush=True)
    elif running.relay is not None and command in {"on", "off", "toggle", "state"}:
        running.relay.send(command)
    elif command:
        print(f"unknown command {command!r}", flush=True)


def _serve(running: RunningRig) -> None:
    relay = running.relay
    mark = relay.mark() if relay else 0
    commands = _Commands()
    quitting = False
    while True:
        if relay is not None:
            mark = _report(relay, mark)
            if not quitting and not relay.running:
                print("the virtual relay stopped", flush=True)
                return
        if quitting:
            return
        if not running.server.running:
            print(f"the server stopped\n{running.server.log_tail(20)}", flush=True)
            return
        for command in commands.poll(0.2):
            if command in {"quit", "exit"}:
                # One more round first: report what the commands before it did.
                quitting = True
                time.sleep(0.3)
                break
            _run(running, command)


def main() -> None:
    """Parse the arguments, start the rig, serve until told to stop."""
    parser = argparse.ArgumentParser(prog="scripts/matter-rig", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="websocket port on 127.0.0.1"
    )
    parser.add_argument("--no-relay", action="store_true", help="the server alone")
    parser.add_argument(
        "--no-commission", action="store_true", help="leave the relay uncommissioned"
    )
    parser.add_argument(
        "--serial", default="DEVRELAY0001", help="the virtual relay's serial number"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep server and relay storage here (inside the project); default: a fresh temp dir",
    )
    args = parser.parse_args()
    _stop_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="matter-rig-") as scratch:
        workdir = args.workdir.resolve() if args.workdir else Path(scratch)
        try:
            with running_rig(
                workdir,
                port=args.port,
                relay=not args.no_relay,
                serial=args.serial,
                commission=not args.no_commission,
            ) as running:
                print_summary(running)
                print("Ctrl-C stops everything.", flush=True)
                _serve(running)
        except KeyboardInterrupt:
            pass
        print("stopped", flush=True)


if __name__ == "__main__":
    main()
