"""
Options apply in place: no reload, no entity unavailable, every warning on both paths.

Saved through the real options flow onto an entry set up on the real Matter
server and simulator. Only a new server or relay (Reconfigure) reloads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_STATE_CHANGED, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.no_neutral as integration
from custom_components.no_neutral import coordinator as coordinator_module
from custom_components.no_neutral import simulator as simulator_module
from custom_components.no_neutral.circuit import pacing
from custom_components.no_neutral.const import CONF_NODE_ID, CONF_URL
from custom_components.no_neutral.options import (
    CONF_BLEED_RESISTANCE_OHM,
    CONF_LAMP_TYPE,
    OPTION,
)
from custom_components.no_neutral.warning_table import WARNING_EVENT
from tests.adaptor_common import tick
from tests.rig import MatterServer
from tests.test_config_flow import form_input, open_settings

pytestmark = [pytest.mark.matter, pytest.mark.usefixtures("socket_enabled")]

EVENT = "event.hall_lamp_adaptor_warning"


class Watch:
    """What a user's logbook and automations see of one entry while it is watched."""

    def __init__(self, hass: HomeAssistant, entry: MockConfigEntry) -> None:
        """Record the entry's state changes and its warnings' trigger events from now on."""
        registry = er.async_get(hass)
        self.mine = {
            e.entity_id for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        }
        self.states: list[tuple[str, str | None, dict[str, Any]]] = []
        self.triggers: list[str] = []

        @callback
        def on_state(event: Event[Any]) -> None:
            entity_id = event.data["entity_id"]
            entity = registry.async_get(entity_id)
            if entity_id in self.mine or (entity and entity.config_entry_id == entry.entry_id):
                self.mine.add(entity_id)
                new = event.data["new_state"]
                self.states.append(
                    (entity_id, new and new.state, dict(new.attributes) if new else {})
                )

        @callback
        def on_trigger(event: Event[Any]) -> None:
            if event.data["entry_id"] == entry.entry_id:
                self.triggers.append(event.data["type"])

        self._stop = [
            hass.bus.async_listen(EVENT_STATE_CHANGED, on_state),
            hass.bus.async_listen(WARNING_EVENT, on_trigger),
        ]

    def stop(self) -> None:
        """Stop recording."""
        for stop in self._stop:
            stop()

    def unavailable(self) -> list[str]:
        """Return the entities that went unavailable."""
        return [entity_id for entity_id, state, _ in self.states if state == STATE_UNAVAILABLE]

    def removed(self) -> set[str]:
        """Return the entities whose state went away."""
        return {entity_id for entity_id, state, _ in self.states if state is None}

    def warning_events(self) -> list[str]:
        """Return the event entity's events, in order."""
        return [
            attributes["event_type"]
            for entity_id, _, attributes in self.states
            if entity_id == EVENT
        ]


async def save_options(hass: HomeAssistant, entry: MockConfigEntry, **changes: Any) -> None:
    """Submit the options form as a user would: the stored values, some changed (None: empty)."""
    result = await open_settings(hass, entry)
    assert result["type"] is FlowResultType.FORM
    values = {
        key: OPTION[key].to_form(value)
        for key, value in (dict(entry.options) | changes).items()
        if value is not None
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], form_input(values)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


