"""Buttons: their entities per scenario, and what a press resets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant

from tests.adaptor_common import snapshot_test, storage_key, tick

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled", "no_ws_heartbeat"),
]


test_buttons = snapshot_test(Platform.BUTTON)


async def test_capacitor_replaced_starts_its_life_again(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    nearly_worn: Callable[..., Any],
) -> None:
    entry = await nearly_worn()
    await tick(hass, freezer, timedelta(minutes=1))
    assert hass.states.get("binary_sensor.hall_lamp_adaptor_capacitor_end_of_life").state == "on"
    assert hass.states.get("sensor.hall_lamp_adaptor_capacitor_health").state == "0.0"
    worn = entry.runtime_data.adaptor.data.scenario["smoothing"]
    assert worn["capacitance_uf"] == pytest.approx(12.0)
    assert worn["esr_ohm"] == pytest.approx(6.0)

    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": "button.hall_lamp_adaptor_capacitor_replaced"},
        blocking=True,
    )

    assert hass.states.get("binary_sensor.hall_lamp_adaptor_capacitor_end_of_life").state == "off"
    assert hass.states.get("sensor.hall_lamp_adaptor_capacitor_health").state == "100.0"
    new = entry.runtime_data.adaptor.data.scenario["smoothing"]
    assert new["capacitance_uf"] == 15.0
    assert new["esr_ohm"] == 3.0
    # Written at once: a restart right after the press keeps it.
    assert hass_storage[storage_key(entry)]["data"]["cap_consumed"] == 0.0
