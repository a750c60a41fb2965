"""
The adaptor's identity: stable across Reconfigure, migrated from entry 1.2, and its devices.

Against the rig's real python-matter-server with MINIR4M test nodes, through
the real reconfigure flow: the README's fix for "the relay left the Matter
server" is to commission the relay again and Reconfigure the entry onto the
new node; the lamp, its entity ids and the adaptor's history must survive it.
"""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.no_neutral.const import CONF_NODE_ID, CONF_URL, DOMAIN
from custom_components.no_neutral.relay import matter_device_id
from tools.rig.server import MatterServer

from .adaptor_common import add_relay_entry, seed_history, setup_entry
from .link_helpers import MINIR4M, import_test_node, server_command, server_fabric

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled", "entity_registry_enabled_by_default"),
]

LIGHT = "light.minir4m_adaptor"
SWITCHINGS = "sensor.minir4m_adaptor_switchings"
# What the adaptor went through before the relay had to be paired again.
HISTORY: dict[str, Any] = {"cap_consumed": 0.25, "switchings": 77, "powered_h": 1234.5}
# The same relay paired again keeps its serial number; another relay has its own.
OTHER_SERIAL = {"0/40/15": "MR4MOTHER0002", "0/40/18": "no-neutral-fixture-MR4MOTHER0002"}


def entity_ids(entity_registry: er.EntityRegistry, entry: MockConfigEntry) -> set[str]:
    return {e.entity_id for e in er.async_entries_for_config_entry(entity_registry, entry.entry_id)}


def devices(device_registry: dr.DeviceRegistry, entry: MockConfigEntry) -> list[dr.DeviceEntry]:
    return dr.async_entries_for_config_entry(device_registry, entry.entry_id)


async def reconfigure(hass: HomeAssistant, entry: MockConfigEntry, url: str, node_id: int) -> None:
    """Reconfigure the entry onto another node of the server, as the user does in the UI."""
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_URL: url})
    assert result["step_id"] == "reconfigure_node"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"node": str(node_id)}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.data[CONF_NODE_ID] == node_id


