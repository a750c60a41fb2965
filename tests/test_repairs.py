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
    # Its fix flow says which lamp and parts cure it (tests/test_advisor.py).
    assert no_load.is_fixable
    assert no_load.translation_placeholders == {"name": "Hall lamp"}

    hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_LAMP_TYPE: "led"})
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
    # A minute of life left: it wears out fast, but has not ended.
    assert set(issues(hass, entry.entry_id)) == {"cap_fast_wear"}
    await tick(hass, freezer, timedelta(minutes=1))
    issue = issues(hass, entry.entry_id)["cap_end_of_life"]
    assert issue.is_fixable

    manager = repairs_flow_manager(hass)
    assert manager is not None
    flow = await manager.async_init(DOMAIN, context={"issue_id": issue.issue_id})
    # A menu: which capacitor to buy (tests/test_advisor.py), or confirm the replacement.
    assert flow["menu_options"] == ["run", "confirm"]
    flow = await manager.async_configure(flow["flow_id"], {"next_step_id": "confirm"})
    assert flow["step_id"] == "confirm"
    assert flow["description_placeholders"] == {"name": "Hall lamp"}
    result = await manager.async_configure(flow["flow_id"], {})
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()

    # A new capacitor at 85 C lasts 8000 h: still less than a year.
    assert set(issues(hass, entry.entry_id)) == {"cap_fast_wear"}
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


async def test_a_hot_capacitor_raises_its_issue_and_a_cool_one_does_not(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    # A 500 W halogen heats the core past its 105 C rating: weeks of life left.
    hot = await entry_factory(
        title="Hot lamp", lamp_type="resistive", lamp_count=1, lamp_power_w=500.0
    )
    data = hot.runtime_data.adaptor.data
    assert data.core_temp_c > 105.0
    assert data.cap_remaining_life_h < 365 * 24
    issue = issues(hass, hot.entry_id)["cap_fast_wear"]
    assert issue.severity is ir.IssueSeverity.WARNING
    assert not issue.is_fixable
    assert issue.translation_placeholders == {"name": "Hot lamp"}

    # The default 10 W LED at 25 C: decades left, no issue.
    cool = await entry_factory()
    assert cool.runtime_data.adaptor.data.cap_remaining_life_h > 10 * 365 * 24
    assert "cap_fast_wear" not in issues(hass, cool.entry_id)
