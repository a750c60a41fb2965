"""The `no_neutral.simulate` action: figures for what-ifs, translated errors naming the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError

from tests.adaptor_common import call_action, refused_field

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled"),
]


async def test_no_overrides_gives_the_entry_figures(
    hass: HomeAssistant,
    entry_factory: Callable[..., Any],
    simulator_runs: list[dict[str, Any]],
) -> None:
    entry = await entry_factory()
    adaptor = entry.runtime_data.adaptor
    response = await call_action(hass, "simulate", config_entry_id=entry.entry_id)
    assert response["figures"] == adaptor.data.figures
    assert response["scenario"] == adaptor.data.scenario
    # The entry's own scenario is cached: no second simulation.
    assert len(simulator_runs) == 1
    # With one entry, the entry may be left out.
    assert await call_action(hass, "simulate") == response


async def test_what_if_a_big_halogen(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    entry = await entry_factory()
    response = await call_action(
        hass,
        "simulate",
        config_entry_id=entry.entry_id,
        lamp_type="resistive",
        lamp_power_w=500,
        scenario={"cable": {"conductor_mm2": 2.5}},
    )
    assert response["scenario"]["lamp"] == {"type": "resistive", "count": 1, "power_w": 500}
    assert response["scenario"]["cable"] == {"length_m": 8, "conductor_mm2": 2.5}
    figures = response["figures"]
    assert "fuse_overstress" in figures["warnings"]
    assert 0.4 < figures["lamp_power_ratio"] < 0.6
    # A what-if changes nothing of the entry.
    assert entry.runtime_data.adaptor.data.scenario["lamp"]["type"] == "led"
    assert hass.states.get("binary_sensor.hall_lamp_adaptor_fuse_overstress").state == "off"


async def test_what_if_the_fuse_blew(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    await entry_factory()
    response = await call_action(hass, "simulate", fuse_blown=True, relay_closed=True)
    assert response["figures"]["fuse_power_w"] == 0.0
    assert "led_dropout" in response["figures"]["warnings"]


async def test_what_if_a_diode_were_the_wrong_way_round(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    entry = await entry_factory()
    response = await call_action(
        hass, "simulate", scenario={"faults": {"Db": "reversed"}, "mains": {"breaker_a": 6}}
    )
    assert response["scenario"]["faults"] == {"Db": "reversed"}
    assert response["scenario"]["mains"]["breaker_a"] == 6
    figures = response["figures"]
    # The mains shorted through the closed relay and the SW wire.
    assert figures["source_current_rms_a"] > 100.0
    assert figures["breaker_trip"] is True
    assert "short_circuit" in figures["warnings"]
    assert hass.states.get("binary_sensor.hall_lamp_adaptor_breaker_trips").state == "off"
    assert entry.runtime_data.adaptor.data.figures["breaker_trip"] is False


async def test_no_bleed_resistor_is_null(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    await entry_factory(lamp_type="resistive", lamp_power_w=500)
    response = await call_action(hass, "simulate", bleed_resistance_ohm=None)
    assert response["scenario"]["smoothing"]["bleed_resistance_ohm"] is None
    assert "warnings" in response["figures"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"lamp_power_w": 0}, "lamp_power_w"),
        ({"lamp_power_w": "bright"}, "lamp_power_w"),
        ({"lamp_type": "neon"}, "lamp_type"),
        ({"cap_voltage_rating_v": 20000}, "cap_voltage_rating_v"),
        ({"relay_closed": "yes"}, "relay_closed"),
        ({"scenario": {"lamp": {"colour": "red"}}}, "scenario.lamp.colour"),
        ({"scenario": {"lamp": 5}}, "scenario.lamp"),
        ({"scenario": "hot"}, "scenario"),
        ({"scenario": {"faults": {"Da": "burnt"}}}, "scenario.faults.Da"),
        ({"scenario": {"mains": {"breaker_a": 0}}}, "scenario.mains.breaker_a"),
        ({"lamp_powr": 10}, "lamp_powr"),
    ],
)
async def test_bad_input_names_the_field(
    hass: HomeAssistant, entry_factory: Callable[..., Any], data: dict[str, Any], field: str
) -> None:
    await entry_factory()
    assert await refused_field(hass, "simulate", **data) == field


async def test_unknown_entry_is_refused(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    await entry_factory()
    with pytest.raises(ServiceValidationError):
        await call_action(hass, "simulate", config_entry_id="no-such-entry")


async def test_a_bad_option_of_the_entry_is_named_by_its_option(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    """A call that sets nothing wrong, on an entry whose own option the simulator refuses."""
    # A capacitor rated below the mains peak is simulated (and warned about);
    # one rated 0 V is not a part.
    entry = await entry_factory(cap_voltage_rating_v=0)
    field = await refused_field(hass, "simulate", config_entry_id=entry.entry_id, lamp_power_w=20)
    assert field == "cap_voltage_rating_v"
