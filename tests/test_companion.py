"""
Companion mode: an adaptor that follows a switch Home Assistant already controls.

Real Home Assistant entities: a template switch (the template integration)
whose state is an input_boolean, as a relay's entity is its integration's
report: switching it through Home Assistant runs its turn_on/turn_off actions
with the service call's context; setting the input_boolean's state directly is
the relay reporting a change nobody in Home Assistant asked for (its wall
switch). A second input_boolean is the relay's link (its availability). The
demo integration's switch is followed too. No Matter server is involved.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant import config_entries
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.no_neutral.const import CONF_ENTITY, CONF_RELAY_MODEL, DOMAIN
from custom_components.no_neutral.device_trigger import async_get_triggers
from custom_components.no_neutral.diagnostics import async_get_config_entry_diagnostics
from custom_components.no_neutral.options import (
    CONF_RELAY_POWER_W_OFF,
    CONF_RELAY_POWER_W_ON,
    OPTION,
    default_options,
)
from custom_components.no_neutral.reboots import RELAY_REBOOTED
from custom_components.no_neutral.relay_models import RELAY_MODELS
from custom_components.no_neutral.switching import (
    SWITCHED_BY_HOME_ASSISTANT,
    SWITCHED_ELSEWHERE,
    SWITCHED_EVENT,
)

from .adaptor_common import LED, call_action, tick

RELAY = "switch.hall_relay"
STORAGE_KEY_PREFIX = f"{DOMAIN}."
ADAPTOR_INPUT = {
    "lamp_type": "led",
    "lamp_count": 1,
    "lamp_power_w": 10.0,
    "mains_voltage_rms": 230,
    "mains_frequency_hz": 50,
}


def form_input(flat: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return values as the frontend sends them: each field in its section."""
    nested: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        nested.setdefault(OPTION[key].section, {})[key] = value
    return nested


def template_switch(name: str, key: str) -> dict[str, Any]:
    """A relay's switch: its state and availability are the relay's reports (input_booleans)."""
    relay = f"input_boolean.{key}"
    return {
        "name": name,
        "unique_id": key,
        "state": f"{{{{ is_state('{relay}', 'on') }}}}",
        "availability": f"{{{{ is_state('input_boolean.{key}_link', 'on') }}}}",
        "turn_on": {"action": "input_boolean.turn_on", "target": {"entity_id": relay}},
        "turn_off": {"action": "input_boolean.turn_off", "target": {"entity_id": relay}},
    }


@pytest.fixture
async def relays(hass: HomeAssistant) -> list[str]:
    """Three gangs of one relay, each a template switch: hall, stairs, porch."""
    keys = ("hall_relay", "stairs_relay", "porch_relay")
    booleans: dict[str, Any] = {}
    for key in keys:
        booleans[key] = {"initial": True}
        booleans[f"{key}_link"] = {"initial": True}
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": booleans})
    switches = [template_switch(key.replace("_", " ").capitalize(), key) for key in keys]
    assert await async_setup_component(hass, "template", {"template": [{"switch": switches}]})
    await hass.async_block_till_done()
    assert hass.states.get(RELAY).state == "on"
    return [f"switch.{key}" for key in keys]


async def add_companion(
    hass: HomeAssistant, entity_id: str, model: str = "generic_wifi"
) -> config_entries.ConfigEntry:
    """Add a companion entry through the config flow, as a user would."""
    flow = hass.config_entries.flow
    result = await flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    result = await flow.async_configure(result["flow_id"], {"next_step_id": "companion"})
    assert result["step_id"] == "companion"
    result = await flow.async_configure(
        result["flow_id"], {CONF_ENTITY: entity_id, CONF_RELAY_MODEL: model}
    )
    assert result["step_id"] == "adaptor", result.get("errors")
    result = await flow.async_configure(result["flow_id"], form_input(ADAPTOR_INPUT))
    assert result["type"] is FlowResultType.CREATE_ENTRY, result.get("errors")
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    return entry


@pytest.fixture
async def companions(hass: HomeAssistant) -> AsyncIterator[list[config_entries.ConfigEntry]]:
    """The entries a test made; unloaded at its end (their stores closed)."""
    made: list[config_entries.ConfigEntry] = []
    yield made
    for entry in made:
        if entry.state is ConfigEntryState.LOADED:
            await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture
def companion(
    hass: HomeAssistant, companions: list[config_entries.ConfigEntry]
) -> Callable[..., Any]:
    async def make(entity_id: str = RELAY, model: str = "generic_wifi") -> Any:
        entry = await add_companion(hass, entity_id, model)
        companions.append(entry)
        return entry

    return make


