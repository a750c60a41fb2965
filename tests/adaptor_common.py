"""
Shared set-up of the adaptor tests (coordinator, platforms, actions, repairs).

Every entry is set up through the real path: a config entry, `async_setup_entry`,
the real python-matter-server of the rig (tests/rig.py) holding a MINIR4M-like
test node imported from tests/fixtures, and the real simulator in an executor
job. The relay is closed or open as the imported node says (`relay_on`).

Only one thing is shared between tests: `simulate` is wrapped in a memo keyed
by the canonical JSON of the scenario, because the simulator is deterministic
(CIRCUIT.md: bit-for-bit the same output for the same input) and a run takes
seconds. Each test still goes through the coordinator's own cache and executor
job; the memo only saves recomputing a result another test already computed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.no_neutral import coordinator as coordinator_module
from custom_components.no_neutral.circuit import simulate as real_simulate
from custom_components.no_neutral.config_flow import default_options
from custom_components.no_neutral.const import CONF_NODE_ID, CONF_URL, DOMAIN
from custom_components.no_neutral.coordinator import AdaptorCoordinator
from tests.link_helpers import server_command, server_fabric
from tests.rig import MatterServer, minir4m_dump

_MEMO: dict[str, dict[str, Any]] = {}
RUNS: list[str] = []  # every real simulator run of the session (scenario keys)

LED = {"lamp_type": "led", "lamp_count": 1, "lamp_power_w": 10.0}
HALOGEN_500 = {"lamp_type": "resistive", "lamp_count": 1, "lamp_power_w": 500.0}
NO_LAMP = {"lamp_type": "none"}
DROPPER = {"lamp_type": "capacitive_dropper"}


def memo_simulate(scenario: dict[str, Any]) -> dict[str, Any]:
    """Run the real simulator once per distinct scenario in the session."""
    key = json.dumps(scenario, sort_keys=True)
    if key not in _MEMO:
        RUNS.append(key)
        _MEMO[key] = real_simulate(scenario)
    return copy.deepcopy(_MEMO[key])


@pytest.fixture(autouse=True)
def _shared_simulations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coordinator_module, "simulate", memo_simulate)


async def import_node(url: str, *, relay_on: bool) -> int:
    """Import the MINIR4M dump with its OnOff attribute set; return the node id."""
    dump = minir4m_dump()
    dump["data"]["node"]["attributes"]["1/6/0"] = relay_on
    before = {node["node_id"] for node in await server_command(url, "get_nodes")}
    await server_command(url, "import_test_node", dump=json.dumps(dump))
    after = {node["node_id"] for node in await server_command(url, "get_nodes")}
    (new,) = after - before
    return int(new)


async def make_entry(
    hass: HomeAssistant,
    server: MatterServer,
    *,
    relay_on: bool = True,
    title: str = "Hall lamp",
    node_id: int | None = None,
    **options: Any,
) -> MockConfigEntry:
    """Add (not set up) an entry for a fresh test node with the given options."""
    if node_id is None:
        node_id = await import_node(server.url, relay_on=relay_on)
    fabric = await server_fabric(server.url)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=f"{fabric:016X}-{node_id:016X}",
        data={CONF_URL: server.url, CONF_NODE_ID: node_id},
        options={**default_options(), **options},
    )
    entry.add_to_hass(hass)
    return entry


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> AdaptorCoordinator:
    """Set the entry up through async_setup_entry; return its adaptor coordinator."""
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry.runtime_data.adaptor  # type: ignore[no-any-return]


def adaptor_device_id(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    """Return the registry id of the entry's adaptor device."""
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, str(entry.unique_id))})
    assert device is not None
    return device.id


@pytest.fixture
async def entry_factory(
    hass: HomeAssistant, matter_server: MatterServer
) -> AsyncIterator[Callable[..., Any]]:
    """Make and set up entries; unload them at the end (closing the clients)."""
    made: list[MockConfigEntry] = []

    async def factory(*, setup: bool = True, **kwargs: Any) -> MockConfigEntry:
        entry = await make_entry(hass, matter_server, **kwargs)
        made.append(entry)
        if setup:
            await setup_entry(hass, entry)
        return entry

    yield factory
    for entry in made:
        if entry.state is ConfigEntryState.LOADED:
            await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
