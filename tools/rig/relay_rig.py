"""The whole relay rig: two network namespaces, a server and a virtual relay."""

from __future__ import annotations

from pathlib import Path

from tools.rig.netns import RELAY_ADDR, RELAY_IF, SERVER_IF, NetNamespace, VethLink
from tools.rig.relay import RelayEvent, VirtualRelay
from tools.rig.server import MatterServer


class RelayRig:
    """
    A matter-server and a MINIR4M-like relay that can reach each other.

    The server's websocket is on 127.0.0.1:`server.port` here; commission the
    relay with `relay.manual_code`, or `relay.passcode` and `relay.ip`.
    """

    def __init__(self, workdir: Path, *, serial: str = "RIG0001", port: int | None = None) -> None:
        """Create the namespaces and prepare (not start) the processes."""
        self.workdir = workdir
        self.server_ns = NetNamespace("srv")
        try:
            self.relay_ns = NetNamespace("dev")
        except OSError:
            self.server_ns.delete()
            raise
        try:
            VethLink(self.server_ns, self.relay_ns)
        except OSError:
            self._delete_namespaces()
            raise
        self.server = MatterServer(
            workdir / "server",
            port=port,
            netns=self.server_ns,
            primary_interface=SERVER_IF,
        )
        self.relay = VirtualRelay(
            workdir / "relay",
            serial=serial,
            netns=self.relay_ns,
            interface=RELAY_IF,
            ip=RELAY_ADDR,
        )

    @property
    def url(self) -> str:
        """The server's websocket URL (127.0.0.1)."""
        return self.server.url

    @property
    def manual_code(self) -> str:
        """The relay's 11-digit manual pairing code."""
        return self.relay.manual_code

    @property
    def passcode(self) -> int:
        """The relay's setup PIN code."""
        return self.relay.passcode

    @property
    def ip(self) -> str | None:
        """The relay's address, as seen from the server."""
        return self.relay.ip

    @property
    def serial(self) -> str:
        """The relay's serial number (which device answered)."""
        return self.relay.serial

    @property
    def is_on(self) -> bool | None:
        """The relay's state as the device last reported it."""
        return self.relay.is_on

    def press(self, *, on: bool | None = None) -> None:
        """Switch the relay from the device side: on, off, or toggle (None)."""
        self.relay.press(on=on)

    def reboot(self, reason: str = "brown_out_reset") -> RelayEvent:
        """Reboot the relay as after a brown-out (or `reason`); return its "ready" event."""
        return self.relay.reboot(reason)

    def start(self) -> None:
        """Start the server and the relay."""
        self.server.start()
        self.relay.start()

    def close(self) -> None:
        """Stop everything and remove the namespaces."""
        try:
            self.relay.stop()
        finally:
            try:
                self.server.close()
            finally:
                self._delete_namespaces()

    def _delete_namespaces(self) -> None:
        self.server_ns.delete()
        self.relay_ns.delete()