def switchings(hass: HomeAssistant) -> list[Event]:
    events: list[Event] = []
    hass.bus.async_listen(SWITCHED_EVENT, events.append)
    return events


async def wall_switch(hass: HomeAssistant, key: str, state: str) -> None:
    """The relay reports a change made at the wall: no service call behind it."""
    hass.states.async_set(f"input_boolean.{key}", state)
    await hass.async_block_till_done()


async def switch_from_ha(hass: HomeAssistant, entity_id: str, service: str) -> None:
    await hass.services.async_call("switch", service, {"entity_id": entity_id}, blocking=True)
    await hass.async_block_till_done()


@pytest.mark.usefixtures("relays")
async def test_flow_makes_a_companion_entry_with_the_relays_power(
    hass: HomeAssistant, companion: Callable[..., Any]
) -> None:
    entry = await companion(RELAY, "nspanel")
    registry_id = er.async_get(hass).async_get(RELAY).id
    assert entry.title == "Hall relay"
    assert entry.unique_id == registry_id
    assert entry.data == {CONF_ENTITY: registry_id, CONF_RELAY_MODEL: "nspanel"}
    model = RELAY_MODELS["nspanel"]
    assert entry.options[CONF_RELAY_POWER_W_OFF] == model.power_w_off
    assert entry.options[CONF_RELAY_POWER_W_ON] == model.power_w_on
    # The simulator was given the relay's draw (the standby draw is the relay's and the adaptor's).
    scenario = entry.runtime_data.adaptor.data.scenario
    assert scenario["device"] == {"power_w_off": 1.8, "power_w_on": 2.2}

    # The same entity cannot be followed twice.
    flow = hass.config_entries.flow
    result = await flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    result = await flow.async_configure(result["flow_id"], {"next_step_id": "companion"})
    result = await flow.async_configure(
        result["flow_id"], {CONF_ENTITY: RELAY, CONF_RELAY_MODEL: "minir4m"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.usefixtures("relays")
async def test_flow_refuses_a_missing_entity_and_an_adaptors_own(
    hass: HomeAssistant, companion: Callable[..., Any]
) -> None:
    await companion()
    flow = hass.config_entries.flow
    result = await flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    result = await flow.async_configure(result["flow_id"], {"next_step_id": "companion"})
    result = await flow.async_configure(
        result["flow_id"], {CONF_ENTITY: "switch.nowhere", CONF_RELAY_MODEL: "minir4m"}
    )
    assert result["errors"] == {CONF_ENTITY: "entity_not_found"}
    # An adaptor's own entity of the switch or light domain: a Matter entry's
    # lamp; a registry entry of this platform stands in for it.
    own = er.async_get(hass).async_get_or_create("light", DOMAIN, "some_lamp")
    result = await flow.async_configure(
        result["flow_id"], {CONF_ENTITY: own.entity_id, CONF_RELAY_MODEL: "minir4m"}
    )
    assert result["errors"] == {CONF_ENTITY: "own_relay_entity"}


@pytest.mark.usefixtures("relays")
async def test_sensors_present_no_light_no_reboot_entities(
    hass: HomeAssistant, companion: Callable[..., Any]
) -> None:
    entry = await companion()
    registry = er.async_get(hass)
    entities = er.async_entries_for_config_entry(registry, entry.entry_id)
    platforms = {e.domain for e in entities}
    assert platforms == {"sensor", "binary_sensor", "event", "button", "image"}
    ids = {e.entity_id for e in entities}
    # The relay's own entity stays the control: no second light.
    assert not any(entity_id.startswith("light.") for entity_id in ids)
    # What only a Matter relay reports is not made.
    assert "sensor.hall_relay_adaptor_relay_reboots" not in ids
    assert "sensor.hall_relay_adaptor_last_boot_reason" not in ids
    assert "binary_sensor.hall_relay_adaptor_relay_brown_outs" not in ids
    for sensor in (
        "sensor.hall_relay_adaptor_lamp_voltage",
        "sensor.hall_relay_adaptor_lamp_power",
        "sensor.hall_relay_adaptor_capacitor_health",
        "sensor.hall_relay_adaptor_switchings",
        "sensor.hall_relay_adaptor_standby_power",
    ):
        state = hass.states.get(sensor)
        assert state is not None, sensor
        assert state.state not in ("unknown", "unavailable"), sensor
    # The lamp is on (the switch is): it draws its power.
    assert float(hass.states.get("sensor.hall_relay_adaptor_lamp_power").state) > 5
    warnings = [e for e in entities if e.domain == "binary_sensor"]
    assert warnings
    assert all(hass.states.get(e.entity_id).state == "off" for e in warnings if not e.disabled)


@pytest.mark.usefixtures("relays")
async def test_device_triggers_leave_out_the_reboot(
    hass: HomeAssistant, companion: Callable[..., Any]
) -> None:
    entry = await companion()
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    assert device is not None
    types = {trigger["type"] for trigger in await async_get_triggers(hass, device.id)}
    assert SWITCHED_ELSEWHERE in types
    assert "no_load_raised" in types
    # An entity reports no reboots of its relay: no trigger that cannot fire.
    assert RELAY_REBOOTED not in types


@pytest.mark.usefixtures("relays")
async def test_adaptor_device_hangs_off_the_followed_device(
    hass: HomeAssistant, companion: Callable[..., Any]
) -> None:
    devices = dr.async_get(hass)
    registry = er.async_get(hass)
    # The template switch has no device of its own: give it one, as a relay's
    # integration would (its config entry's device).
    other = MockConfigEntry(domain="template")
    other.add_to_hass(hass)
    relay_device = devices.async_get_or_create(
        config_entry_id=other.entry_id, identifiers={("template", "hall_relay_device")}
    )
    registry.async_update_entity(RELAY, device_id=relay_device.id)
    entry = await companion()
    adaptor = devices.async_get_device_by_identifier((DOMAIN, entry.entry_id), entry.entry_id)
    assert adaptor is not None
    assert adaptor.via_device_id == relay_device.id
    # "<followed entity's name> adaptor", beside the relay's device.
    assert adaptor.name == f"{hass.states.get(RELAY).name} adaptor"
    # Ours only: the relay's device stays its integration's (a device has one entry).
    assert devices.async_get(relay_device.id).config_entry_id == other.entry_id
    assert adaptor.config_entry_id == entry.entry_id


@pytest.mark.usefixtures("relays")
async def test_switchings_counted_and_who_switched(
    hass: HomeAssistant, companion: Callable[..., Any]
) -> None:
    entry = await companion()
    events = switchings(hass)
    count = "sensor.hall_relay_adaptor_switchings"
    assert hass.states.get(count).state == "0"

    await switch_from_ha(hass, RELAY, "turn_off")
    assert hass.states.get(RELAY).state == "off"
    await wall_switch(hass, "hall_relay", "on")
    await wall_switch(hass, "hall_relay", "off")
    await switch_from_ha(hass, RELAY, "turn_on")

    assert [(e.data["type"], e.data["on"]) for e in events] == [
        (SWITCHED_BY_HOME_ASSISTANT, False),
        (SWITCHED_ELSEWHERE, True),
        (SWITCHED_ELSEWHERE, False),
        (SWITCHED_BY_HOME_ASSISTANT, True),
    ]
    # Home Assistant's switching carries the service call's context (the logbook's "by").
    assert events[3].context.id == hass.states.get(RELAY).context.id
    assert hass.states.get(count).state == "4"
    assert entry.runtime_data.adaptor.data.switchings == 4
    event_state = hass.states.get("event.hall_relay_adaptor_lamp_switched")
    assert event_state.attributes["event_type"] == SWITCHED_BY_HOME_ASSISTANT
    # A command to the state it already has switches nothing.
    await switch_from_ha(hass, RELAY, "turn_on")
    assert hass.states.get(count).state == "4"


async def test_an_automation_on_a_time_trigger_is_home_assistants(
    hass: HomeAssistant, relays: list[str], companion: Callable[..., Any]
) -> None:
    """Its context has no user and no parent, like a device's report: the call_service tells."""
    await companion()
    events = switchings(hass)
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "alias": "Lights out",
                "triggers": [{"trigger": "event", "event_type": "lights_out"}],
                "actions": [{"action": "switch.turn_off", "target": {"entity_id": relays[0]}}],
            }
        },
    )
    hass.bus.async_fire("lights_out")
    await hass.async_block_till_done()
    assert hass.states.get(RELAY).state == "off"
    assert [e.data["type"] for e in events] == [SWITCHED_BY_HOME_ASSISTANT]


