"""
The adaptor in HA's Energy dashboard, as a person sets it up.

Settings > Dashboards > Energy > Individual devices > Add device saves the
energy preferences over the websocket; the develop stack sends the same
command: the lamp (its energy, its power as the live rate), the adaptor's
losses, and its standby inside the losses (a part of them, not counted twice).
"""

from __future__ import annotations

from typing import Any

from tools.devstack import ha_ws

# (energy key, power key, the name after the device's, the key it is a part of)
DEVICES = (
    ("lamp_energy", "lamp_power", "lamp", None),
    ("loss_energy", "losses", "adaptor", None),
    ("standby_energy", "standby_power", "adaptor standby", "loss_energy"),
)


def device_consumption(ids: dict[str, str], device_name: str) -> list[dict[str, str]]:
    """The Energy dashboard's individual devices for the adaptor's entities `ids`."""
    devices = []
    for energy, power, name, part_of in DEVICES:
        device = {
            "stat_consumption": ids[energy],
            "stat_rate": ids[power],
            "name": f"{device_name} {name}",
        }
        if part_of is not None:
            device["included_in_stat"] = ids[part_of]
        devices.append(device)
    return devices


async def save_prefs(
    base_url: str, token: str, ids: dict[str, str], device_name: str
) -> dict[str, Any]:
    """Put the adaptor's devices in HA's energy preferences, keeping any other device."""
    devices = device_consumption(ids, device_name)
    ours = {device["stat_consumption"] for device in devices}
    async with ha_ws.connect(base_url, token) as ws:
        try:
            prefs = await ws.command({"type": "energy/get_prefs"})
            others = [
                device
                for device in prefs["device_consumption"]
                if device["stat_consumption"] not in ours
            ]
        except ha_ws.HomeAssistantWSError:
            others = []  # no preferences saved yet
        saved: dict[str, Any] = await ws.command(
            {"type": "energy/save_prefs", "device_consumption": others + devices}
        )
    return saved
