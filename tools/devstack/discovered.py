"""
The discovery check: a relay of HA's Matter integration, added from "Discovered" in the browser.

Against a running develop stack (its ready file): starts a second relay rig
(server and virtual relay, serial DISC0001) and pairs the relay there, sets up
Home Assistant's own Matter integration on that server through its config flow,
and watches the relay's real operational mDNS advertisement inside the rig's
namespace (tools/rig/mdns.py); the develop stack's `devstack_mdns` bridge hands
it to HA's discovery (the namespaces keep every mDNS packet in). Then, in
headless Chromium: Settings > Devices & services shows the relay under
"Discovered" (screenshot discovered.png); Add opens the lamp form without any
URL field; submitting it creates the entry, with the Matter integration's URL.
Afterwards the entry, the Matter entry and the rig are removed: the develop
stack is as it was.

    scripts/discovery-check --ready-file build/ready.json --out docs/screenshots
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright

from tools.devstack import ha_ws
from tools.devstack.browser import check_arguments, chromium_page, log_in
from tools.devstack.ha_api import HomeAssistantAPI
from tools.rig import client as rig_client
from tools.rig.mdns import MdnsWatch
from tools.rig.relay_rig import RelayRig

DOMAIN = "no_neutral"
FLOW = "/api/config/config_entries/flow"
MATTER_TYPE = "_matter._tcp.local."
SERIAL = "DISC0001"
TIMEOUT_S = 60


def _set_up_matter(api: HomeAssistantAPI, url: str) -> str:
    """Add HA's Matter integration on `url` through its own config flow; return the entry id."""
    step = api.request("POST", FLOW, {"handler": "matter", "show_advanced_options": False})
    if step.get("step_id") != "manual":
        msg = f"the Matter integration's flow did not ask for a URL: {step}"
        raise RuntimeError(msg)
    step = api.request("POST", f"{FLOW}/{step['flow_id']}", {"url": url})
    if step.get("type") != "create_entry":
        msg = f"the Matter integration was not set up: {step}"
        raise RuntimeError(msg)
    return str(step["result"]["entry_id"])


async def _offers(api: HomeAssistantAPI) -> list[dict[str, Any]]:
    """Return the discovered flows of this integration, as Settings lists them."""
    async with ha_ws.connect(api.base_url, str(api.token)) as ws:
        flows = await ws.command({"type": "config_entries/flow/progress"})
    return [
        flow
        for flow in flows
        if flow["handler"] == DOMAIN and flow["context"].get("source") == "zeroconf"
    ]


async def _wait_for_offer(api: HomeAssistantAPI) -> dict[str, Any]:
    async with asyncio.timeout(TIMEOUT_S):
        # Watched from outside, as the frontend lists them; nothing to wait on.
        while not (offers := await _offers(api)):  # noqa: ASYNC110
            await asyncio.sleep(0.5)
    return offers[0]


async def run_check(facts: dict[str, Any], out: Path) -> dict[str, Any]:
    """Run the check against the develop stack described by `facts`; return what it saw."""
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    base_url: str = facts["url"]
    api = HomeAssistantAPI(base_url)
    api.login()
    with tempfile.TemporaryDirectory(prefix="discovery-check-") as work:
        rig = RelayRig(Path(work), serial=SERIAL)
        matter_entry: str | None = None
        try:
            await asyncio.to_thread(rig.start)
            node_id = await rig_client.commission(rig.url, code=rig.relay.manual_code)
            async with rig_client.connected_client(rig.url) as client:
                assert client.server_info is not None  # noqa: S101 - set by connect
                fabric = client.server_info.compressed_fabric_id
            watch = await asyncio.to_thread(MdnsWatch, rig.server_ns, MATTER_TYPE)
            try:
                matter_entry = await asyncio.to_thread(_set_up_matter, api, rig.url)
                # The relay's operational name; the server, a node of the fabric too,
                # announces its own (which discovery turns down: no on/off output).
                name = f"{fabric:016X}-{node_id:016X}"
                seen = await asyncio.to_thread(watch.next, "Added", name)
                await asyncio.to_thread(
                    api.request, "POST", "/api/services/devstack_mdns/announce", asdict(seen)
                )
                offer = await _wait_for_offer(api)
                return await _in_browser(api, base_url, offer, out) | {"announced": seen.name}
            finally:
                await asyncio.to_thread(watch.close)
        finally:
            for flow in await _offers(api):
                api.request("DELETE", f"{FLOW}/{flow['flow_id']}")
            for entry in api.config_entries(DOMAIN):
                if entry["title"].endswith(SERIAL):
                    api.request("DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}")
            if matter_entry is not None:
                api.request("DELETE", f"/api/config/config_entries/entry/{matter_entry}")
            await asyncio.to_thread(rig.close)


async def _in_browser(
    api: HomeAssistantAPI, base_url: str, offer: dict[str, Any], out: Path
) -> dict[str, Any]:
    title = offer["context"]["title_placeholders"]["name"]
    async with async_playwright() as playwright, chromium_page(playwright) as page:
        await log_in(page, base_url)
        await page.goto(f"{base_url}/config/integrations/dashboard")
        card = page.locator("ha-config-flow-card").filter(has_text=title)
        await card.wait_for(state="visible")
        # Not browser._settle: the integrations' brand icons come from the
        # internet, which this closed network never reaches.
        await page.wait_for_load_state("networkidle")
        await page.evaluate("document.fonts.ready.then(() => true)")
        await page.screenshot(path=out / "discovered.png", animations="disabled")
        await card.get_by_text("Add", exact=True).click()
        dialog = page.locator("dialog-data-entry-flow")
        await dialog.get_by_text("The lamp and the mains").first.wait_for()
        if await dialog.get_by_label("Server URL").count():
            msg = "the discovered flow asked for the server URL"
            raise RuntimeError(msg)
        await dialog.get_by_role("button", name="Submit").click()
        entry = await asyncio.to_thread(_wait_for_entry, api, title)
    return {"offer": title, "entry": entry["entry_id"], "state": entry["state"]}


def _wait_for_entry(api: HomeAssistantAPI, title: str) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        for entry in api.config_entries(DOMAIN):
            if entry["title"] == title and entry["state"] == "loaded":
                return entry
        time.sleep(0.5)
    msg = f"no loaded entry {title!r} within {TIMEOUT_S} s"
    raise TimeoutError(msg)


def main(argv: list[str]) -> int:
    """Run the check against the stack whose ready file is given."""
    facts, out = check_arguments("scripts/discovery-check", argv)
    seen = asyncio.run(run_check(facts, out))
    print(
        f"announced {seen['announced']}; offered under Discovered as {seen['offer']!r}; "
        f"added in the browser without a URL: entry {seen['entry']} ({seen['state']}); "
        f"screenshot: {out / 'discovered.png'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
