"""scripts/develop (the README's first command) and the browser check.

The real stack: a python-matter-server, the matter.js virtual MINIR4M in its own
network namespace, and Home Assistant with this integration, onboarded and set
up by the script through HA's own API and the integration's config flow. Then
headless Chromium logs in, opens the device page and the dashboard, and
switches the light with a click.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from homeassistant.const import UnitOfElectricCurrent

from tools.devstack.browser import CHROMIUM, run_check
from tools.devstack.ha_api import HomeAssistantAPI
from tools.rig.sockets import free_port

from .rig import require_netns

ROOT = Path(__file__).parent.parent
START_TIMEOUT_S = 420
SCREENSHOTS = ROOT / "build" / "screenshots"

pytestmark = [pytest.mark.matter, pytest.mark.netns, pytest.mark.usefixtures("socket_enabled")]


@dataclass
class DevelopStack:
    """A running scripts/develop and what it printed."""

    proc: subprocess.Popen[bytes]
    facts: dict[str, Any]
    output: Path
    config: Path

    def log(self) -> str:
        """What scripts/develop and HA wrote, for failure messages."""
        text = self.output.read_text(errors="replace")
        ha_log = self.config / "home-assistant.log"
        if ha_log.exists():
            text += "\n--- home-assistant.log ---\n" + ha_log.read_text(errors="replace")[-6000:]
        return text[-12000:]


def _start(tmp_path: Path, *extra: str) -> DevelopStack:
    config = tmp_path / "config"
    ready = tmp_path / "ready.json"
    output = tmp_path / "develop.out"
    command = [
        str(ROOT / "scripts" / "develop"),
        "--port",
        str(free_port()),
        "--matter-port",
        str(free_port()),
        "--config",
        str(config),
        "--ready-file",
        str(ready),
        *extra,
    ]
    with output.open("wb") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy()
        )
    stack = DevelopStack(proc, {}, output, config)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not ready.exists():
        if proc.poll() is not None:
            pytest.fail(f"scripts/develop exited with {proc.returncode}:\n{stack.log()}")
        if time.monotonic() > deadline:
            _stop(stack)
            pytest.fail(f"scripts/develop not ready in {START_TIMEOUT_S} s:\n{stack.log()}")
        time.sleep(0.5)
    stack.facts = json.loads(ready.read_text())
    return stack


def _stop(stack: DevelopStack) -> int:
    """Stop it as Ctrl-C would, and return its exit status."""
    stack.proc.send_signal(signal.SIGINT)
    try:
        return stack.proc.wait(timeout=90)
    except subprocess.TimeoutExpired:
        stack.proc.kill()
        stack.proc.wait()
        pytest.fail(f"scripts/develop did not stop on Ctrl-C:\n{stack.log()}")


@pytest.fixture
def develop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DevelopStack]:
    """The develop stack, started with the test's extra arguments."""
    require_netns()
    stack = _start(tmp_path, *getattr(request, "param", ()))
    try:
        yield stack
    finally:
        if stack.proc.poll() is None:
            _stop(stack)


def test_develop_runs_the_whole_integration(develop: DevelopStack) -> None:
    """One command: HA onboarded, the relay commissioned, the adaptor set up."""
    facts = develop.facts
    api = HomeAssistantAPI(facts["url"])
    api.login()  # the documented development login works
    # The frontend is served.
    page = api.request("GET", "/manifest.json")
    assert page["name"] == "Home Assistant"
    steps = api.request("GET", "/api/onboarding")  # served until HA restarts
    assert all(step["done"] for step in steps), steps
    (entry,) = api.config_entries("no_neutral")
    assert entry["state"] == "loaded"
    light = api.state(facts["entities"]["light"])
    assert light["state"] in {"on", "off"}
    leakage = api.state(facts["entities"]["off_leakage_current"])
    assert float(leakage["state"]) > 0
    assert leakage["attributes"]["unit_of_measurement"] == UnitOfElectricCurrent.MICROAMPERE
    no_load = api.state(facts["entities"]["no_load"])
    assert no_load["state"] == "off"  # a 10 W LED bulb is a proper load
    dashboard = (develop.config / "dashboards" / "no_neutral.yaml").read_text()
    assert facts["entities"]["light"] in dashboard
    assert facts["entities"]["no_load"] in dashboard

    assert _stop(develop) == 0
    errors = [
        line
        for line in (develop.config / "home-assistant.log").read_text().splitlines()
        if "ERROR" in line and "no_neutral" in line
    ]
    assert not errors


@pytest.mark.parametrize("develop", [("--lamp", "none")], indirect=True)
def test_develop_lamp_option_shows_the_warning(develop: DevelopStack) -> None:
    """--lamp none: the no-load risk is on, as a person choosing it expects."""
    api = HomeAssistantAPI(develop.facts["url"])
    api.login()
    assert develop.facts["lamp"] == "none"
    assert api.state(develop.facts["entities"]["no_load"])["state"] == "on"


@pytest.mark.browser
async def test_browser_switches_the_light(develop: DevelopStack) -> None:
    """Log in with Chromium, open the device page and dashboard, click the light."""
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")  # pragma: no cover
    result = await run_check(develop.facts, SCREENSHOTS)
    assert result.light_after != result.light_before
    api = HomeAssistantAPI(develop.facts["url"])
    api.login()
    # The state HA shows came back from the relay (Matter attribute report).
    assert api.state(develop.facts["entities"]["light"])["state"] == result.light_after
    for shot in result.screenshots:
        assert shot.stat().st_size > 10_000, shot