@pytest.mark.usefixtures("relays")
async def test_unavailable_relay_makes_relay_dependent_entities_unavailable(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, companion: Callable[..., Any]
) -> None:
    entry = await companion()
    coordinator = entry.runtime_data.adaptor
    await tick(hass, freezer, timedelta(hours=1))
    assert coordinator.data.powered_h == pytest.approx(1.0)
    await switch_from_ha_any(hass, "input_boolean.hall_relay_link", "turn_off")
    assert hass.states.get(RELAY).state == "unavailable"
    for sensor in ("lamp_voltage", "lamp_power", "losses", "capacitor_core_temperature"):
        assert hass.states.get(f"sensor.hall_relay_adaptor_{sensor}").state == "unavailable"
    # What does not depend on the relay's state stays.
    assert hass.states.get("sensor.hall_relay_adaptor_capacitor_health").state != "unavailable"
    assert hass.states.get("sensor.hall_relay_adaptor_lamp_power_when_on").state != "unavailable"
    # No time counted while the relay's state is not known (the adaptor may be unpowered).
    await tick(hass, freezer, timedelta(hours=5))
    assert coordinator.data.powered_h == pytest.approx(1.0)

    # Back, in the other state: no switching counted across the gap.
    await wall_switch(hass, "hall_relay", "off")
    await switch_from_ha_any(hass, "input_boolean.hall_relay_link", "turn_on")
    assert hass.states.get(RELAY).state == "off"
    assert hass.states.get("sensor.hall_relay_adaptor_lamp_power").state == "0.0"
    assert hass.states.get("sensor.hall_relay_adaptor_switchings").state == "0"


