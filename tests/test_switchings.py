"""
Real switchings are counted: the matter.js virtual relay commissioned on the
rig's real python-matter-server, switched from Home Assistant and from the
device itself. Nothing is mocked.
"""

from __future__ import annotations

import asyncio

import pytest
from homeassistant.core import HomeAssistant

from tests.adaptor_common import commissioned_entry
from tests.link_helpers import wait_for
from tests.rig import CommissionedRelay

pytestmark = [
    pytest.mark.matter,
    pytest.mark.netns,
    pytest.mark.usefixtures("socket_enabled"),
]

SWITCHINGS = "sensor.hall_lamp_adaptor_switchings"
# The server subscribes with a 1 s minimum report interval (DESIGN.md).
REPORT_INTERVAL_S = 1.1


def count(hass: HomeAssistant) -> int:
    return int(hass.states.get(SWITCHINGS).state)


async def test_real_switchings_are_counted(
    hass: HomeAssistant, commissioned_relay: CommissionedRelay
) -> None:
    relay = commissioned_relay.relay
    entry, adaptor = await commissioned_entry(hass, commissioned_relay)
    start = adaptor.data.relay_on
    assert count(hass) == 0
    inrush = adaptor.data.figures["inrush_fuse_energy_mean_j"]

    # From Home Assistant: the command goes out, the relay reports back.
    service = "turn_off" if start else "turn_on"
    await hass.services.async_call(
        "light", service, {"entity_id": "light.hall_lamp_adaptor"}, blocking=True
    )
    await wait_for(lambda: count(hass) == 1)
    assert adaptor.data.relay_on is (not start)

    # From the device itself (the wall switch).
    await asyncio.sleep(REPORT_INTERVAL_S)
    relay.press(on=start)
    await wait_for(lambda: count(hass) == 2)
    assert adaptor.data.relay_on is start
    # One closing so far: one inrush in the resistor's heat, less what it shed.
    assert 0 < adaptor.history.fuse.switching_j <= inrush
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
