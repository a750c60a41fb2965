"""Sensors: every entity's state and attributes per scenario, and what a user checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from tests.adaptor_common import HALOGEN_500, snapshot_test

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


@pytest.mark.parametrize("options", [{}, HALOGEN_500], ids=["led_10w", "halogen_500w"])
async def test_lamp_figures_follow_the_relay(
    hass: HomeAssistant,
    entry_factory: Callable[..., Any],
    switchable_relay: Callable[..., Any],
    options: dict[str, Any],
) -> None:
    entry = await entry_factory(relay_on=False, **options)
    figures = entry.runtime_data.adaptor.data.figures
    # Off, nothing flows into the lamp: anything summing power counts 0 W.
    assert value(hass, "lamp_power") == 0.0
    assert value(hass, "lamp_voltage") == round(figures["off_lamp_v"])
    # What it draws and sees when on stays readable under its own name.
    when_on = value(hass, "lamp_power_when_on")
    assert when_on == round(figures["lamp_power_w"], 1)
    assert when_on > 9.0
    assert value(hass, "lamp_voltage_when_on") == round(figures["lamp_v_mean"])
    assert value(hass, "lamp_voltage_when_on") != value(hass, "lamp_voltage")

    switchable_relay(entry).switch(True)
    await hass.async_block_till_done()
    assert value(hass, "lamp_power") == when_on
    assert value(hass, "lamp_voltage") == value(hass, "lamp_voltage_when_on")

    switchable_relay(entry).switch(False)
    await hass.async_block_till_done()
    assert value(hass, "lamp_power") == 0.0
    assert value(hass, "lamp_power_when_on") == when_on


async def test_states_are_written_at_their_display_precision(
    hass: HomeAssistant, entity_registry: er.EntityRegistry, entry_factory: Callable[..., Any]
) -> None:
    entry = await entry_factory()
    checked = 0
    for registered in er.async_entries_for_config_entry(entity_registry, entry.entry_id):
        precision = registered.options.get("sensor", {}).get("suggested_display_precision")
        state = hass.states.get(registered.entity_id)
        if registered.domain != "sensor" or precision is None:
            continue
        # Recorded as shown: no churn in the 10th digit of the history.
        decimals = state.state.partition(".")[2]
        assert len(decimals) <= precision, (registered.entity_id, state.state)
        assert float(state.state) == round(float(state.state), precision)
        checked += 1
    assert checked >= 10
    leakage = hass.states.get("sensor.hall_lamp_adaptor_off_state_leakage_current").state
    assert leakage == str(round(float(leakage)))


async def test_life_reads_in_years_and_counts_have_no_unit(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    await entry_factory(**HALOGEN_500)
    life = hass.states.get("sensor.hall_lamp_adaptor_capacitor_remaining_life")
    assert life.attributes["unit_of_measurement"] == "years"
    assert "device_class" not in life.attributes
    # Weeks left (the core runs at about 131 C): the days say how many, and the
    # years are in hundredths (not "0.0").
    assert 1 <= life.attributes["days"] < 365
    assert float(life.state) > 0
    assert float(life.state) == pytest.approx(life.attributes["days"] / 365.25, abs=0.006)

    await entry_factory(title="Led lamp")
    years = hass.states.get("sensor.led_lamp_adaptor_capacitor_remaining_life").state
    assert float(years) > 1
    assert years == str(round(float(years), 1))
    switchings = hass.states.get("sensor.hall_lamp_adaptor_switchings")
    assert "unit_of_measurement" not in switchings.attributes
    assert switchings.attributes["state_class"] == "total_increasing"
    assert switchings.state == "0"


async def test_a_discharge_slower_than_the_window_reads_over_it(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    # No lamp and no bleed resistor: nothing drains the capacitor below 50 V.
    entry = await entry_factory(lamp_type="none", bleed_resistance_ohm=None)
    assert entry.runtime_data.adaptor.data.figures["discharge_time_s"] is None
    assert hass.states.get("binary_sensor.hall_lamp_adaptor_slow_discharge").state == "on"
    discharge = hass.states.get("sensor.hall_lamp_adaptor_discharge_time")
    # Not "Unknown": at least the 30 s the simulation covers, and said to be longer.
    assert float(discharge.state) == 30.0
    assert discharge.attributes["over_window"] is True

    await entry_factory(title="Led lamp")
    quick = hass.states.get("sensor.led_lamp_adaptor_discharge_time")
    assert float(quick.state) < 5.0
    assert quick.attributes["over_window"] is False