async def switch_from_ha_any(hass: HomeAssistant, entity_id: str, service: str) -> None:
    domain = entity_id.split(".", maxsplit=1)[0]
    await hass.services.async_call(domain, service, {"entity_id": entity_id}, blocking=True)
    await hass.async_block_till_done()


@pytest.mark.usefixtures("relays")
async def test_renamed_entity_is_still_followed(
    hass: HomeAssistant, companion: Callable[..., Any]
) -> None:
    entry = await companion()
    registry = er.async_get(hass)
    registry.async_update_entity(RELAY, new_entity_id="switch.landing_relay")
    await hass.async_block_till_done()
    assert hass.states.get("switch.landing_relay").state == "on"
    await wall_switch(hass, "hall_relay", "off")
    assert hass.states.get("switch.landing_relay").state == "off"
    assert hass.states.get("sensor.hall_relay_adaptor_switchings").state == "1"
    # Still followed after a reload: the entry keeps the registry id, not the entity id.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await wall_switch(hass, "hall_relay", "on")
    assert hass.states.get("sensor.hall_relay_adaptor_switchings").state == "2"
    assert entry.runtime_data.relay.diagnostics()["entity_id"] == "switch.landing_relay"


@pytest.mark.usefixtures("relays")
async def test_removed_entity_raises_a_repair_issue_until_reconfigured(
    hass: HomeAssistant, companion: Callable[..., Any]
) -> None:
    entry = await companion()
    issues = ir.async_get(hass)
    issue_id = f"{entry.entry_id}_entity_removed"
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    er.async_get(hass).async_remove(RELAY)
    await hass.async_block_till_done()
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {"name": "Hall relay", "entity_id": RELAY}
    assert hass.states.get("sensor.hall_relay_adaptor_lamp_power").state == "unavailable"
    # Still raised after a restart of the entry (the registry id resolves to nothing).
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, issue_id) is not None

    # Reconfigure onto another gang's switch: followed, issue gone, history kept.
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": config_entries.SOURCE_RECONFIGURE, "entry_id": entry.entry_id},
    )
    assert result["step_id"] == "reconfigure_companion"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENTITY: "switch.porch_relay"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    assert entry.data[CONF_ENTITY] == er.async_get(hass).async_get("switch.porch_relay").id
    await wall_switch(hass, "porch_relay", "off")
    assert hass.states.get("sensor.hall_relay_adaptor_switchings").state == "1"


