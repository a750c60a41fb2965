"""scripts/develop (the README's first command) serves Home Assistant."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
START_TIMEOUT_S = 120


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback)
        return response.status, response.read()


@pytest.mark.usefixtures("socket_enabled")
def test_develop_serves_onboarding(tmp_path: Path) -> None:
    """A fresh config folder: HA starts and offers its onboarding page."""
    port = _free_port()
    log = tmp_path / "hass.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [ROOT / "scripts" / "develop", "--port", str(port), "--config", tmp_path / "config"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert proc.poll() is None, f"HA exited early:\n{log.read_text()[-3000:]}"
            try:
                status, page = _get(f"http://127.0.0.1:{port}/onboarding.html")
                break
            except OSError:
                assert time.monotonic() < deadline, f"no answer:\n{log.read_text()[-3000:]}"
                time.sleep(0.5)
        assert status == 200
        assert b"<title>Home Assistant</title>" in page
        _, body = _get(f"http://127.0.0.1:{port}/api/onboarding")
        steps = {step["step"]: step["done"] for step in json.loads(body)}
        assert steps["user"] is False
        # The integration is there to be set up from the working tree.
        linked = tmp_path / "config" / "custom_components" / "no_neutral"
        assert linked.resolve() == (ROOT / "custom_components" / "no_neutral").resolve()
        # Stop only once start-up is over: HA installs its signal handlers then.
        while "Home Assistant initialized in" not in log.read_text():
            assert time.monotonic() < deadline, f"never started:\n{log.read_text()[-3000:]}"
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, log.read_text()[-3000:]
    errors = [
        line
        for line in log.read_text().splitlines()
        if " ERROR " in line and "no_neutral" in line
    ]
    assert not errors
