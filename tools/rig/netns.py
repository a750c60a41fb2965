"""
Network namespaces for the virtual relay, and a proxy into them.

Matter commissioning does not work over loopback, so the relay and the server
each get a network namespace of their own, joined by a veth pair (IPv6
fd12::1 on the server's side, fd12::2 on the relay's). Nothing of it touches
the machine's own interfaces: no mDNS goes out, and rigs run side by side
(other test runs on the same machine) never see each other's devices. The
server's websocket is reached through tools/rig/proxy.py, on 127.0.0.1 of the
caller.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import threading
from pathlib import Path

from tools.rig.sockets import tcp_connect

_NETNS_DIR = Path("/run/netns")
_counter = itertools.count()

SERVER_IF = "ctl0"
RELAY_IF = "dev0"
SERVER_ADDR = "fd12::1"
RELAY_ADDR = "fd12::2"


def _ip(*args: str, ns: NetNamespace | None = None) -> None:
    cmd = ["ip", *args]
    if ns is not None:
        # Not `ip -n`: like `ip netns exec` it remounts /sys, which fails in a
        # chroot whose / is not a mount point.
        cmd = ns.wrap(cmd)
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode:
        msg = f"{' '.join(cmd)}: {result.stderr.strip() or result.stdout.strip()}"
        raise OSError(msg)


class NetNamespace:
    """A named network namespace (`ip netns`), removed by `delete()`."""

    def __init__(self, tag: str) -> None:
        """Create it, with its loopback up."""
        self.name = f"nn-{tag}-{os.getpid()}-{next(_counter)}"
        _ip("netns", "add", self.name)
        self.path = _NETNS_DIR / self.name
        try:
            _ip("link", "set", "lo", "up", ns=self)
        except OSError:
            self.delete()
            raise

    def wrap(self, command: list[str]) -> list[str]:
        """Return the command, run inside this namespace (`nsenter`, see `_ip`)."""
        return ["nsenter", f"--net={self.path}", *command]

    def connect(self, address: tuple[str, int], timeout: float = 5) -> socket.socket:
        """
        Open a TCP connection from inside this namespace.

        setns() moves only the calling thread, so a short-lived thread makes the
        socket; the socket stays in this namespace wherever it is used.
        """
        result: list[socket.socket | BaseException] = []

        def make() -> None:
            try:
                with self.path.open("rb") as ns:
                    os.setns(ns.fileno(), os.CLONE_NEWNET)
                result.append(tcp_connect(*address, timeout=timeout))
            except BaseException as err:  # noqa: BLE001 - handed to the caller
                result.append(err)

        thread = threading.Thread(target=make, name=f"connect-{self.name}")
        thread.start()
        thread.join()
        outcome = result[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def delete(self) -> None:
        """Remove the namespace (its interfaces go with it)."""
        subprocess.run(["ip", "netns", "delete", self.name], capture_output=True, check=False)


class VethLink:
    """Two namespaces joined by a veth pair, IPv6 only, multicast routed over it."""

    def __init__(self, server_ns: NetNamespace, relay_ns: NetNamespace) -> None:
        """Create and configure the pair."""
        _ip(
            "link",
            "add",
            SERVER_IF,
            "netns",
            server_ns.name,
            "type",
            "veth",
            "peer",
            "name",
            RELAY_IF,
            "netns",
            relay_ns.name,
        )
        for ns, ifname, addr in (
            (server_ns, SERVER_IF, SERVER_ADDR),
            (relay_ns, RELAY_IF, RELAY_ADDR),
        ):
            # nodad: the address is usable at once, not after duplicate detection.
            _ip("addr", "add", f"{addr}/64", "dev", ifname, "nodad", ns=ns)
            _ip("link", "set", ifname, "up", "multicast", "on", ns=ns)
            # mDNS over IPv4 needs a route for its multicast group.
            _ip("route", "add", "224.0.0.0/4", "dev", ifname, ns=ns)


def netns_unavailable_reason() -> str | None:
    """Why network namespaces with veth pairs cannot be made here, or None if they can."""
    try:
        a = NetNamespace("probe")
    except OSError as err:
        return f"cannot create a network namespace ({err})"
    try:
        b = NetNamespace("probe")
    except OSError as err:
        a.delete()
        return f"cannot create a network namespace ({err})"
    try:
        VethLink(a, b)
    except OSError as err:
        return f"cannot join network namespaces with a veth pair ({err})"
    finally:
        a.delete()
        b.delete()
    return None
