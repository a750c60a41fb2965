"""
The ambient temperature can never feed on the adaptor's own figures.

The capacitor's core temperature is the ambient plus the heat of its ripple
current: an ambient sensor that follows the core temperature, directly or
through another entity, would raise it at every update without end (seen as
about 2,000 updates in milliseconds until Home Assistant's event queue guard
stopped it). The options form refuses the integration's own entities
(tests/test_option_form.py); these tests cover what the form cannot see: a
template sensor that copies the core temperature, and options stored before
the form refused them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.setup import async_setup_component

from tests.test_live_options import save_options

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled", "no_ws_heartbeat"),
]

CORE = "sensor.hall_lamp_adaptor_capacitor_core_temperature"
COPY = "sensor.core_copy"


def count_changes(hass: HomeAssistant, entity_id: str) -> list[Event]:
    """Record every state change of one entity from now on."""
    changes: list[Event] = []

    @callback
    def record(event: Event) -> None:
        if event.data["entity_id"] == entity_id:
            changes.append(event)

    hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    return changes


async def test_a_template_copying_the_core_temperature_does_not_loop(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    # The relay is closed: the core runs warmer than the ambient.
    entry = await entry_factory(ambient_temp_c=25.0)
    core_before = float(hass.states.get(CORE).state)
    assert core_before > 25.0
    assert await async_setup_component(
        hass,
        "template",
        {
            "template": [
                {
                    "sensor": [
                        {
                            "name": "Core copy",
                            "state": f"{{{{ states('{CORE}') }}}}",
                            "unit_of_measurement": "°C",
                            "device_class": "temperature",
                        }
                    ]
                }
            ]
        },
    )
    await hass.async_block_till_done()
    assert hass.states.get(COPY).state == hass.states.get(CORE).state

    core_changes = count_changes(hass, CORE)
    await save_options(hass, entry, ambient_sensor=COPY)
    await hass.async_block_till_done()
    # The copy is followed once (it was the ambient when chosen), then its
    # echoes of the adaptor's own writes are not news: the core temperature
    # changed once, not at every update until the event queue overflowed.
    assert len(core_changes) <= 2, [event.data["new_state"].state for event in core_changes]
    data = entry.runtime_data.adaptor.data
    assert data.ambient_c == pytest.approx(core_before, abs=0.05)
    assert data.core_temp_c > data.ambient_c
    assert data.core_temp_c < 2 * core_before


async def test_stored_options_naming_an_own_sensor_use_the_set_temperature(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    # Stored before the form refused it (or written by hand): the adaptor's
    # own core temperature as its ambient. It is not followed.
    core_changes = count_changes(hass, CORE)
    entry = await entry_factory(ambient_temp_c=25.0, ambient_sensor=CORE)
    await hass.async_block_till_done()
    data = entry.runtime_data.adaptor.data
    assert data.ambient_c == 25.0
    assert float(hass.states.get(CORE).state) == round(data.core_temp_c, 1)
    assert len(core_changes) <= 2
