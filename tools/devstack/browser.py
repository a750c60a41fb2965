"""
The browser check: the develop stack, used through HA's real frontend.

Logs into HA in headless Chromium (Debian's package, driven by Playwright; no
browser is downloaded), opens the adaptor's device page and its dashboard,
switches the light with a click on the dashboard, and checks through HA's REST
API that the click reached the relay and came back as the light's state.
Screenshots go to the given folder.

    scripts/browser-check --ready-file build/ready.json --out docs/screenshots

(scripts/browser-check enters the project's environment, then runs this module.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Page, async_playwright

from tools.devstack.ha_api import DEV_PASSWORD, DEV_USERNAME, HomeAssistantAPI

CHROMIUM = "/usr/bin/chromium"
# As the machine's probe starts it: nothing phones home on this closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 1000}


@dataclass
class CheckResult:
    """What the check saw."""

    screenshots: list[Path] = field(default_factory=list)
    light_before: str = ""
    light_after: str = ""
    click_to_state_s: float = 0.0


async def _log_in(page: Page, base_url: str) -> None:
    await page.goto(base_url + "/")
    await page.get_by_label("Username").fill(DEV_USERNAME)
    await page.get_by_label("Password", exact=True).fill(DEV_PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url(lambda url: "auth_callback" not in url and "/auth/" not in url)


async def _settle(page: Page) -> None:
    # The frontend renders lazily after the websocket is up; give its cards a
    # moment to draw before a screenshot.
    await page.wait_for_load_state("networkidle")
    await page.wait_for_timeout(1500)


def _wait_for_state(api: HomeAssistantAPI, entity_id: str, expected: str, timeout: float) -> float:
    started = time.monotonic()
    while True:
        state = api.state(entity_id)["state"]
        if state == expected:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            msg = f"{entity_id} stayed {state!r}, expected {expected!r}"
            raise AssertionError(msg)
        time.sleep(0.05)


async def run_check(facts: dict[str, Any], out: Path) -> CheckResult:
    """Run the whole check against a running develop stack described by `facts`."""
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    base_url: str = facts["url"]
    light: str = facts["entities"]["light"]
    api = HomeAssistantAPI(base_url)
    api.login()
    result = CheckResult(light_before=api.state(light)["state"])
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
            await _log_in(page, base_url)

            await page.goto(f"{base_url}/config/devices/device/{facts['device_id']}")
            await _settle(page)
            await page.screenshot(path=out / "device.png", full_page=True)
            result.screenshots.append(out / "device.png")

            await page.goto(base_url + facts["dashboard"])
            await _settle(page)
            await page.screenshot(path=out / "dashboard.png", full_page=True)
            result.screenshots.append(out / "dashboard.png")

            # The tile card's icon toggles a light: the click a person makes.
            expected = "off" if result.light_before == "on" else "on"
            tile = page.locator("hui-tile-card").first
            clicked = time.monotonic()
            await tile.locator("ha-tile-icon").click()
            await asyncio.to_thread(_wait_for_state, api, light, expected, 15)
            result.click_to_state_s = time.monotonic() - clicked
            result.light_after = expected
            await _settle(page)
            await page.screenshot(path=out / "dashboard-switched.png", full_page=True)
            result.screenshots.append(out / "dashboard-switched.png")
        finally:
            await browser.close()
    return result


def main(argv: list[str]) -> int:
    """Run the check against the stack whose ready file is given."""
    parser = argparse.ArgumentParser(prog="scripts/browser-check")
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("build/screenshots"))
    args = parser.parse_args(argv)
    facts = json.loads(args.ready_file.read_text())
    result = asyncio.run(run_check(facts, args.out))
    print(
        f"light {result.light_before} -> {result.light_after}, "
        f"click to state {result.click_to_state_s * 1000:.0f} ms; "
        f"screenshots: {', '.join(str(p) for p in result.screenshots)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
