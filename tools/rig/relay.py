"""
The matter.js virtual relay (tools/virtual-relay/relay.mjs) as a process.

It prints one JSON event per line, stamped with the monotonic clock (the same
clock as Python's `time.monotonic()`), so a benchmark measures without polling
error. Its output is read when asked for, not by a thread: Home Assistant's
test harness fails a test that leaves a thread running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.rig.paths import RELAY_DIR, RELAY_SCRIPT, node_executable
from tools.rig.server import RigError

if TYPE_CHECKING:
    from tools.rig.netns import NetNamespace

PASSCODE = 20202021
DISCRIMINATOR = 3840
# The matter.js default for that passcode and discriminator: every matter.js
# sample device has it, so check the serial number to know who answered.
MANUAL_CODE = "34970112332"
# Matter's BootReasonEnum by relay.mjs's --boot-reason names.
BOOT_REASONS: dict[str, int] = {
    "unspecified": 0,
    "power_on_reboot": 1,
    "brown_out_reset": 2,
    "software_watchdog_reset": 3,
    "hardware_watchdog_reset": 4,
    "software_update_completed": 5,
    "software_reset": 6,
}


@dataclass(frozen=True, kw_only=True)
class RelayEvent:
    """One line the relay printed, and when it arrived here."""

    at: float
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The event name ("ready", "onoff", "commissioned", ...)."""
        return str(self.data.get("event"))


