"""
The adaptor's dashboard.

The light, the warnings first, then health, leakage, power and the waveform
picture.

The cards are built from the entity registry of the running HA, so the entity
ids are the real ones whatever the device is called; README.md shows the result
for the develop stack.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
from homeassistant.helpers.issue_registry import IssueSeverity
from homeassistant.util.yaml import dump

from custom_components.no_neutral.warning_table import WARNINGS as TABLE
from tools.devstack.ha_api import HomeAssistantAPI

# The warnings' binary sensors (keyed by code) in the order a person should see
# them: what can burn first (an error's repair issue), then the rest.
WARNINGS = tuple(
    warning.code
    for warning in sorted(TABLE, key=lambda warning: warning.severity != IssueSeverity.ERROR)
)
HEALTH = (
    "capacitor_health",
    "capacitor_remaining_life",
    "capacitor_core_temperature",
    "fuse_stress",
    "switchings",
)
LEAKAGE = ("off_leakage_current", "discharge_time", "relay_supply_voltage")
POWER = ("lamp_voltage", "lamp_ripple", "lamp_power", "lamp_power_ratio", "inrush_energy")


async def _registry(api: HomeAssistantAPI) -> list[dict[str, Any]]:
    url = api.base_url.replace("http", "ws", 1) + "/api/websocket"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.receive_json()  # auth_required
        await ws.send_json({"type": "auth", "access_token": api.token})
        auth = await ws.receive_json()
        if auth.get("type") != "auth_ok":
            msg = f"websocket auth failed: {auth}"
            raise RuntimeError(msg)
        await ws.send_json({"id": 1, "type": "config/entity_registry/list"})
        reply = await ws.receive_json()
        entries: list[dict[str, Any]] = reply["result"]
        return entries


def entity_ids(api: HomeAssistantAPI, entry: dict[str, Any]) -> tuple[dict[str, str], str | None]:
    """
    Map each entity's description key (or its domain, for the light) to its id.

    Also return the adaptor's device id (the light's device).
    """
    found: dict[str, str] = {}
    device_id: str | None = None
    for item in asyncio.run(_registry(api)):
        if item.get("config_entry_id") != entry["entry_id"] or item.get("disabled_by"):
            continue
        # The adaptor's device (every entity's): the light's, or in companion
        # mode (no light) the first entity's.
        if item["entity_id"].startswith("light.") or device_id is None:
            device_id = item.get("device_id")
        # unique_id is f"{entry id}_{key}" (entry 1.3 on; the keys hold "_" too).
        key = str(item["unique_id"]).removeprefix(f"{entry['entry_id']}_")
        domain = item["entity_id"].split(".")[0]
        found[key if key and domain != "light" else domain] = item["entity_id"]
    return found, device_id


def short_names(api: HomeAssistantAPI, ids: dict[str, str]) -> dict[str, str]:
    """Return each entity's name without the device name that HA puts before it."""
    if "light" not in ids:
        return {}
    # The light is the device's main entity: its friendly name is the device's.
    device_name = api.state(ids["light"])["attributes"]["friendly_name"]
    names = {}
    for entity_id in ids.values():
        name = api.state(entity_id)["attributes"].get("friendly_name", "")
        names[entity_id] = name.removeprefix(f"{device_name} ") or name
    return names


def build(ids: dict[str, str], names: dict[str, str] | None = None) -> dict[str, Any]:
    """Return the dashboard's configuration."""
    names = names or {}

    def rows(keys: tuple[str, ...]) -> list[dict[str, str]]:
        return [
            {"entity": ids[key], "name": names[ids[key]]}
            if ids[key] in names
            else {"entity": ids[key]}
            for key in keys
            if key in ids
        ]

    cards: list[dict[str, Any]] = []
    if "light" in ids:
        cards.append({"type": "tile", "entity": ids["light"], "name": "Lamp", "vertical": False})
    cards.append(
        {
            "type": "entities",
            "title": "Warnings",
            "state_color": True,
            "entities": rows(WARNINGS),
        }
    )
    if "capacitor_health" in ids:
        cards.append(
            {
                "type": "gauge",
                "entity": ids["capacitor_health"],
                "name": "Capacitor health",
                "min": 0,
                "max": 100,
                "severity": {"green": 50, "yellow": 20, "red": 0},
            }
        )
    cards.append({"type": "entities", "title": "Health", "entities": rows(HEALTH)})
    cards.append({"type": "entities", "title": "Leakage (relay off)", "entities": rows(LEAKAGE)})
    cards.append({"type": "entities", "title": "Lamp power", "entities": rows(POWER)})
    if "waveforms" in ids:
        cards.append(
            {
                "type": "picture-entity",
                "entity": ids["waveforms"],
                "show_state": False,
                "show_name": False,
            }
        )
    return {
        "title": "No-Neutral Adaptor",
        "views": [
            {"title": "Adaptor", "path": "adaptor", "icon": "mdi:lightbulb-alert", "cards": cards}
        ],
    }


def write(path: Path, config: dict[str, Any]) -> None:
    """Write the dashboard as YAML, as lovelace's YAML mode reads it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Written by scripts/develop from the running HA's entity registry.\n"
    path.write_text(header + dump(json.loads(json.dumps(config))))
