"""
The adaptor in HA's Energy dashboard, as a person sets it up.

Settings > Dashboards > Energy > Individual devices > Add device saves the
energy preferences over the websocket; the develop stack sends the same
command: the lamp (its energy, its power as the live rate), the adaptor's
losses (with their live rate), and its standby inside the losses (a part of
them, not counted twice).
"""

from __future__ import annotations

from typing import Any

from tools.devstack import ha_ws

# (name, energy key, live rate key, the key it is a part of). The standby
# power sensor is no live rate: it gives the lamp-off figure with the lamp on too.
DEVICES = (
    ("Lamp", "lamp_energy", "lamp_power", None),
    ("Adaptor losses", "loss_energy", "losses", None),
    ("Adaptor standby", "standby_energy", None, "loss_energy"),
)


def device_consumption(ids: dict[str, str]) -> list[dict[str, str]]:
    """
    Return the Energy dashboard's individual devices for the adaptor's entities `ids`.

    A lamp that draws nothing the model can count (none, a capacitive dropper:
    `--lamp none`) has no lamp energy sensor, so no Lamp device.
    """
    devices = []
    for name, energy, rate, part_of in DEVICES:
        if energy not in ids:
            continue
        device = {"stat_consumption": ids[energy], "name": name}
        if rate is not None:
            device["stat_rate"] = ids[rate]
        if part_of is not None:
            device["included_in_stat"] = ids[part_of]
        devices.append(device)
    return devices


async def save_prefs(base_url: str, token: str, ids: dict[str, str]) -> dict[str, Any]:
    """Put the adaptor's devices in HA's energy preferences, keeping any other device."""
    devices = device_consumption(ids)
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
