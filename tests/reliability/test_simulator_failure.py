"""A scenario the simulator cannot solve must not take the lamp down with it."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir

from custom_components.no_neutral import coordinator as coordinator_module
from custom_components.no_neutral.circuit import simulate as real_simulate
from custom_components.no_neutral.const import DOMAIN
from custom_components.no_neutral.options import CONF_LAMP_POWER_W, OPTION
from tests.adaptor_common import import_node
from tests.rig import MatterServer
from tests.test_config_flow import form_input, open_settings

from .common import watch_logs
from .test_server_faults import lamp, set_up

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled"),
]

# No scenario the options accept is known to defeat the solver (the form's limits
# are the simulator's own), so the solver's failure is stood in for: the
# simulator raises for this one lamp power as it would for equations that do
# not converge. Everything around it is real.
UNSOLVABLE_W = 37.0


def failing_simulate(scenario: dict[str, Any]) -> dict[str, Any]:
    """The real simulator, except that one circuit does not converge."""
    if scenario.get("lamp", {}).get("power_w") == UNSOLVABLE_W:
        msg = "the circuit equations did not converge"
        raise ArithmeticError(msg)
    return real_simulate(scenario)


async def test_unsolvable_options_leave_the_lamp_working(
    hass: HomeAssistant, matter_server: MatterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(coordinator_module, "simulate", failing_simulate)
    node_id = await import_node(matter_server.url, relay_on=True)
    with watch_logs("custom_components.no_neutral") as logs:
        entry = await set_up(hass, matter_server.url, node_id)
        result = await open_settings(hass, entry)
        given = {
            key: OPTION[key].to_form(value)
            for key, value in entry.options.items()
            if value is not None
        }
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], form_input({**given, CONF_LAMP_POWER_W: UNSOLVABLE_W})
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        assert hass.states.get(lamp(hass, entry)).state != STATE_UNAVAILABLE
        issue = ir.async_get(hass).async_get_issue(DOMAIN, f"{entry.entry_id}_simulation_failed")
        assert issue is not None
        assert issue.translation_placeholders is not None
        assert "did not converge" in issue.translation_placeholders["error"]
    assert not logs.errors()