async def test_three_gangs_three_entries_nothing_shared(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    relays: list[str],
    companion: Callable[..., Any],
) -> None:
    hall, stairs, porch = [await companion(entity_id) for entity_id in relays]
    assert len({hall.unique_id, stairs.unique_id, porch.unique_id}) == 3
    registry = er.async_get(hass)
    unique_ids = [
        {e.unique_id for e in er.async_entries_for_config_entry(registry, entry.entry_id)}
        for entry in (hall, stairs, porch)
    ]
    assert not unique_ids[0] & unique_ids[1]
    assert not unique_ids[1] & unique_ids[2]
    # Each gang counts its own switchings.
    await wall_switch(hass, "stairs_relay", "off")
    await wall_switch(hass, "stairs_relay", "on")
    await wall_switch(hass, "porch_relay", "off")
    assert hass.states.get("sensor.hall_relay_adaptor_switchings").state == "0"
    assert hass.states.get("sensor.stairs_relay_adaptor_switchings").state == "2"
    assert hass.states.get("sensor.porch_relay_adaptor_switchings").state == "1"
    # Each keeps its own history store.
    for entry in (hall, stairs, porch):
        await entry.runtime_data.adaptor.history_store.async_save()
    keys = {key for key in hass_storage if key.startswith(STORAGE_KEY_PREFIX)}
    assert keys == {f"{STORAGE_KEY_PREFIX}{e.entry_id}" for e in (hall, stairs, porch)}
    assert hass_storage[f"{STORAGE_KEY_PREFIX}{stairs.entry_id}"]["data"]["switchings"] == 2
    # One gang's removed entity is that gang's issue only.
    registry.async_remove(relays[2])
    await hass.async_block_till_done()
    raised = {
        issue_id
        for (domain, issue_id) in ir.async_get(hass).issues
        if domain == DOMAIN and issue_id.endswith("_entity_removed")
    }
    assert raised == {f"{porch.entry_id}_entity_removed"}
    assert hass.states.get("sensor.stairs_relay_adaptor_lamp_power").state != "unavailable"


@pytest.mark.usefixtures("relays")
async def test_diagnostics_of_a_companion_entry(
    hass: HomeAssistant, companion: Callable[..., Any]
) -> None:
    entry = await companion()
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["relay"] == {
        "entity_id": RELAY,
        "removed": False,
        "state": "on",
        "available": True,
        "is_on": True,
    }
    assert diagnostics["entry"]["data"][CONF_RELAY_MODEL] == "generic_wifi"


# The demo integration sets up more than its switch (polled platforms among them).
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_follows_the_demo_integrations_switch(
    hass: HomeAssistant, companion: Callable[..., Any]
) -> None:
    with patch(
        "homeassistant.components.demo.COMPONENTS_WITH_CONFIG_ENTRY_DEMO_PLATFORM",
        [Platform.SWITCH],
    ):
        # The demo's dependency (conversation) needs Home Assistant's own component.
        assert await async_setup_component(hass, "homeassistant", {})
        assert await async_setup_component(hass, "demo", {"demo": {}})
        await hass.async_block_till_done()
    demo = "switch.decorative_lights"
    assert hass.states.get(demo) is not None
    entry = await companion(demo)
    events = switchings(hass)
    await switch_from_ha_any(hass, demo, "toggle")
    assert [e.data["type"] for e in events] == [SWITCHED_BY_HOME_ASSISTANT]
    assert entry.runtime_data.adaptor.data.switchings == 1
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    demo_device = er.async_get(hass).async_get(demo).device_id
    assert demo_device is not None
    assert device.via_device_id == demo_device


@pytest.mark.usefixtures("relays")
async def test_the_actions_answer_for_a_companion_entry(
    hass: HomeAssistant, companion: Callable[..., Any]
) -> None:
    """simulate and recommend_parts read a companion adaptor as any other (its relay's power)."""
    entry = await companion(model="nspanel")
    simulated = await call_action(hass, "simulate", config_entry_id=entry.entry_id)
    device = simulated["scenario"]["device"]
    nspanel = RELAY_MODELS["nspanel"]
    assert (device["power_w_off"], device["power_w_on"]) == (
        nspanel.power_w_off,
        nspanel.power_w_on,
    )
    stock = {"capacitances_uf": [22.0], "fuse_resistances_ohm": [4.7]}
    answer = await call_action(hass, "recommend_parts", config_entry_id=entry.entry_id, stock=stock)
    assert answer["scenario"]["device"] == device
    assert answer["recommendation"]["combinations"] > 0


def test_every_relay_model_is_within_the_options_limits() -> None:
    for model in RELAY_MODELS.values():
        for key, value in (
            (CONF_RELAY_POWER_W_OFF, model.power_w_off),
            (CONF_RELAY_POWER_W_ON, model.power_w_on),
        ):
            low, high = OPTION[key].limits
            assert low <= value <= high, (model.key, key)
        assert model.power_w_on >= model.power_w_off, model.key
    # A Matter entry (a MINIR4M) keeps the model's defaults.
    defaults = default_options()
    assert defaults[CONF_RELAY_POWER_W_OFF] == RELAY_MODELS["minir4m"].power_w_off
    assert defaults[CONF_RELAY_POWER_W_ON] == RELAY_MODELS["minir4m"].power_w_on
    assert LED["lamp_type"] == "led"
