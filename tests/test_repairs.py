"""Repair issues: one per active fault, with what to do; they appear and clear."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component

from custom_components.no_neutral.const import DOMAIN
from custom_components.no_neutral.options import CONF_LAMP_TYPE
from tests.adaptor_common import tick

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled", "no_ws_heartbeat"),
]


def issues(hass: HomeAssistant, entry_id: str) -> dict[str, ir.IssueEntry]:
    return {
        issue.translation_key: issue
        for (domain, _), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN and issue.issue_id.startswith(entry_id)
    }


async def test_no_lamp_raises_issues_that_clear_with_a_lamp(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    entry = await entry_factory(lamp_type="none")
    found = issues(hass, entry.entry_id)
    assert set(found) == {"no_load", "slow_discharge"}
    no_load = found["no_load"]
    assert no_load.severity is ir.IssueSeverity.ERROR
    assert not no_load.is_fixable
    assert no_load.translation_placeholders == {"name": "Hall lamp"}

    hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_LAMP_TYPE: "led"})
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert issues(hass, entry.entry_id) == {}


async def test_dropper_bulb_says_use_a_switch_mode_bulb(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    entry = await entry_factory(lamp_type="capacitive_dropper")
    found = issues(hass, entry.entry_id)
    assert "incompatible_lamp" in found
    assert found["incompatible_lamp"].severity is ir.IssueSeverity.WARNING
    # Unloading the entry takes its issues with it.
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert issues(hass, entry.entry_id) == {}


async def test_end_of_life_is_fixed_by_confirming_the_replacement(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, nearly_worn: Callable[..., Any]
) -> None:
    assert await async_setup_component(hass, "repairs", {})
    entry = await nearly_worn()
    assert issues(hass, entry.entry_id) == {}
    await tick(hass, freezer, timedelta(minutes=1))
    issue = issues(hass, entry.entry_id)["cap_end_of_life"]
    assert issue.is_fixable

    manager = repairs_flow_manager(hass)
    assert manager is not None
    flow = await manager.async_init(DOMAIN, context={"issue_id": issue.issue_id})
    assert flow["step_id"] == "confirm"
    assert flow["description_placeholders"] == {"name": "Hall lamp"}
    result = await manager.async_configure(flow["flow_id"], {})
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()

    assert issues(hass, entry.entry_id) == {}
    assert hass.states.get("sensor.hall_lamp_adaptor_capacitor_health").state == "100.0"


async def test_blown_fuse_is_fixed_by_confirming_the_replacement(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    entry_factory: Callable[..., Any],
) -> None:
    assert await async_setup_component(hass, "repairs", {})
    entry = await entry_factory(setup=False)
    hass_storage[f"{DOMAIN}.{entry.entry_id}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.{entry.entry_id}",
        "data": {"fuse_blown": True},
    }
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    issue = issues(hass, entry.entry_id)["fuse_blown"]
    assert issue.severity is ir.IssueSeverity.ERROR
    manager = repairs_flow_manager(hass)
    assert manager is not None
    flow = await manager.async_init(DOMAIN, context={"issue_id": issue.issue_id})
    await manager.async_configure(flow["flow_id"], {})
    await hass.async_block_till_done()
    assert "fuse_blown" not in issues(hass, entry.entry_id)
    assert hass.states.get("binary_sensor.hall_lamp_adaptor_fuse_blown").state == "off"