@pytest.mark.parametrize("same_relay", [True, False], ids=["paired_again", "another_relay"])
async def test_reconfigure_onto_a_new_node_keeps_the_adaptor(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
    matter_server: MatterServer,
    *,
    same_relay: bool,
) -> None:
    url = matter_server.url
    old_node = await import_test_node(url, MINIR4M)
    entry = await add_relay_entry(hass, url, old_node, title="MINIR4M")
    seed_history(hass_storage, entry, **HISTORY)
    await setup_entry(hass, entry)
    before = entity_ids(entity_registry, entry)
    assert LIGHT in before
    assert hass.states.get(SWITCHINGS).state == "77"
    old_relay = entry.runtime_data.relay.device_id
    adaptor = device_registry.async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    assert adaptor is not None
    assert len(devices(device_registry, entry)) == 2

    if same_relay:
        # The relay left the server and was commissioned again: a new node id.
        await server_command(url, "remove_node", node_id=old_node)
        new_node = await import_test_node(url, MINIR4M)
    else:
        new_node = await import_test_node(url, MINIR4M, **OTHER_SERIAL)
    await reconfigure(hass, entry, url, new_node)

    assert entry.unique_id == matter_device_id(await server_fabric(url), new_node)
    # Two devices still: the adaptor (the same device) and the relay it now follows.
    entry_devices = devices(device_registry, entry)
    assert len(entry_devices) == 2
    new_relay = entry.runtime_data.relay.device_id
    assert {device.id for device in entry_devices} == {adaptor.id, new_relay}
    assert device_registry.async_get(adaptor.id).via_device_id == new_relay
    if same_relay:
        # The registry tells the same relay by its serial number: the same device.
        assert new_relay == old_relay
    else:
        assert new_relay != old_relay
        assert device_registry.async_get(old_relay) is None
    # The same entities under the same ids: dashboards and automations go on working.
    assert entity_ids(entity_registry, entry) == before
    assert hass.states.get(f"{LIGHT}_2") is None
    assert hass.states.get(LIGHT).state != STATE_UNAVAILABLE
    # The adaptor's history went along.
    assert entry.runtime_data.adaptor.history.switchings == 77
    assert entry.runtime_data.adaptor.history.cap_consumed == pytest.approx(0.25, abs=1e-6)
    assert hass.states.get(SWITCHINGS).state == "77"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_entry_1_2_keeps_its_entity_ids_and_device(
    hass: HomeAssistant,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
    matter_server: MatterServer,
) -> None:
    """Entry 1.2 keyed the adaptor by the relay's node; 1.3 keys it by the entry."""
    url = matter_server.url
    node_id = await import_test_node(url, MINIR4M)
    node_key = matter_device_id(await server_fabric(url), node_id)
    entry = await add_relay_entry(hass, url, node_id, title="MINIR4M", unique_id=node_key)
    hass.config_entries.async_update_entry(entry, minor_version=2)
    # The registry as 1.2 left it: the adaptor's device and entities under the node's key.
    old_device = device_registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, node_key)}, name="MINIR4M"
    )
    device_registry.async_update_device(old_device.id, name_by_user="Hall adaptor")
    old = {
        key: entity_registry.async_get_or_create(
            domain,
            DOMAIN,
            f"{node_key}_{key}",
            config_entry=entry,
            device_id=old_device.id,
            suggested_object_id=object_id,
        ).entity_id
        for domain, key, object_id in (
            ("light", "lamp", "minir4m"),
            ("sensor", "switchings", "minir4m_switchings"),
            ("binary_sensor", "no_load", "minir4m_no_load"),
        )
    }
    entity_registry.async_update_entity(old["lamp"], name="Hall lamp")

    await setup_entry(hass, entry)

    assert (entry.version, entry.minor_version) == (1, 3)
    for key, entity_id in old.items():
        registered = entity_registry.async_get(entity_id)
        assert registered is not None
        assert registered.unique_id == f"{entry.entry_id}_{key}"
        assert registered.device_id == old_device.id
        assert hass.states.get(entity_id) is not None
    assert hass.states.get(old["lamp"]).name == "Hall lamp"
    # The same device (automations name its id), keyed anew, and no second adaptor.
    adaptor = device_registry.async_get(old_device.id)
    assert adaptor is not None
    assert adaptor.identifiers == {(DOMAIN, entry.entry_id)}
    assert adaptor.name_by_user == "Hall adaptor"
    assert len(devices(device_registry, entry)) == 2
    # Nothing doubled: one light, one switchings sensor.
    ours = er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    assert [e.entity_id for e in ours if e.domain == "light"] == [old["lamp"]]
    assert [e.entity_id for e in ours if e.unique_id.endswith("_switchings")] == [old["switchings"]]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_only_a_relay_the_entry_left_can_be_removed(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    device_registry: dr.DeviceRegistry,
    matter_server: MatterServer,
) -> None:
    assert await async_setup_component(hass, "config", {})
    url = matter_server.url
    node_id = await import_test_node(url, MINIR4M)
    entry = await add_relay_entry(hass, url, node_id, title="MINIR4M")
    await setup_entry(hass, entry)
    adaptor = device_registry.async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    assert adaptor is not None
    relay = entry.runtime_data.relay.device_id
    assert relay is not None
    # A relay the entry followed before (left behind while the entry could not load).
    left = device_registry.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, "relay_0000000000001234-0000000000000001")},
        name="Old relay",
    )
    client = await hass_ws_client(hass)

    async def remove(device_id: str) -> dict[str, Any]:
        await client.send_json_auto_id(
            {"type": "config/device_registry/remove", "device_id": device_id}
        )
        response: dict[str, Any] = await client.receive_json()
        return response

    for device_id in (adaptor.id, relay):
        response = await remove(device_id)
        assert not response["success"]
        assert device_registry.async_get(device_id) is not None
    assert (await remove(left.id))["success"]
    assert device_registry.async_get(left.id) is None
    await hass.config_entries.async_unload(entry.entry_id)
