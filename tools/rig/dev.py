"""
The rig for a person: a server (and a commissioned virtual relay) that stays up.

Used by scripts/matter-rig (`python -m tools.rig`) and meant for scripts/develop.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tools.rig import client as rig_client
from tools.rig.relay import VirtualRelay
from tools.rig.relay_rig import RelayRig
from tools.rig.server import MatterServer

DEFAULT_PORT = 5580  # Home Assistant's default: ws://localhost:5580/ws


@dataclass(kw_only=True)
class RunningRig:
    """What is running, and how to reach it."""

    server: MatterServer
    relay: VirtualRelay | None = None
    node_id: int | None = None
    commission_seconds: float | None = None
    server_start_seconds: float = 0.0

    def summary(self) -> dict[str, object]:
        """Everything a person or a script needs, JSON-ready."""
        info: dict[str, object] = {
            "url": self.server.url,
            "server_log": str(self.server.log_path),
            "server_start_seconds": round(self.server_start_seconds, 2),
        }
        if self.relay is not None:
            info |= {
                "node_id": self.node_id,
                "serial": self.relay.serial,
                "manual_code": self.relay.manual_code,
                "passcode": self.relay.passcode,
                "relay_ip": self.relay.ip,
                "relay_log": str(self.relay.log_path),
                "commission_seconds": self.commission_seconds,
            }
        return info


@contextmanager
def running_rig(
    workdir: Path,
    *,
    port: int = DEFAULT_PORT,
    relay: bool = True,
    serial: str = "DEVRELAY0001",
    commission: bool = True,
) -> Iterator[RunningRig]:
    """
    Start a server (and a relay, commissioned unless told not to); stop all on exit.

    A workdir used before keeps its fabric: the relay is then not commissioned
    again but comes back as the node it was.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    if not relay:
        server = MatterServer(workdir / "server", port=port)
        try:
            started = server.start()
            yield RunningRig(server=server, server_start_seconds=started)
        finally:
            server.close()
        return
    rig = RelayRig(workdir, serial=serial, port=port)
    try:
        started = rig.server.start()
        rig.relay.start()
        running = RunningRig(server=rig.server, relay=rig.relay, server_start_seconds=started)
        known = rig_client.run_sync(lambda: rig_client.node_ids(rig.server.url))
        if known:
            running.node_id = known[0]
        elif commission:
            began = time.monotonic()
            running.node_id = rig_client.run_sync(
                lambda: rig_client.commission(rig.server.url, code=rig.relay.manual_code)
            )
            running.commission_seconds = round(time.monotonic() - began, 2)
        yield running
    finally:
        rig.close()


def print_summary(running: RunningRig) -> None:
    """Print the summary as one JSON line, then readable lines."""
    info = running.summary()
    print(json.dumps(info), flush=True)
    print(f"Matter server: {info['url']}", flush=True)
    if running.relay is not None:
        print(
            f"Virtual relay {info['serial']}: node {info['node_id']}, "
            f"manual code {info['manual_code']}, PIN {info['passcode']} at {info['relay_ip']}",
            flush=True,
        )
