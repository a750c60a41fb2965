"""
Watch a DNS-SD service type from inside a rig namespace and report what is advertised.

The rig's mDNS never leaves its namespaces (tools/rig/netns.py), so a test that
wants the virtual relay's real advertisement runs this module there
(`MdnsWatch(namespace)`), as a child process: python-zeroconf browses the type
and prints one JSON line per change, with the instance's resolved record
(name, host, port, addresses, TXT properties) as Home Assistant's zeroconf
integration would see it.

    nsenter --net=/run/netns/NS python -m tools.rig.mdns _matter._tcp.local.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from tools.rig.netns import NetNamespace

# Resolving an instance asks for its SRV, TXT and address records.
RESOLVE_TIMEOUT_MS = 3000


@dataclass(frozen=True, kw_only=True)
class Advertisement:
    """One change of a service instance: "Added", "Updated" or "Removed"."""

    event: str
    type: str
    name: str
    server: str | None = None
    port: int | None = None
    addresses: tuple[str, ...] = ()
    properties: dict[str, str | None] | None = None

    @classmethod
    def from_json(cls, line: str) -> Advertisement:
        """Read one line the watcher printed."""
        data: dict[str, Any] = json.loads(line)
        data["addresses"] = tuple(data.get("addresses", ()))
        return cls(**data)


class MdnsWatch:
    """The watcher running in a namespace; `next(...)` waits for a matching change."""

    def __init__(self, namespace: NetNamespace, service_type: str) -> None:
        """Start browsing `service_type` inside `namespace`."""
        command = namespace.wrap([sys.executable, "-m", "tools.rig.mdns", service_type])
        self._proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="mdns-watch", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None  # noqa: S101 - PIPE above
        for line in self._proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def next(self, event: str, name_prefix: str, timeout: float = 60) -> Advertisement:
        """Return the next `event` of an instance whose name starts so; fail past `timeout`."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                msg = f"the mDNS watcher stopped: {self.stderr()}"
                raise RuntimeError(msg)
            seen = Advertisement.from_json(line)
            if seen.event == event and seen.name.upper().startswith(name_prefix.upper()):
                return seen
        msg = f"no mDNS {event} of {name_prefix}... within {timeout} s"
        raise TimeoutError(msg)

    def stderr(self) -> str:
        """Return what the watcher wrote to stderr (once it has stopped)."""
        if self._proc.poll() is None or self._proc.stderr is None:
            return ""
        return self._proc.stderr.read()

    def close(self) -> None:
        """Stop the watcher."""
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> Self:
        """Use it in a with block."""
        return self

    def __exit__(self, *_exc: object) -> None:
        """Stop it at the end of the block."""
        self.close()


def _watch(service_type: str) -> None:
    from zeroconf import (  # noqa: PLC0415 - only in the child process
        IPVersion,
        ServiceBrowser,
        ServiceStateChange,
        Zeroconf,
    )

    def changed(
        zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        record: dict[str, Any] = {"event": state_change.name, "type": service_type, "name": name}
        if state_change is not ServiceStateChange.Removed:
            info = zeroconf.get_service_info(service_type, name, timeout=RESOLVE_TIMEOUT_MS)
            if info is None:
                return
            record |= {
                "server": info.server,
                "port": info.port,
                "addresses": info.parsed_scoped_addresses(),
                "properties": {
                    key.decode(): None if value is None else value.decode()
                    for key, value in info.properties.items()
                },
            }
        print(json.dumps(record), flush=True)

    # The rig's links are IPv6 only.
    zeroconf = Zeroconf(ip_version=IPVersion.All)
    ServiceBrowser(zeroconf, service_type, handlers=[changed])
    threading.Event().wait()


if __name__ == "__main__":
    _watch(sys.argv[1])
