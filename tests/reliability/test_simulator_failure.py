"""A scenario the simulator cannot solve must not take the lamp down with it."""

from __future__ import annotations

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData

from custom_components.no_neutral import coordinator as coordinator_module
from custom_components.no_neutral.circuit import simulate as real_simulate
from custom_components.no_neutral.options import (
    CONF_CABLE_LENGTH_M,
    CONF_MAINS_FREQUENCY,
    CONF_MAINS_VOLTAGE,
)
from tests.adaptor_common import import_node
from tests.rig import MatterServer

from .common import watch_logs
from .test_server_faults import lamp, set_up

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled"),
    pytest.mark.parametrize("expected_lingering_timers", [True]),
]

# Accepted by parse_scenario (so by the options flow); the solver does not converge (1 s).
UNSOLVABLE = {CONF_MAINS_VOLTAGE: 10.0, CONF_MAINS_FREQUENCY: 10.0, CONF_CABLE_LENGTH_M: 1e-6}


async def test_unsolvable_options_leave_the_lamp_working(
    hass: HomeAssistant, matter_server: MatterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(coordinator_module, "simulate", real_simulate)
    node_id = await import_node(matter_server.url, relay_on=True)
    with watch_logs("custom_components.no_neutral") as logs:
        entry = await set_up(hass, matter_server.url, node_id)
        result = await hass.config_entries.options.async_init(entry.entry_id)
        try:
            result = await hass.config_entries.options.async_configure(
                result["flow_id"], UNSOLVABLE
            )
        except InvalidData:
            return  # refused by the form's limits (the simulator's): fine
        if result["type"] is FlowResultType.FORM:
            return  # refused with a form error: fine
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        assert hass.states.get(lamp(hass, entry)).state != STATE_UNAVAILABLE
    assert not logs.errors()
