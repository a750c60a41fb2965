"""Sensors: every entity's state and attributes per scenario, and what a user checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant

from tests.adaptor_common import snapshot_test

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled", "entity_registry_enabled_by_default"),
]


test_sensors = snapshot_test(Platform.SENSOR)


def value(hass: HomeAssistant, key: str) -> float:
    return float(hass.states.get(f"sensor.hall_lamp_adaptor_{key}").state)


async def test_led_runs_at_full_power_with_little_leakage(
    hass: HomeAssistant, platform_scenario: Callable[..., Any]
) -> None:
    await platform_scenario("led", Platform.SENSOR)
    assert value(hass, "lamp_power") == pytest.approx(10.0, rel=0.01)
    assert value(hass, "lamp_power_ratio") == pytest.approx(100.0, rel=0.01)
    leakage = hass.states.get("sensor.hall_lamp_adaptor_off_state_leakage_current")
    assert leakage.attributes["unit_of_measurement"] == "μA"
    assert 1.0 < float(leakage.state) < 100.0
    assert value(hass, "capacitor_health") == 100.0


async def test_big_halogen_runs_at_half_power(
    hass: HomeAssistant, platform_scenario: Callable[..., Any]
) -> None:
    await platform_scenario("halogen_500w", Platform.SENSOR)
    # Half-wave: about half the power, with heavy ripple.
    assert 40.0 < value(hass, "lamp_power_ratio") < 60.0
    assert value(hass, "lamp_ripple") > 100.0


async def test_no_lamp_has_no_power_sensors(
    hass: HomeAssistant, platform_scenario: Callable[..., Any]
) -> None:
    await platform_scenario("no_lamp", Platform.SENSOR)
    assert hass.states.get("sensor.hall_lamp_adaptor_lamp_power") is None
    assert hass.states.get("sensor.hall_lamp_adaptor_lamp_power_ratio") is None
    assert hass.states.get("sensor.hall_lamp_adaptor_lamp_voltage") is not None


async def test_worn_capacitor_shows_its_wear(
    hass: HomeAssistant, platform_scenario: Callable[..., Any]
) -> None:
    await platform_scenario("worn_capacitor", Platform.SENSOR)
    assert value(hass, "capacitor_health") == pytest.approx(20.0)
    assert value(hass, "capacitor_capacitance") == pytest.approx(15.0 * (1 - 0.2 * 0.8))
    assert value(hass, "capacitor_esr") == pytest.approx(3.0 * 1.8)
    assert hass.states.get("sensor.hall_lamp_adaptor_switchings").state == "9000"
