"""Device triggers: listed per warning, and a real automation runs on the no-load trigger."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.components.device_automation.exceptions import (
    InvalidDeviceAutomationConfig,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import async_get_device_automations

from custom_components.no_neutral import device_trigger
from custom_components.no_neutral.const import DOMAIN
from custom_components.no_neutral.options import CONF_LAMP_TYPE
from custom_components.no_neutral.warning_table import CODES
from tests.adaptor_common import adaptor_device_id, device_trigger_calls

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled"),
]


async def test_triggers_listed_for_the_adaptor_only(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    entry = await entry_factory()
    device_id = adaptor_device_id(hass, entry)
    triggers = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, device_id)
    ours = {t["type"] for t in triggers if t["domain"] == DOMAIN}
    assert ours == {f"{code}_{change}" for code in CODES for change in ("raised", "cleared")} | {
        "switched_elsewhere",
        "relay_rebooted",
    }
    assert len(ours) == 32
    assert "no_load_raised" in ours
    # The relay's own device has none of them.
    relay_device = dr.async_get(hass).async_get(entry.runtime_data.relay.device_id)
    assert await device_trigger.async_get_triggers(hass, relay_device.id) == []
    with pytest.raises(InvalidDeviceAutomationConfig) as refused:
        await device_trigger.async_validate_trigger_config(
            hass,
            {
                "platform": "device",
                "domain": DOMAIN,
                "device_id": relay_device.id,
                "type": "no_load_raised",
            },
        )
    # Translated (Home Assistant fills it in from strings.json).
    assert refused.value.translation_key == "not_an_adaptor"
    assert str(refused.value) == (
        f"Device {relay_device.id} is not a No-Neutral Adaptor device: "
        "its triggers are on the adaptor's device"
    )


async def test_automation_runs_on_no_load_risk(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    entry = await entry_factory(lamp_type="led")
    calls = await device_trigger_calls(
        hass,
        entry,
        "no_load_raised",
        "no_load_cleared",
        data={"what": "{{ trigger.event.data.type }}"},
    )
    assert calls == []

    # The user takes the lamp out and says so in the options (applied in place).
    hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_LAMP_TYPE: "none"})
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.hall_lamp_adaptor_no_load_risk").state == "on"
    assert [call.data["what"] for call in calls] == ["no_load_raised"]

    # A lamp again: cleared.
    hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_LAMP_TYPE: "led"})
    await hass.async_block_till_done()
    assert [call.data["what"] for call in calls] == ["no_load_raised", "no_load_cleared"]
