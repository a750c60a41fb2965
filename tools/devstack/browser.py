"""
The browser check: the develop stack, used through HA's real frontend.

Logs into HA in headless Chromium (Debian's package, driven by Playwright; no
browser is downloaded), opens the adaptor's device page and its dashboard,
switches the light with a click on the dashboard, and checks through HA's REST
API that the click reached the relay and came back as the light's state.

Then the entry's Configure dialog: its six sections; the ambient sensor
picker, which offers a temperature sensor made for the check but none of this
integration's own entities (from HA's entity registry); a save that clears the
bleed resistor, watched over HA's websocket API from before the click: the
Warning event entity reports ghost flashing raised and no entity of the entry
turns unavailable (the options apply without a reload); the resistor put back,
the warning cleared. Then Troubleshoot, from the same menu: "glows or flashes
while off" ticked, the fault finder's answer waited for, its top fault the
missing bleed resistor (what the fault finder answers for the develop stack's
adaptor). Then the Energy dashboard: the lamp on until its energy
sensor has counted, HA's energy validation without an issue for the adaptor's
individual devices (the lamp, its power as the live rate; the losses; the
standby inside them), the devices listed in the energy settings and on the
dashboard, and its Now view. Screenshots go to the given folder.

    scripts/browser-check --ready-file build/ready.json --out docs/screenshots

(scripts/browser-check enters the project's environment, then runs this module.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from playwright.async_api import Locator, Page, Playwright, async_playwright

from tools.devstack import energy, ha_ws
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
# The dashboard's cards (tools/devstack/dashboard.py), drawn before a picture.
DASHBOARD_CARDS = (
    "hui-tile-card",
    "hui-entities-card",
    "hui-gauge-card",
    "hui-picture-entity-card",
)
# Tall enough for the whole options form, its six sections open, in one picture.
FORM_VIEWPORT = {"width": 1280, "height": 3300}
DOMAIN = "no_neutral"
# The options form's sections, as strings.json names them, in their order.
SECTIONS = (
    "Lamp",
    "Mains and cable",
    "The bypass module's parts",
    "The capacitor's datasheet",
    "Environment",
    "Relay",
)
BLEED_LABEL = "Bleed resistor"
# The options menu's items, as strings.json names them.
SETTINGS_LABEL = "Adaptor settings"
TROUBLESHOOT_LABEL = "Troubleshoot"
GHOSTING_LABEL = "The lamp glows or flashes while off"
# What the fault finder ranks first for ghosting on the develop stack's 10 W LED
# adaptor (its bleed resistor fitted): the bleed resistor missing.
GHOSTING_TOP_FAULT = "1. Bleed resistor missing"
# A bound for failure only: the fault finder's some thirty simulations take
# about 30 s on a loaded 2-core machine.
TROUBLESHOOT_TIMEOUT_S = 300
# No bleed resistor on the develop stack's 10 W LED bulb: ghost flashing.
WARNING_CODE = "ghost_flash"
# A temperature sensor that is not the adaptor's: the picker must offer it.
ROOM_SENSOR_NAME = "Browser check room temperature"
# Bounds for failure only: each wait ends as soon as its condition holds.
API_TIMEOUT_S = 60
# The energy sensors show kWh to 3 places: the develop stack's 10 W lamp shows
# 0.001 after 3 minutes on, counted at the next whole minute (the adaptor counts
# once a minute), so by 4 minutes; a minute more for a slow machine.
ENERGY_TIMEOUT_S = 300
# The Energy dashboard's cards in one picture, its period bar below them.
ENERGY_VIEWPORT = {"width": 1280, "height": 1400}


@dataclass
class CheckResult:
    """What the check saw."""

    screenshots: list[Path] = field(default_factory=list)
    light_before: str = ""
    light_after: str = ""
    click_to_state_s: float = 0.0
    sections: list[str] = field(default_factory=list)
    offered: list[str] = field(default_factory=list)
    own_entities: int = 0
    raised: str = ""
    cleared: str = ""
    watched_states: int = 0
    lamp_energy: str = ""
    energy_devices: list[str] = field(default_factory=list)
    top_fault: str = ""
    troubleshoot_s: float = 0.0


async def log_in(page: Page, base_url: str) -> None:
    """Log into the develop stack's HA as its development user, as a person does."""
    await page.goto(base_url + "/")
    await page.get_by_label("Username").fill(DEV_USERNAME)
    await page.get_by_label("Password", exact=True).fill(DEV_PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url(lambda url: "auth_callback" not in url and "/auth/" not in url)


# True once every picture on the page, inside the frontend's shadow roots too,
# is loaded and nothing shows a loading spinner.
_DRAWN = """() => {
    const found = [];
    const walk = (root) => {
        for (const el of root.querySelectorAll("*")) {
            if (el.tagName === "IMG" || el.tagName === "HA-SPINNER") found.push(el);
            if (el.shadowRoot) walk(el.shadowRoot);
        }
    };
    walk(document);
    return found.every((el) =>
        el.tagName === "IMG" ? el.complete && el.naturalWidth > 0
            : el.offsetParent === null || getComputedStyle(el).opacity === "0");
}"""


# True once the charts inside the given element have drawn something and stopped
# moving: their pixels the same as at the previous poll (they draw on a canvas,
# growing in for a moment, after the page has settled).
_CHART_DRAWN = """(selector) => {
    const hosts = [];
    const walk = (root) => {
        for (const el of root.querySelectorAll("*")) {
            if (el.matches(selector)) hosts.push(el);
            if (el.shadowRoot) walk(el.shadowRoot);
        }
    };
    walk(document);
    let ink = 0;
    let sum = 0;
    const look = (root) => {
        for (const el of root.querySelectorAll("canvas")) {
            if (!el.width || !el.height) continue;
            const data = el.getContext("2d").getImageData(0, 0, el.width, el.height).data;
            for (let i = 0; i < data.length; i += 4) {
                if (data[i + 3] > 0) ink += 1;
                const pixel = data[i] + data[i + 1] * 7 + data[i + 2] * 13 + data[i + 3];
                sum = (sum * 31 + pixel) % 1000000007;
            }
        }
        for (const el of root.querySelectorAll("*")) if (el.shadowRoot) look(el.shadowRoot);
    };
    hosts.forEach((host) => look(host.shadowRoot ?? host));
    const still = window.__chartSum === sum;
    window.__chartSum = sum;
    return ink > 0 && still;
}"""


async def _settle(page: Page, *drawn: str) -> None:
    """Wait until the page is drawn: the given elements shown, its pictures loaded."""
    await page.wait_for_load_state("networkidle")
    for selector in drawn:
        await page.locator(selector).first.wait_for(state="visible")
    await page.wait_for_function(_DRAWN)
    await page.evaluate("document.fonts.ready.then(() => true)")


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


async def _room_sensor(api: HomeAssistantAPI) -> dict[str, Any]:
    """Add a template temperature sensor, the choice the ambient picker must offer."""
    flow = await asyncio.to_thread(
        api.request, "POST", "/api/config/config_entries/flow", {"handler": "template"}
    )
    path = f"/api/config/config_entries/flow/{flow['flow_id']}"
    await asyncio.to_thread(api.request, "POST", path, {"next_step_id": "sensor"})
    created: dict[str, Any] = await asyncio.to_thread(
        api.request,
        "POST",
        path,
        {
            "name": ROOM_SENSOR_NAME,
            "state": "21.5",
            "unit_of_measurement": "\u00b0C",
            "device_class": "temperature",
            "state_class": "measurement",
        },
    )
    if created.get("type") != "create_entry":
        msg = f"the template sensor was not created: {created}"
        raise AssertionError(msg)
    return created["result"]


async def _next_state(
    queue: asyncio.Queue[dict[str, Any]], seen: list[dict[str, Any]], what: str
) -> dict[str, Any]:
    """Return the next state_changed event's data, keeping it in `seen`."""
    try:
        event = await asyncio.wait_for(queue.get(), API_TIMEOUT_S)
    except TimeoutError:
        msg = f"no state change in {API_TIMEOUT_S} s while waiting for {what}"
        raise AssertionError(msg) from None
    data: dict[str, Any] = event["data"]
    seen.append(data)
    return data


async def _wait_for_event(
    queue: asyncio.Queue[dict[str, Any]],
    seen: list[dict[str, Any]],
    event_entity: str,
    event_type: str,
) -> str:
    """Wait until the event entity reports `event_type`; return the state (its time)."""
    while True:
        data = await _next_state(queue, seen, f"{event_entity} to report {event_type}")
        new = data.get("new_state") or {}
        if (
            data["entity_id"] == event_entity
            and new.get("attributes", {}).get("event_type") == event_type
        ):
            state: str = new["state"]
            datetime.fromisoformat(state)  # an event entity's state is the event's time
            return state


async def _open_menu(page: Page, base_url: str, item: str) -> Locator:
    """Open the entry's Configure dialog and choose an item of its menu."""
    await page.goto(f"{base_url}/config/integrations/integration/{DOMAIN}")
    await page.get_by_role("button", name="Configure").first.click()
    dialog = page.locator("dialog-data-entry-flow")
    await dialog.locator("step-flow-menu").get_by_text(item, exact=True).click()
    return dialog


async def _open_options(page: Page, base_url: str) -> Locator:
    dialog = await _open_menu(page, base_url, SETTINGS_LABEL)
    await dialog.get_by_role("spinbutton", name=BLEED_LABEL).wait_for()
    return dialog


async def _check_troubleshoot(page: Page, base_url: str, out: Path, result: CheckResult) -> None:
    """Tick ghosting in Troubleshoot, wait for the answer, check its top fault, picture it."""
    dialog = await _open_menu(page, base_url, TROUBLESHOOT_LABEL)
    await dialog.get_by_text(GHOSTING_LABEL, exact=True).click()
    box = dialog.get_by_role("checkbox", name=GHOSTING_LABEL)
    if not await box.is_checked():
        msg = f"ticking {GHOSTING_LABEL!r} left its checkbox empty"
        raise AssertionError(msg)
    started = time.monotonic()
    await dialog.get_by_role("button", name="Submit").click()
    # The progress step first, then the answer's form (its markdown).
    answer = dialog.locator("step-flow-form ha-markdown strong").first
    await answer.wait_for(timeout=TROUBLESHOOT_TIMEOUT_S * 1000)
    result.troubleshoot_s = time.monotonic() - started
    result.top_fault = (await answer.text_content() or "").strip()
    if result.top_fault != GHOSTING_TOP_FAULT:
        msg = f"Troubleshoot's top fault is {result.top_fault!r}, not {GHOSTING_TOP_FAULT!r}"
        raise AssertionError(msg)
    await _settle(page)
    await dialog.locator("wa-dialog [part=dialog]").first.screenshot(
        path=out / "troubleshoot.png", animations="disabled"
    )
    result.screenshots.append(out / "troubleshoot.png")
    # Done: the options stay as they were (the flow ends without saving).
    await dialog.get_by_role("button", name="Done").click()
    await dialog.locator("step-flow-abort").wait_for(state="attached")
    await dialog.locator("ha-dialog-footer").get_by_role("button", name="Close").click()
    await dialog.locator("step-flow-abort").wait_for(state="detached")


async def _form_picture(dialog: Locator, path: Path) -> None:
    """Take the dialog's picture, its whole form in view (nothing scrolled away)."""
    body = dialog.locator("wa-dialog .body").first
    hidden = await body.evaluate("body => body.scrollHeight - body.clientHeight")
    if hidden > 1:
        msg = f"{hidden} px of the options form do not fit {FORM_VIEWPORT}"
        raise AssertionError(msg)
    await dialog.locator("wa-dialog [part=dialog]").first.screenshot(
        path=path, animations="disabled"
    )


async def _save_options(dialog: Locator) -> None:
    await dialog.get_by_role("button", name="Submit").click()
    # Saved: the flow's Success step (an error would keep the form).
    done = dialog.locator("step-flow-create-entry")
    await done.wait_for(state="attached")
    await dialog.get_by_role("button", name="Finish").click()
    await done.wait_for(state="detached")


async def _check_form(
    page: Page, base_url: str, *, own: set[str], room_entity: str, out: Path, result: CheckResult
) -> str:
    """Check the form's sections and ambient picker; return the stored bleed resistor."""
    await page.set_viewport_size(FORM_VIEWPORT)  # type: ignore[arg-type]
    dialog = await _open_options(page, base_url)
    headers = dialog.locator("ha-expansion-panel [slot=header]")
    result.sections = [text.strip() for text in await headers.all_text_contents()]
    if tuple(result.sections) != SECTIONS:
        msg = f"the options form's sections are {result.sections}, not {SECTIONS}"
        raise AssertionError(msg)
    # The form shows the stored values, inside their sections.
    stored_bleed = await dialog.get_by_role("spinbutton", name=BLEED_LABEL).input_value()
    if not stored_bleed:
        msg = "the options form shows no bleed resistor on the develop stack"
        raise AssertionError(msg)
    await _settle(page)
    await _form_picture(dialog, out / "options.png")
    result.screenshots.append(out / "options.png")

    await dialog.locator("ha-selector-entity").get_by_text("Select an entity").click()
    offers = page.locator("ha-picker-combo-box ha-combo-box-item")
    await offers.filter(has_text=ROOM_SENSOR_NAME).wait_for()
    result.offered = await offers.evaluate_all(
        "items => items.map(item => item.querySelector('state-badge')"
        "?.stateObj?.entity_id ?? item.textContent.trim())"
    )
    if room_entity not in result.offered:
        msg = f"the ambient picker does not offer {room_entity}: {result.offered}"
        raise AssertionError(msg)
    if offered_own := sorted(own & set(result.offered)):
        msg = f"the ambient picker offers the adaptor's own {offered_own}"
        raise AssertionError(msg)
    await page.keyboard.press("Escape")  # the picker
    await offers.first.wait_for(state="detached")
    # Closed without saving (a field filled after the picker's Escape kept its
    # old value): a new dialog for the change, as a person who only looked.
    await dialog.locator("ha-dialog > ha-icon-button[data-dialog=close]").click()
    await dialog.locator("step-flow-form").wait_for(state="detached")
    await page.set_viewport_size(VIEWPORT)  # type: ignore[arg-type]
    return stored_bleed


async def _save_and_restore(
    page: Page,
    base_url: str,
    *,
    states: asyncio.Queue[dict[str, Any]],
    event_entity: str,
    stored_bleed: str,
    result: CheckResult,
) -> list[dict[str, Any]]:
    """Clear the bleed resistor and save, then put it back; return the state changes seen."""
    seen: list[dict[str, Any]] = []
    dialog = await _open_options(page, base_url)
    bleed = dialog.get_by_role("spinbutton", name=BLEED_LABEL)
    await bleed.fill("")
    if await bleed.input_value():
        msg = "the bleed resistor's field did not clear"
        raise AssertionError(msg)
    await _save_options(dialog)
    result.raised = await _wait_for_event(states, seen, event_entity, f"{WARNING_CODE}_raised")
    # And back as it was: the warning clears.
    dialog = await _open_options(page, base_url)
    bleed = dialog.get_by_role("spinbutton", name=BLEED_LABEL)
    if await bleed.input_value():
        msg = "the saved form still shows a bleed resistor"
        raise AssertionError(msg)
    await bleed.fill(stored_bleed)
    await _save_options(dialog)
    result.cleared = await _wait_for_event(states, seen, event_entity, f"{WARNING_CODE}_cleared")
    return seen


async def _check_options(
    page: Page,
    facts: dict[str, Any],
    api: HomeAssistantAPI,
    out: Path,
    result: CheckResult,
) -> None:
    """Check the options dialog: sections, the ambient picker, a save that raises a warning."""
    base_url: str = facts["url"]
    if api.token is None:
        msg = "not logged in"
        raise AssertionError(msg)
    room = await _room_sensor(api)
    try:
        async with ha_ws.connect(base_url, api.token) as ws:
            registry = await ws.command({"type": "config/entity_registry/list"})
            own = {item["entity_id"] for item in registry if item["platform"] == DOMAIN}
            result.own_entities = len(own)
            entry_entities = {
                item["entity_id"]
                for item in registry
                if item["config_entry_id"] == facts["entry_id"] and not item["disabled_by"]
            }
            room_entity = next(
                item["entity_id"]
                for item in registry
                if item["config_entry_id"] == room["entry_id"]
            )
            stored_bleed = await _check_form(
                page, base_url, own=own, room_entity=room_entity, out=out, result=result
            )

            # Watched from before the dialog opens: every state change of the saves.
            states = await ws.subscribe("state_changed")
            seen = await _save_and_restore(
                page,
                base_url,
                states=states,
                event_entity=facts["entities"]["warning"],
                stored_bleed=stored_bleed,
                result=result,
            )
            # A command's answer comes after every event sent before it.
            await ws.command({"type": "get_config"})
            while not states.empty():
                seen.append(states.get_nowait()["data"])
    finally:
        await asyncio.to_thread(
            api.request, "DELETE", f"/api/config/config_entries/entry/{room['entry_id']}"
        )
        await page.set_viewport_size(VIEWPORT)  # type: ignore[arg-type]
    result.watched_states = len(seen)
    flicker = sorted(
        {
            data["entity_id"]
            for data in seen
            if data["entity_id"] in entry_entities
            # An unavailable state or none at all (removed): a reload.
            and (data.get("new_state") or {}).get("state") in {"unavailable", None}
        }
    )
    if flicker:
        msg = f"saving the options made these unavailable: {flicker}"
        raise AssertionError(msg)


def _turn_light(api: HomeAssistantAPI, light: str, state: str) -> None:
    if api.state(light)["state"] != state:
        api.request("POST", f"/api/services/light/turn_{state}", {"entity_id": light})
        _wait_for_state(api, light, state, 15)


def _wait_for_energy(api: HomeAssistantAPI, entity_id: str, timeout: float) -> str:
    """Wait until the energy sensor has counted something; return its state."""
    started = time.monotonic()
    while True:
        state: str = api.state(entity_id)["state"]
        try:
            if float(state) > 0:
                return state
        except ValueError:
            pass  # unknown until the first count
        if time.monotonic() - started > timeout:
            msg = f"{entity_id} stayed {state!r} for {timeout} s with the lamp on"
            raise AssertionError(msg)
        time.sleep(1)


async def _check_energy_prefs(facts: dict[str, Any], api: HomeAssistantAPI) -> list[dict[str, Any]]:
    """Return the adaptor's individual devices; HA's energy validation finds no issue."""
    ids: dict[str, str] = facts["entities"]
    async with ha_ws.connect(facts["url"], str(api.token)) as ws:
        prefs = await ws.command({"type": "energy/get_prefs"})
        validation = await ws.command({"type": "energy/validate"})
        listed = await ws.command({"type": "recorder/list_statistic_ids", "statistic_type": "sum"})
    # The recorder compiles statistics every five minutes, so until its first
    # compile after start-up every sensor reads "statistics not defined" (how long
    # that is depends on the clock, not on the sensor). Taken only for a sensor the
    # recorder already lists as one it will compile a sum for.
    will_compile = {item["statistic_id"] for item in listed}
    devices: list[dict[str, Any]] = prefs["device_consumption"]
    # energy/validate answers one list of issues per device, in the prefs' order.
    issues = dict(
        zip(
            (device["stat_consumption"] for device in devices),
            validation["device_consumption"],
            strict=True,
        )
    )
    ours = [device for device in devices if device["stat_consumption"] in ids.values()]
    if ours != energy.device_consumption(ids):
        msg = f"the adaptor's individual devices are not as develop saved them: {devices}"
        raise AssertionError(msg)
    pairs = {device["stat_consumption"]: device.get("stat_rate") for device in ours}
    if pairs.get(ids["lamp_energy"]) != ids["lamp_power"]:
        msg = f"the lamp is not an individual device with its power as rate: {devices}"
        raise AssertionError(msg)
    found = {
        entity: real
        for entity in pairs
        if (
            real := [
                issue
                for issue in issues[entity]
                if not (issue["type"] == "statistics_not_defined" and entity in will_compile)
            ]
        )
    }
    if found:
        msg = f"HA's energy validation finds issues: {found}"
        raise AssertionError(msg)
    return ours


async def _check_energy(
    page: Page, facts: dict[str, Any], api: HomeAssistantAPI, out: Path, result: CheckResult
) -> None:
    """Check the lamp in HA's Energy dashboard, an individual device once it counted energy."""
    base_url: str = facts["url"]
    ids: dict[str, str] = facts["entities"]
    await asyncio.to_thread(_turn_light, api, ids["light"], "on")
    result.lamp_energy = await asyncio.to_thread(
        _wait_for_energy, api, ids["lamp_energy"], ENERGY_TIMEOUT_S
    )
    ours = await _check_energy_prefs(facts, api)
    result.energy_devices = [device["name"] for device in ours]
    # The energy settings page lists each individual device by its name.
    await page.goto(f"{base_url}/config/energy")
    settings = page.locator("ha-energy-device-settings")
    for name in result.energy_devices:
        await settings.get_by_text(name, exact=True).wait_for()
    # The dashboard: the devices cards, the lamp in the detail chart's legend
    # (the bars are drawn from the recorder's hourly statistics: empty at first).
    await page.set_viewport_size(ENERGY_VIEWPORT)  # type: ignore[arg-type]
    await page.goto(f"{base_url}/energy")
    detail = page.locator("hui-energy-devices-detail-graph-card")
    await detail.get_by_text(energy.DEVICES[0][0], exact=True).wait_for()
    await _settle(page, "hui-energy-devices-graph-card")
    await page.wait_for_function(_CHART_DRAWN, arg="hui-energy-devices-graph-card", polling=250)
    await page.screenshot(path=out / "energy.png", animations="disabled")
    result.screenshots.append(out / "energy.png")
    # Now: the live power of each device with a rate, the lamp's from its power sensor.
    await page.get_by_role("tab", name="Now").click()
    await _settle(page, "hui-power-sankey-card")
    await page.wait_for_function(_CHART_DRAWN, arg="hui-power-sankey-card", polling=250)
    await page.screenshot(path=out / "energy-now.png", animations="disabled")
    result.screenshots.append(out / "energy-now.png")
    await page.set_viewport_size(VIEWPORT)  # type: ignore[arg-type]
    await asyncio.to_thread(_turn_light, api, ids["light"], result.light_after)


async def run_check(facts: dict[str, Any], out: Path) -> CheckResult:
    """Run the whole check against a running develop stack described by `facts`."""
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    base_url: str = facts["url"]
    light: str = facts["entities"]["light"]
    api = HomeAssistantAPI(base_url)
    api.login()
    result = CheckResult(light_before=api.state(light)["state"])
    async with async_playwright() as playwright, chromium_page(playwright) as page:
        await log_in(page, base_url)

        await page.goto(f"{base_url}/config/devices/device/{facts['device_id']}")
        await _settle(page, "ha-device-info-card", "ha-device-entities-card", "ha-logbook")
        await page.screenshot(path=out / "device.png", full_page=True, animations="disabled")
        result.screenshots.append(out / "device.png")

        await page.goto(base_url + facts["dashboard"])
        await _settle(page, *DASHBOARD_CARDS)
        await page.screenshot(path=out / "dashboard.png", full_page=True, animations="disabled")
        result.screenshots.append(out / "dashboard.png")

        # The tile card's icon toggles a light: the click a person makes.
        expected = "off" if result.light_before == "on" else "on"
        tile = page.locator("hui-tile-card").first
        clicked = time.monotonic()
        await tile.locator("ha-tile-icon").click()
        await asyncio.to_thread(_wait_for_state, api, light, expected, 60)
        result.click_to_state_s = time.monotonic() - clicked
        result.light_after = expected
        # The tile shows what HA now holds ("On" or "Off").
        await tile.get_by_text(expected.capitalize(), exact=True).wait_for()
        await _settle(page, *DASHBOARD_CARDS)
        await page.screenshot(
            path=out / "dashboard-switched.png", full_page=True, animations="disabled"
        )
        result.screenshots.append(out / "dashboard-switched.png")

        await _check_options(page, facts, api, out, result)
        await page.set_viewport_size(FORM_VIEWPORT)  # type: ignore[arg-type]
        await _check_troubleshoot(page, base_url, out, result)
        await page.set_viewport_size(VIEWPORT)  # type: ignore[arg-type]
        await _check_energy(page, facts, api, out, result)
    return result


@asynccontextmanager
async def chromium_page(playwright: Playwright) -> AsyncIterator[Page]:
    """Open Chromium with one page; on the way out, end the page's connections to HA cleanly."""
    browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        page = await browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
        yield page
        # Leave HA's pages first: the frontend's websocket then ends with a
        # close frame, not dropped with the browser while HA may be sending it
        # a compressed frame (asyncio logs that at ERROR in HA's log).
        await page.goto("about:blank")
    finally:
        await browser.close()


def check_arguments(prog: str, argv: list[str]) -> tuple[dict[str, Any], Path]:
    """Parse a check's command line: the stack's ready file (read) and the screenshot folder."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("build/screenshots"))
    args = parser.parse_args(argv)
    return json.loads(args.ready_file.read_text()), args.out


def main(argv: list[str]) -> int:
    """Run the check against the stack whose ready file is given."""
    facts, out = check_arguments("scripts/browser-check", argv)
    result = asyncio.run(run_check(facts, out))
    print(
        f"light {result.light_before} -> {result.light_after}, "
        f"click to state {result.click_to_state_s * 1000:.0f} ms; "
        f"screenshots: {', '.join(str(p) for p in result.screenshots)}"
    )
    print(
        f"options form sections: {'; '.join(result.sections)}; ambient picker offers "
        f"{', '.join(result.offered)} (none of the {result.own_entities} own entities)"
    )
    print(
        f"options saved twice, {result.watched_states} state changes watched, none "
        f"unavailable; {WARNING_CODE}_raised at {result.raised}, "
        f"{WARNING_CODE}_cleared at {result.cleared}"
    )
    print(
        f"Troubleshoot, ghosting ticked: top fault {result.top_fault!r} "
        f"after {result.troubleshoot_s:.0f} s"
    )
    print(
        f"lamp energy {result.lamp_energy} kWh; Energy dashboard individual devices: "
        f"{', '.join(result.energy_devices)}; energy validation: no issue"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