class VirtualRelay:
    """A matter.js On/Off plug posing as a Sonoff MINIR4M."""

    def __init__(
        self,
        workdir: Path,
        *,
        serial: str,
        netns: NetNamespace | None = None,
        interface: str | None = None,
        ip: str | None = None,
        port: int = 5540,
    ) -> None:
        """Prepare (not start) a relay whose storage lives in `workdir`."""
        self.workdir = workdir
        self.serial = serial
        self.netns = netns
        self.interface = interface
        self.ip = ip
        self.port = port
        self.storage = workdir / "relay-storage"
        self.log_path = workdir / "relay.log"
        self.events: list[RelayEvent] = []
        self._proc: subprocess.Popen[bytes] | None = None
        self._partial = b""
        self.ready: dict[str, Any] = {}
        # What the next start reports as BootReason (0/51/4).
        self.boot_reason = "unspecified"
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def passcode(self) -> int:
        """The setup PIN code."""
        return int(self.ready.get("passcode", PASSCODE))

    @property
    def discriminator(self) -> int:
        """The discriminator it advertises."""
        return int(self.ready.get("discriminator", DISCRIMINATOR))

    @property
    def manual_code(self) -> str:
        """The 11-digit manual pairing code."""
        return str(self.ready.get("manual_code", MANUAL_CODE))

    @property
    def qr_code(self) -> str:
        """The QR code payload (MT:...)."""
        return str(self.ready.get("qr_code", ""))

    @property
    def pid(self) -> int | None:
        """The relay's process id (and process group) while it runs."""
        return self._proc.pid if self.running and self._proc is not None else None

    @property
    def running(self) -> bool:
        """Whether the relay process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def is_on(self) -> bool | None:
        """The relay's state as the device last reported it."""
        self._drain()
        for event in reversed(self.events):
            if event.kind in {"onoff", "ready", "state"}:
                return bool(event.data["on"])
        return None

    @property
    def reboot_count(self) -> int | None:
        """RebootCount (0/51/1) as the device reported it when it got ready."""
        count = self.ready.get("reboot_count")
        return int(count) if count is not None else None

    def start(self, timeout: float = 60) -> float:
        """Start the device and wait until it is ready; return seconds taken."""
        if self.running:
            return 0.0
        cmd = [
            node_executable(),
            str(RELAY_SCRIPT),
            "--storage-dir",
            str(self.storage),
            "--serial",
            self.serial,
            "--port",
            str(self.port),
            "--boot-reason",
            self.boot_reason,
        ]
        if self.interface:
            cmd += ["--interface", self.interface]
        if self.netns is not None:
            cmd = self.netns.wrap(cmd)
        began = time.monotonic()
        # A new run: indices from `mark()` count from here.
        self.events = []
        mark = 0
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                cmd,
                cwd=RELAY_DIR,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
                env={**os.environ, "NO_COLOR": "1"},
            )
        assert self._proc.stdout is not None  # noqa: S101 - set by Popen above
        os.set_blocking(self._proc.stdout.fileno(), False)
        self._partial = b""
        try:
            ready = self.wait_for(lambda e: e.kind == "ready", timeout=timeout, since=mark)
        except (TimeoutError, RigError) as err:
            self.stop()
            msg = f"virtual relay not ready: {err}\n{self.log_tail()}"
            raise RigError(msg) from None
        self.ready = ready.data
        return time.monotonic() - began

    def _drain(self) -> bool:
        """Read what the relay printed so far; False once its output has ended."""
        proc = self._proc
        if proc is None or proc.stdout is None or proc.stdout.closed:
            return False
        while True:
            try:
                chunk = os.read(proc.stdout.fileno(), 65536)
            except BlockingIOError:
                return True
            if not chunk:
                self.events.append(RelayEvent(at=time.monotonic(), data={"event": "exited"}))
                proc.stdout.close()
                return False
            *lines, self._partial = (self._partial + chunk).split(b"\n")
            for raw in lines:
                self._add(raw)

    def _add(self, raw: bytes) -> None:
        now = time.monotonic()
        try:
            data = json.loads(raw)
        except ValueError:
            return
        if isinstance(data, dict):
            self.events.append(RelayEvent(at=float(data.pop("t", now)), data=data))

    def _find(self, predicate: Callable[[RelayEvent], bool], since: int) -> RelayEvent | None:
        for event in self.events[since:]:
            if predicate(event):
                return event
            if event.kind == "exited":
                msg = f"virtual relay exited\n{self.log_tail()}"
                raise RigError(msg)
        return None

    def wait_for(
        self,
        predicate: Callable[[RelayEvent], bool],
        *,
        timeout: float = 60,
        since: int = 0,
    ) -> RelayEvent:
        """Return the first event from index `since` on that matches; blocks (not on a loop)."""
        deadline = time.monotonic() + timeout
        while True:
            alive = self._drain()
            if (event := self._find(predicate, since)) is not None:
                return event
            left = deadline - time.monotonic()
            if left <= 0 or not alive:
                seen = [e.data for e in self.events[since:]]
                msg = f"no matching relay event in {timeout} s; events: {seen}"
                raise TimeoutError(msg)
            if self._proc is not None and self._proc.stdout is not None:
                select.select([self._proc.stdout], [], [], min(left, 0.5))

    async def async_wait_for(
        self,
        predicate: Callable[[RelayEvent], bool],
        *,
        timeout: float = 60,
        since: int = 0,
    ) -> RelayEvent:
        """`wait_for` for coroutines: polls without blocking the loop."""
        async with asyncio.timeout(timeout):
            while True:
                alive = self._drain()
                if (event := self._find(predicate, since)) is not None:
                    return event
                if not alive:
                    seen = [e.data for e in self.events[since:]]
                    msg = f"virtual relay output ended; events: {seen}"
                    raise RigError(msg)
                await asyncio.sleep(0.01)

    def mark(self) -> int:
        """Return an index to pass as `since`: only later events count (until a restart)."""
        self._drain()
        return len(self.events)

    def send(self, command: str) -> None:
        """Send one stdin command ("on", "off", "toggle", "state")."""
        if self._proc is None or self._proc.stdin is None or not self.running:
            msg = "virtual relay is not running"
            raise RigError(msg)
        self._proc.stdin.write(f"{command}\n".encode())
        self._proc.stdin.flush()

    def press(self, *, on: bool | None = None) -> None:
        """Switch the relay from the device side: on, off, or toggle (None)."""
        self.send("toggle" if on is None else ("on" if on else "off"))

    def stop(self, timeout: float = 10) -> None:
        """Close the device cleanly (the server sees it leave), or kill it."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self._close(proc)

    def _close(self, proc: subprocess.Popen[bytes]) -> None:
        # Keep what it said last ("stopped"), then let go of it.
        if proc.stdout is not None and not proc.stdout.closed:
            self._drain()
            if proc.stdout is not None and not proc.stdout.closed:
                proc.stdout.close()
        if proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
        self._proc = None

    def kill(self) -> None:
        """Kill the device at once (a power cut); the server notices only later."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self._close(proc)

    def reboot(self, reason: str = "brown_out_reset", timeout: float = 60) -> RelayEvent:
        """
        Reboot the device as after a supply dip; it reports `reason` as BootReason.

        Its stored RebootCount goes up by one. The node closes its sessions as
        it goes, with the ShutDown event (a SIGKILL would lose matter.js's
        unsaved subscription state, and without ShutDown the server notices
        nothing for a minute or more). python-matter-server 8.1.2 answers the
        ShutDown by cutting the liveness timeout of the subscription it set up
        to 5 s, and subscribes again some 3 s after the device is back
        (measured; tests/rig_tests). On a subscription it resubscribed, or set
        up after its own restart (the past ShutDown events come again), that
        cut never fires: a second reboot goes unnoticed for minutes (measured:
        over 120 s). Returns the "ready" event, stamped with the moment the
        device was back.
        """
        if reason not in BOOT_REASONS:
            msg = f"reboot: unknown boot reason {reason!r}; one of {', '.join(BOOT_REASONS)}"
            raise ValueError(msg)
        self.stop()
        self.boot_reason = reason
        try:
            self.start(timeout)
        finally:
            # A later plain start() is a plain start again.
            self.boot_reason = "unspecified"
        return self.wait_for(lambda e: e.kind == "ready", timeout=0)

    def log_tail(self, lines: int = 40) -> str:
        """Return the last lines of matter.js's log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
