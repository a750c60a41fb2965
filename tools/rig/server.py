"""
A real python-matter-server process, its storage kept in a work folder.

The CHIP SDK writes `/data/chip_*.ini` and `/tmp/chip_kvs` at fixed paths, so
the server runs in a private mount namespace where a work folder's `data/` and
`tmp/` are bind-mounted over `/data` and `/tmp`: several servers can run side by
side, a restart keeps the fabric, and nothing is left on the machine.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tools.rig.paths import PROJECT_DIR, RELAY_SCRIPT, SERVER_BIN, node_executable
from tools.rig.sockets import free_port, tcp_connect

if TYPE_CHECKING:
    from tools.rig.netns import NetNamespace

# Inside the server's mount namespace.
_DATA = "/data"
_STORAGE = f"{_DATA}/storage"
_PAA = f"{_DATA}/paa"

# Private /data and /tmp, then the server. `mount --make-rprivate /` keeps the
# binds from leaking into the caller's namespace on a plain host; inside the
# project's chroot it fails harmlessly (that namespace is private already).
# The server does not read stdin, so the shell watches it instead: when the rig
# that started it dies, the pipe closes and the server is stopped, never orphaned.
_MOUNT_AND_RUN = """
mount --make-rprivate / 2>/dev/null || true
mount --bind "$1/data" /data
mount --bind "$1/tmp" /tmp
shift
exec 3<&0
"$@" </dev/null 3<&- &
server=$!
trap 'kill -TERM "$server" 2>/dev/null' TERM INT
{ cat <&3 >/dev/null; kill -TERM "$server" 2>/dev/null; } &
# wait returns early when a trap runs: wait until the server is really gone,
# so that a restart never finds the old one still holding the port or storage.
status=0
while kill -0 "$server" 2>/dev/null; do wait "$server"; status=$?; done
exit "$status"
"""


class RigError(RuntimeError):
    """The rig could not start a part; the message carries the log's tail."""


def export_test_paa(directory: Path) -> None:
    """
    Write matter.js's test PAA certificate (and a `.version`) into `directory`.

    Without it, commissioning the virtual relay fails device attestation.
    """
    subprocess.run(
        [node_executable(), str(RELAY_SCRIPT), "--export-paa", str(directory)],
        check=True,
        capture_output=True,
        timeout=60,
    )


