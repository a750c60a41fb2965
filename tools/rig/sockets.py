"""
TCP helpers that keep working under pytest-socket.

Home Assistant's test harness replaces `socket.socket` before every test so
that only tests asking for `socket_enabled` open sockets. The rig's own plumbing
(readiness checks) is not the test's
traffic, so it uses the socket class captured here, at import time, before
the harness swaps it.
"""

from __future__ import annotations

import socket

_RealSocket = socket.socket


def tcp_connect(host: str, port: int, timeout: float = 5) -> socket.socket:
    """Connect to host:port (an IP address) with a real socket."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = _RealSocket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((host, port))
    except BaseException:
        sock.close()
        raise
    sock.settimeout(None)
    return sock


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with _RealSocket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