@pytest.fixture
def setups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every setup of an entry (a reload sets it up again)."""
    calls: list[str] = []
    setup = integration.async_setup_entry

    async def counted(hass: HomeAssistant, entry: Any) -> bool:
        calls.append(entry.entry_id)
        return await setup(hass, entry)

    monkeypatch.setattr(integration, "async_setup_entry", counted)
    return calls


@pytest.mark.parametrize(
    ("changes", "raised", "sensor"),
    [
        # The bypass module without its bleed resistor: the LED glows and flashes when off.
        (
            {CONF_BLEED_RESISTANCE_OHM: None},
            "ghost_flash",
            "binary_sensor.hall_lamp_adaptor_ghost_flashing",
        ),
        # The lamp taken out: nothing to carry the adaptor's current.
        ({CONF_LAMP_TYPE: "none"}, "no_load", "binary_sensor.hall_lamp_adaptor_no_load_risk"),
    ],
)
async def test_an_option_raising_a_warning_applies_in_place(  # noqa: PLR0917
    hass: HomeAssistant,
    entry_factory: Callable[..., Any],
    setups: list[str],
    changes: dict[str, Any],
    raised: str,
    sensor: str,
) -> None:
    entry = await entry_factory(lamp_type="led")
    runtime = entry.runtime_data
    assert setups == [entry.entry_id]
    assert hass.states.get(EVENT).state == "unknown"
    assert hass.states.get(sensor).state == "off"
    watch = Watch(hass, entry)

    await save_options(hass, entry, **changes)
    watch.stop()
    # Not reloaded: the same runtime data, set up once.
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is runtime
    assert setups == [entry.entry_id]
    assert watch.unavailable() == []
    # The new figures are shown, and the warning reached both paths, alike.
    assert hass.states.get(sensor).state == "on"
    assert f"{raised}_raised" in watch.triggers
    assert watch.warning_events() == watch.triggers
    state = hass.states.get(EVENT)
    assert state.attributes["event_type"] == watch.triggers[-1]
    assert raised in state.attributes["active"]


async def test_a_lamp_change_swaps_entities_without_a_reload(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    entry_factory: Callable[..., Any],
    setups: list[str],
) -> None:
    entry = await entry_factory(lamp_type="led")
    runtime = entry.runtime_data
    led_only = {"binary_sensor.hall_lamp_adaptor_flicker", "sensor.hall_lamp_adaptor_lamp_power"}
    assert all(hass.states.get(entity_id) for entity_id in led_only)
    watch = Watch(hass, entry)

    await save_options(hass, entry, **{CONF_LAMP_TYPE: "none"})
    # What no longer applies is gone (not left unavailable); nothing else went away.
    assert watch.removed() == {
        entity_id for entity_id in watch.mine if entity_registry.async_get(entity_id) is None
    }
    assert led_only <= watch.removed()
    assert hass.states.get("binary_sensor.hall_lamp_adaptor_no_load_risk").state == "on"

    await save_options(hass, entry, **{CONF_LAMP_TYPE: "led"})
    watch.stop()
    # Back, with the LED's figures, never unavailable.
    for entity_id in led_only:
        assert entity_registry.async_get(entity_id) is not None
        assert hass.states.get(entity_id).state not in {STATE_UNAVAILABLE, "unknown"}
    assert hass.states.get("binary_sensor.hall_lamp_adaptor_no_load_risk").state == "off"
    assert watch.unavailable() == []
    assert watch.warning_events() == watch.triggers
    assert "no_load_raised" in watch.triggers
    assert "no_load_cleared" in watch.triggers
    assert hass.states.get(EVENT).attributes["event_type"] == watch.triggers[-1]
    assert entry.runtime_data is runtime
    assert setups == [entry.entry_id]


async def test_a_new_server_url_reloads(
    hass: HomeAssistant,
    matter_server: MatterServer,
    entry_factory: Callable[..., Any],
    setups: list[str],
) -> None:
    entry = await entry_factory(lamp_type="led")
    runtime = entry.runtime_data
    # The same server, named differently: the entry's data changes.
    url = matter_server.url.replace("127.0.0.1", "localhost")
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_URL: url})
    assert result["step_id"] == "reconfigure_node"
    node = str(entry.data[CONF_NODE_ID])
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"node": node})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_URL] == url
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not runtime
    assert setups == [entry.entry_id, entry.entry_id]
    assert hass.states.get("light.hall_lamp_adaptor").state == "on"


async def test_a_new_ambient_sensor_is_followed_and_the_old_one_left(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    attributes = {"device_class": "temperature", "unit_of_measurement": "°C"}
    hass.states.async_set("sensor.attic_temperature", "35.0", attributes)
    hass.states.async_set("sensor.cellar_temperature", "12.0", attributes)
    entry = await entry_factory(relay_on=False, ambient_temp_c=30.0)
    adaptor = entry.runtime_data.adaptor
    assert adaptor.data.ambient_c == 30.0

    await save_options(hass, entry, ambient_sensor="sensor.attic_temperature")
    assert adaptor.data.ambient_c == 35.0
    await save_options(hass, entry, ambient_sensor="sensor.cellar_temperature")
    assert adaptor.data.ambient_c == 12.0
    hass.states.async_set("sensor.attic_temperature", "40.0", attributes)
    hass.states.async_set("sensor.cellar_temperature", "14.0", attributes)
    await hass.async_block_till_done()
    assert adaptor.data.ambient_c == 14.0

    # Left empty: the fixed temperature again, and no sensor followed.
    await save_options(hass, entry, ambient_sensor=None, ambient_temp_c=25.0)
    assert adaptor.data.ambient_c == 25.0
    hass.states.async_set("sensor.cellar_temperature", "16.0", attributes)
    await hass.async_block_till_done()
    assert adaptor.data.ambient_c == 25.0
    assert entry.runtime_data.adaptor is adaptor


@pytest.mark.usefixtures("no_ws_heartbeat")
async def test_a_failed_update_announces_no_warning_again(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry_factory: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = await entry_factory(lamp_type="led")
    adaptor = entry.runtime_data.adaptor
    await save_options(hass, entry, **{CONF_LAMP_TYPE: "none"})
    raised = hass.states.get(EVENT)
    assert raised.attributes["event_type"].endswith("_raised")
    watch = Watch(hass, entry)

    # The next circuit's simulation runs past its deadline: the update fails.
    freezer.tick(timedelta(seconds=10))
    memo = coordinator_module.simulate
    offset = 0.0
    monkeypatch.setattr(pacing, "perf_counter", lambda: time.perf_counter() + offset)

    def late(scenario: dict[str, Any]) -> dict[str, Any]:
        nonlocal offset
        offset += simulator_module.DEADLINE_S + 1.0
        return memo(scenario)

    monkeypatch.setattr(coordinator_module, "simulate", late)
    await save_options(hass, entry, cable_length_m=12.0)
    assert adaptor.last_update_success is False

    # The next minute simulates it in time; no warning changed meanwhile.
    monkeypatch.setattr(coordinator_module, "simulate", memo)
    await tick(hass, freezer, timedelta(minutes=1))
    watch.stop()
    assert adaptor.last_update_success is True
    assert adaptor.data.scenario["cable"]["length_m"] == 12.0
    assert watch.triggers == []
    # Still the event of the raise, not one repeated by the failed update.
    state = hass.states.get(EVENT)
    assert state.state == raised.state
    assert state.attributes["event_type"] == raised.attributes["event_type"]