class MatterServer:
    """One matter-server process; `start()` again after `stop()` keeps its fabric."""

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        netns: NetNamespace | None = None,
        primary_interface: str | None = None,
        log_level: str = "info",
        isolate: bool = True,
    ) -> None:
        """
        Prepare (not start) a server whose files all live under `workdir`.

        Without `netns`, and with `isolate`, the server gets an empty network
        namespace of its own where the machine allows one: it then sends
        nothing (mDNS, its DCL look-ups) out of the machine's interfaces.
        `isolation` says which it got.
        """
        self.workdir = workdir
        self.netns = netns
        self._own_netns: NetNamespace | None = None
        self.isolation = "shared namespace" if netns else "host network"
        if netns is None and isolate:
            from tools.rig.netns import NetNamespace  # noqa: PLC0415

            try:
                self.netns = self._own_netns = NetNamespace("srv")
                self.isolation = "own network namespace"
            except OSError as err:
                self.isolation = f"host network (no namespace: {err})"
        self.primary_interface = primary_interface
        self.log_level = log_level
        self.port = port or free_port()
        # In a network namespace the server listens on that namespace's
        # loopback; a proxy makes it reachable on ours at the same port.
        self._inner_port = self.port
        self._proc: subprocess.Popen[bytes] | None = None
        self._proxy: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "server.log"
        for sub in ("data/storage", "data/paa", "tmp"):
            (workdir / sub).mkdir(parents=True, exist_ok=True)
        if not any((workdir / "data/paa").glob("*.der")):
            export_test_paa(workdir / "data/paa")

    @property
    def url(self) -> str:
        """The websocket URL a client connects to."""
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._proc.pid if self._proc and self._proc.poll() is None else None

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self.pid is not None

    @property
    def proxy_pid(self) -> int | None:
        """The process id of the proxy into the server's namespace, while open."""
        return self._proxy.pid if self._proxy and self._proxy.poll() is None else None

    def _command(self) -> list[str]:
        cmd = [
            str(SERVER_BIN),
            "--storage-path",
            _STORAGE,
            "--paa-root-cert-dir",
            _PAA,
            "--port",
            str(self._inner_port),
            "--listen-address",
            "127.0.0.1",
            "--log-level",
            self.log_level,
        ]
        if self.primary_interface:
            cmd += ["--primary-interface", self.primary_interface]
        wrapped = [
            "unshare",
            "--mount",
            "--propagation",
            "unchanged",
            "--",
            "/bin/sh",
            "-c",
            _MOUNT_AND_RUN,
            "sh",
            str(self.workdir),
            *cmd,
        ]
        if self.netns is not None:
            wrapped = self.netns.wrap(wrapped)
        return wrapped

    def start(self, timeout: float = 60) -> float:
        """Start the server and wait until it accepts connections; return seconds taken."""
        if self.running:
            return 0.0
        # The server re-downloads PAA certificates (from the internet) when
        # .version is over a day old.
        (self.workdir / "data/paa/.version").touch()
        if not SERVER_BIN.exists():
            msg = f"{SERVER_BIN} is missing: run the tests through scripts/test (it installs it)"
            raise RigError(msg)
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            log.write(f"==== start {time.strftime('%H:%M:%S')} ====\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                self._command(),
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = began + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                msg = f"matter-server exited with {self._proc.returncode}\n{self.log_tail()}"
                raise RigError(msg)
            if self._accepts():
                self._open_proxy()
                return time.monotonic() - began
            time.sleep(0.05)
        self.stop()
        msg = f"matter-server not ready after {timeout} s\n{self.log_tail()}"
        raise RigError(msg)

    def _open_proxy(self) -> None:
        # Open only while the server runs, so that a stopped server refuses
        # connections as a real one does (not accept-then-close).
        if self.netns is None or self._proxy is not None:
            return
        proxy = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tools.rig.proxy",
                str(self.port),
                str(self.netns.path),
                str(self._inner_port),
            ],
            cwd=PROJECT_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Out of the terminal's process group, as the server is: a Ctrl-C
            # is for the rig, which closes the proxy itself.
            start_new_session=True,
        )
        assert proxy.stdout is not None  # noqa: S101 - set by Popen above
        first = proxy.stdout.readline()
        if first.strip() != b"ready":
            proxy.kill()
            proxy.wait()
            rest = proxy.stdout.read()
            msg = f"the proxy to the server's namespace did not start: {first!r} {rest!r}"
            raise RigError(msg)
        self._proxy = proxy

    def _close_proxy(self) -> None:
        proxy, self._proxy = self._proxy, None
        if proxy is None:
            return
        # The end of its stdin alone stops it; SIGTERM too, and SIGKILL
        # bounds the wait whatever state it is in.
        if proxy.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                proxy.stdin.close()
        proxy.terminate()
        try:
            proxy.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proxy.kill()
            proxy.wait()
        if proxy.stdout is not None:
            proxy.stdout.close()

    def _accepts(self) -> bool:
        try:
            if self.netns is not None:
                sock = self.netns.connect(("127.0.0.1", self._inner_port), timeout=1)
            else:
                sock = tcp_connect("127.0.0.1", self._inner_port, timeout=1)
        except OSError:
            return False
        sock.close()
        return True

    def stop(self, timeout: float = 15) -> None:
        """Stop the server (SIGTERM, then SIGKILL); its storage stays."""
        self._close_proxy()
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        _terminate(proc, timeout)

    def kill(self) -> None:
        """Kill the server at once, as a crash would."""
        self._close_proxy()
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc is not None and proc.stdin is not None:
            proc.stdin.close()

    def restart(self, timeout: float = 60) -> float:
        """Stop and start again with the same port and storage; return start seconds."""
        self.stop()
        return self.start(timeout)

    def close(self) -> None:
        """Stop the server and its proxy for good."""
        self.stop()
        if self._own_netns is not None:
            self._own_netns.delete()
            self._own_netns = None

    def log_text(self) -> str:
        """Everything the server logged so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        """Return the last lines of the server's log."""
        return "\n".join(self.log_text().splitlines()[-lines:])


def _terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
    # The whole process group: the server, and the shell that waits for it.
    if proc.stdin is not None:
        proc.stdin.close()
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        proc.wait()
