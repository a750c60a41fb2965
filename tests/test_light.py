"""
The lamp entity over a real python-matter-server with imported test nodes.

Commands to test nodes change nothing (the server only logs them), so on/off
round trips are in test_e2e_matter.py with the virtual relay; here: the state
read from the OnOff attribute, the entity's shape and its refusals.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import ClientConnectionResetError
from homeassistant.components.light import ATTR_COLOR_MODE, ATTR_SUPPORTED_COLOR_MODES
from homeassistant.components.light import DOMAIN as LIGHT_DOMAIN
from homeassistant.components.light.const import DATA_COMPONENT, ColorMode
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_ON, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.no_neutral.const import DOMAIN
from custom_components.no_neutral.light import NoNeutralLight
from tools.rig.server import MatterServer

from .adaptor_common import add_relay_entry
from .link_helpers import MINIR4M, import_test_node, wait_for

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled"),
]

LIGHT = "light.minir4m_adaptor"


async def import_node(url: str, *, on: bool, available: bool = True) -> int:
    return await import_test_node(url, MINIR4M, available=available, **{"1/6/0": on})


async def set_up(hass: HomeAssistant, url: str, node_id: int) -> MockConfigEntry:
    entry = await add_relay_entry(hass, url, node_id, title="MINIR4M")
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def lamp(hass: HomeAssistant) -> NoNeutralLight:
    entity = hass.data[DATA_COMPONENT].get_entity(LIGHT)
    assert isinstance(entity, NoNeutralLight)
    return entity


async def test_lamp_state_and_shape(
    hass: HomeAssistant, matter_server: MatterServer, entity_registry: er.EntityRegistry
) -> None:
    node_id = await import_node(matter_server.url, on=True)
    entry = await set_up(hass, matter_server.url, node_id)
    state = hass.states.get(LIGHT)
    assert state is not None
    assert state.state == STATE_ON
    assert state.attributes[ATTR_SUPPORTED_COLOR_MODES] == [ColorMode.ONOFF]
    assert state.attributes[ATTR_COLOR_MODE] == ColorMode.ONOFF
    # Named after the adaptor's device, keyed by the entry (not by the relay's node).
    assert state.name == "MINIR4M adaptor"
    registered = entity_registry.async_get(LIGHT)
    assert registered is not None
    assert registered.unique_id == f"{entry.entry_id}_lamp"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_unreachable_relay_refuses_commands(
    hass: HomeAssistant, matter_server: MatterServer
) -> None:
    node_id = await import_node(matter_server.url, on=False, available=False)
    entry = await set_up(hass, matter_server.url, node_id)
    assert hass.states.get(LIGHT).state == STATE_UNAVAILABLE
    # HA does not call services on unavailable entities; a command racing the
    # loss still gets a clear answer instead of a hang.
    with pytest.raises(HomeAssistantError) as err:
        await lamp(hass).async_turn_on()
    assert err.value.translation_key == "relay_unavailable"
    assert err.value.translation_placeholders == {"node_id": str(node_id)}
    await hass.config_entries.async_unload(entry.entry_id)


async def test_lost_server_refuses_commands(
    hass: HomeAssistant, matter_server: MatterServer
) -> None:
    node_id = await import_node(matter_server.url, on=False)
    entry = await set_up(hass, matter_server.url, node_id)
    await hass.async_add_executor_job(matter_server.stop)
    await wait_for(lambda: hass.states.get(LIGHT).state == STATE_UNAVAILABLE)
    with pytest.raises(HomeAssistantError) as err:
        await lamp(hass).async_turn_off()
    assert err.value.translation_key == "server_unavailable"
    assert err.value.translation_placeholders == {"url": matter_server.url}
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_add_executor_job(matter_server.start)


async def test_connection_dying_under_a_command_is_translated(
    hass: HomeAssistant, matter_server: MatterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    node_id = await import_node(matter_server.url, on=False)
    entry = await set_up(hass, matter_server.url, node_id)
    connection = entry.runtime_data.relay.server.client.connection
    # Mocked: the socket closing in the microseconds between the connected check
    # and the write cannot be timed against a real server (test_server_faults.py
    # meets it by chance). aiohttp's websocket raises this from send_json then.

    async def dying_send(*_args: Any, **_kwargs: Any) -> None:
        msg = "Cannot write to closing transport"
        raise ClientConnectionResetError(msg)

    monkeypatch.setattr(connection._ws_client, "send_json", dying_send)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            LIGHT_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: LIGHT}, blocking=True
        )
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "connection_lost"
    assert err.value.translation_placeholders == {"url": matter_server.url}
    monkeypatch.undo()
    await hass.config_entries.async_unload(entry.entry_id)
