"""
End to end with real parts: a real python-matter-server and the matter.js
virtual relay (vendor 0x1321, product 0x0002, passcode 20202021) in network
namespaces of their own (tests/rig.py). Nothing is mocked.

Commission through the config flow, switch the lamp from HA and see the state
come back, switch from the device side and see HA follow, then stop and start
the server and see the lamp go unavailable and come back.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from homeassistant import config_entries
from homeassistant.components.light import DOMAIN as LIGHT_DOMAIN
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from matter_server.client import MatterClient

from custom_components.no_neutral.const import CONF_URL, DOMAIN
from custom_components.no_neutral.options import (
    CONF_LAMP_COUNT,
    CONF_LAMP_POWER_W,
    CONF_LAMP_TYPE,
    CONF_MAINS_FREQUENCY,
    CONF_MAINS_VOLTAGE,
)
from tests.rig import RELAY_SERIAL, reset_relay
from tests.test_config_flow import form_input
from tools.rig.relay_rig import RelayRig

from .link_helpers import wait_for

pytestmark = [
    pytest.mark.matter,
    pytest.mark.netns,
    pytest.mark.usefixtures("socket_enabled"),
]

ADAPTOR_INPUT = form_input(
    {
        CONF_LAMP_TYPE: "led",
        CONF_LAMP_COUNT: 1,
        CONF_LAMP_POWER_W: 9,
        CONF_MAINS_VOLTAGE: 230,
        CONF_MAINS_FREQUENCY: 50,
    }
)


async def commission(
    hass: HomeAssistant, url: str, how: str, user_input: dict[str, Any]
) -> config_entries.ConfigEntry:
    """Run the config flow through commissioning; return the created entry."""
    flow = hass.config_entries.flow
    result = await flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    result = await flow.async_configure(result["flow_id"], {"next_step_id": "matter"})
    result = await flow.async_configure(result["flow_id"], {CONF_URL: url})
    result = await flow.async_configure(result["flow_id"], {"next_step_id": how})
    result = await flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    await hass.async_block_till_done(wait_background_tasks=True)
    result = await flow.async_configure(result["flow_id"])
    assert result["step_id"] == "adaptor", result.get("errors")
    result = await flow.async_configure(result["flow_id"], ADAPTOR_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    return result["result"]


def lamp_entity(hass: HomeAssistant, entry: config_entries.ConfigEntry) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        LIGHT_DOMAIN, DOMAIN, f"{entry.entry_id}_lamp"
    )
    assert entity_id is not None
    return entity_id


async def switch(hass: HomeAssistant, entity_id: str, *, on: bool) -> None:
    await hass.services.async_call(
        LIGHT_DOMAIN,
        SERVICE_TURN_ON if on else SERVICE_TURN_OFF,
        {ATTR_ENTITY_ID: entity_id},
        blocking=True,
    )


async def test_commission_switch_follow_and_survive_a_server_restart(
    hass: HomeAssistant, relay_rig: RelayRig, device_registry: dr.DeviceRegistry
) -> None:
    rig = relay_rig
    await hass.async_add_executor_job(reset_relay, rig)
    entry = await commission(
        hass, rig.server.url, "commission_code", {"code": rig.relay.manual_code}
    )
    lamp = lamp_entity(hass, entry)
    assert hass.states.get(lamp).state == STATE_OFF

    # The relay's device: the virtual relay's basic information, serial included.
    relay = device_registry.async_get(entry.runtime_data.relay.device_id)
    assert relay is not None
    assert relay.serial_number == RELAY_SERIAL
    assert relay.model_id == "2"
    assert entry.runtime_data.relay.device_info.vendor_id == 0x1321

    # From HA: the device switches, and the state comes back from it.
    mark = rig.relay.mark()
    await switch(hass, lamp, on=True)
    await rig.relay.async_wait_for(lambda e: e.kind == "onoff" and e.data["on"], since=mark)
    await wait_for(lambda: hass.states.get(lamp).state == STATE_ON)
    mark = rig.relay.mark()
    await switch(hass, lamp, on=False)
    await rig.relay.async_wait_for(lambda e: e.kind == "onoff" and not e.data["on"], since=mark)
    await wait_for(lambda: hass.states.get(lamp).state == STATE_OFF)

    # From the device (the wall switch): HA follows.
    await hass.async_add_executor_job(lambda: rig.relay.press(on=True))
    await wait_for(lambda: hass.states.get(lamp).state == STATE_ON)

    # The server goes away: unavailable within seconds; back without restarting HA.
    began = time.monotonic()
    await hass.async_add_executor_job(rig.server.stop)
    await wait_for(lambda: hass.states.get(lamp).state == STATE_UNAVAILABLE)
    assert time.monotonic() - began < 5

    await hass.async_add_executor_job(rig.server.start)
    await wait_for(lambda: hass.states.get(lamp).state == STATE_ON, limit=60)
    # And it still switches.
    await switch(hass, lamp, on=False)
    await wait_for(lambda: hass.states.get(lamp).state == STATE_OFF)
    assert rig.relay.is_on is False
    await hass.config_entries.async_unload(entry.entry_id)


async def test_commission_by_pin_and_ip(hass: HomeAssistant, relay_rig: RelayRig) -> None:
    rig = relay_rig
    await hass.async_add_executor_job(reset_relay, rig)
    entry = await commission(
        hass,
        rig.server.url,
        "commission_ip",
        {"pin": rig.relay.passcode, "ip_address": rig.relay.ip},
    )
    lamp = lamp_entity(hass, entry)
    await hass.async_add_executor_job(lambda: rig.relay.press(on=True))
    await wait_for(lambda: hass.states.get(lamp).state == STATE_ON)
    await switch(hass, lamp, on=False)
    await wait_for(lambda: hass.states.get(lamp).state == STATE_OFF)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_command_to_a_vanished_relay_fails_clearly(
    hass: HomeAssistant, relay_rig: RelayRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed hard, the relay stays "available" on the server for minutes: the command fails."""
    rig = relay_rig
    # Set when the client has a device command on its way to the server.
    sent = asyncio.Event()
    real_send = MatterClient.send_device_command

    async def send(self: MatterClient, *args: Any, **kwargs: Any) -> Any:
        sent.set()
        return await real_send(self, *args, **kwargs)

    monkeypatch.setattr(MatterClient, "send_device_command", send)
    await hass.async_add_executor_job(reset_relay, rig)
    entry = await commission(
        hass, rig.server.url, "commission_code", {"code": rig.relay.manual_code}
    )
    lamp = lamp_entity(hass, entry)
    await hass.async_add_executor_job(rig.relay.kill)
    assert hass.states.get(lamp).state == STATE_OFF
    began = time.monotonic()
    with pytest.raises(HomeAssistantError) as err:
        await switch(hass, lamp, on=True)
    assert err.value.translation_key == "command_failed"
    # Bounded by the integration's command timeout (10 s), not the SDK's minute.
    assert time.monotonic() - began < 15

    # A command still in flight when the server goes away fails the same way
    # (the client cancels it; the caller is not cancelled).
    sent.clear()
    pending = hass.async_create_task(switch(hass, lamp, on=True))
    async with asyncio.timeout(30):
        await sent.wait()
    await hass.async_add_executor_job(rig.server.stop)
    with pytest.raises(HomeAssistantError) as err:
        await pending
    assert err.value.translation_key == "command_failed"
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_add_executor_job(rig.server.start)
    # Alive again, so that the next reset can take it off the fabric quickly.
    await hass.async_add_executor_job(rig.relay.start)


async def test_relay_reboot_is_seen(hass: HomeAssistant, relay_rig: RelayRig) -> None:
    """A relay restart (a brown-out, say) shows as a higher reboot count."""
    rig = relay_rig
    await hass.async_add_executor_job(reset_relay, rig)
    entry = await commission(
        hass, rig.server.url, "commission_code", {"code": rig.relay.manual_code}
    )
    relay = entry.runtime_data.relay
    before = relay.reboot_count
    assert before is not None
    await hass.async_add_executor_job(rig.relay.stop)
    await hass.async_add_executor_job(rig.relay.start)
    await wait_for(lambda: relay.reboot_count is not None and relay.reboot_count > before, limit=60)
    await wait_for(lambda: relay.available, limit=60)
    await hass.config_entries.async_unload(entry.entry_id)
