"""
The options form against what a user or a script can send it (issue 13, items 1 and 5).

Through the real flow manager, with the raw dict the REST API passes on as it
is, and once over the REST API itself with a body that is not JSON. The loop
test sets a real adaptor up (the rig's Matter server, the simulator) and offers
the flow its own core temperature sensor.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import pytest
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.no_neutral.const import DOMAIN
from custom_components.no_neutral.options import (
    CONF_AMBIENT_SENSOR,
    CONF_BLEED_RESISTANCE_OHM,
    CONF_LAMP_COUNT,
    CONF_LAMP_POWER_W,
    CONF_LAMP_TYPE,
    CONF_MAINS_VOLTAGE,
    OPTION,
    default_options,
)
from tests.adaptor_common import add_relay_entry
from tests.test_config_flow import open_settings
from tools.devstack.flows import form_values

from .test_config_flow import form_defaults, form_fields, form_input, shown, with_base

pytestmark = [pytest.mark.usefixtures("socket_enabled")]

REQUIRED = sorted(key for key, option in OPTION.items() if not option.optional)


async def _options_entry(hass: HomeAssistant) -> MockConfigEntry:
    # Never set up (nothing listens there): the options flow needs no server.
    return await add_relay_entry(
        hass, "ws://127.0.0.1:9/ws", 1, unique_id="0000000000001234-0000000000000001"
    )


async def _refused(hass: HomeAssistant, entry: MockConfigEntry, user_input: Any) -> dict[str, Any]:
    """Submit; assert the form came back and nothing was stored. Return the result."""
    before = dict(entry.options)
    result = await open_settings(hass, entry)
    result = await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "settings"
    assert dict(entry.options) == before
    hass.config_entries.options.async_abort(result["flow_id"])
    return result


def _temperature_sensor(hass: HomeAssistant, entity_id: str) -> None:
    hass.states.async_set(
        entity_id, "21.0", {"device_class": "temperature", "unit_of_measurement": "°C"}
    )


async def test_an_empty_submission_stores_nothing(hass: HomeAssistant) -> None:
    """What the REST API passes on for a body that is not JSON: no bleed resistor guessed."""
    entry = await _options_entry(hass)
    result = await _refused(hass, entry, {})
    assert result["errors"] == with_base(dict.fromkeys(REQUIRED, "required"))
    assert entry.options[CONF_BLEED_RESISTANCE_OHM] == 220000
    problems = result["description_placeholders"]["problems"]
    assert "Number of lamps: Enter a value." in problems


async def test_invalid_json_over_the_rest_api_stores_nothing(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """The issue's case as it happened: Home Assistant's view reads a broken body as {}."""
    assert await async_setup_component(hass, "config", {})
    entry = await _options_entry(hass)
    before = dict(entry.options)
    client = await hass_client()
    response = await client.post(
        "/api/config/config_entries/options/flow", json={"handler": entry.entry_id}
    )
    assert response.status == HTTPStatus.OK
    flow_id = (await response.json())["flow_id"]
    # The menu first: the adaptor's settings.
    response = await client.post(
        f"/api/config/config_entries/options/flow/{flow_id}", json={"next_step_id": "settings"}
    )
    assert (await response.json())["step_id"] == "settings"
    response = await client.post(
        f"/api/config/config_entries/options/flow/{flow_id}",
        data=b'{"lamp": {"lamp_count": 2',
        headers={"Content-Type": "application/json"},
    )
    result = await response.json()
    assert result["type"] == "form", result
    assert result["errors"][CONF_LAMP_COUNT] == "required"
    assert dict(entry.options) == before


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [
        # bool is an int in Python: true is not one lamp.
        (CONF_LAMP_COUNT, True, "not_a_number"),
        (CONF_LAMP_COUNT, False, "not_a_number"),
        (CONF_LAMP_POWER_W, "ten", "not_a_number"),
        (CONF_LAMP_POWER_W, [10], "not_a_number"),
        (CONF_LAMP_POWER_W, {"w": 10}, "not_a_number"),
        (CONF_LAMP_POWER_W, 10**400, "invalid_number"),
        (CONF_MAINS_VOLTAGE, "inf", "invalid_number"),
        (CONF_LAMP_TYPE, 5, "invalid_choice"),
        (CONF_LAMP_TYPE, "neon", "invalid_choice"),
        (CONF_BLEED_RESISTANCE_OHM, "220k", "not_a_number"),
        (CONF_AMBIENT_SENSOR, 42, "entity_not_found"),
        (CONF_AMBIENT_SENSOR, "not an entity", "entity_not_found"),
    ],
)
async def test_wrong_types_are_refused_on_their_field(
    hass: HomeAssistant, key: str, value: Any, error: str
) -> None:
    entry = await _options_entry(hass)
    result = await _refused(hass, entry, form_input(form_defaults() | {key: value}))
    assert result["errors"] == with_base({key: error})
    # The form shows what was sent, not the stored value.
    assert shown(result)[key] == value


async def test_a_section_that_is_not_an_object_is_refused(hass: HomeAssistant) -> None:
    entry = await _options_entry(hass)
    result = await _refused(hass, entry, form_input(form_defaults()) | {"lamp": "led"})
    assert result["errors"] == with_base(
        dict.fromkeys((CONF_LAMP_TYPE, CONF_LAMP_COUNT, CONF_LAMP_POWER_W), "required")
    )


async def test_every_error_of_a_submit_at_once(hass: HomeAssistant) -> None:
    entry = await _options_entry(hass)
    values = form_defaults() | {CONF_LAMP_COUNT: 2.5, CONF_LAMP_POWER_W: "x", "ambient_temp_c": 500}
    result = await _refused(hass, entry, form_input(values))
    assert result["errors"] == with_base(
        {
            CONF_LAMP_COUNT: "not_whole_number",
            CONF_LAMP_POWER_W: "not_a_number",
            "ambient_temp_c": "invalid_number",
        }
    )
    assert result["description_placeholders"]["problems"] == (
        "Number of lamps: Enter a whole number. "
        "Power of each lamp: Enter a number. "
        "Ambient temperature: Enter a finite number within this field's limits."
    )
    assert shown(result)[CONF_LAMP_COUNT] == 2.5


@pytest.mark.parametrize(
    ("entity_id", "attributes", "error"),
    [
        ("sensor.nope", None, "entity_not_found"),
        ("sensor.mains_voltage", {"device_class": "voltage"}, "not_temperature_sensor"),
        ("sensor.plain_number", {}, "not_temperature_sensor"),
        ("climate.hall", {"device_class": "temperature"}, "not_temperature_sensor"),
    ],
)
async def test_ambient_sensor_must_be_a_temperature_sensor(
    hass: HomeAssistant, entity_id: str, attributes: dict[str, str] | None, error: str
) -> None:
    if attributes is not None:
        hass.states.async_set(entity_id, "230", attributes)
    entry = await _options_entry(hass)
    result = await _refused(
        hass, entry, form_input(form_defaults() | {CONF_AMBIENT_SENSOR: entity_id})
    )
    assert result["errors"] == with_base({CONF_AMBIENT_SENSOR: error})
    assert result["description_placeholders"]["problems"].startswith("Ambient temperature sensor: ")


async def test_another_adaptors_sensor_is_refused(hass: HomeAssistant) -> None:
    """Two adaptors reading each other's core temperature would loop as one reading its own."""
    other = er.async_get(hass).async_get_or_create(
        "sensor",
        DOMAIN,
        "other_adaptor_capacitor_core_temperature",
        original_device_class="temperature",
    )
    _temperature_sensor(hass, other.entity_id)
    entry = await _options_entry(hass)
    result = await open_settings(hass, entry)
    # Not offered...
    config = form_fields(result)[CONF_AMBIENT_SENSOR][1].config
    assert other.entity_id in config["exclude_entities"]
    hass.config_entries.options.async_abort(result["flow_id"])
    # ...nor taken when sent all the same.
    result = await _refused(
        hass, entry, form_input(form_defaults() | {CONF_AMBIENT_SENSOR: other.entity_id})
    )
    assert result["errors"] == with_base({CONF_AMBIENT_SENSOR: "own_entity"})


async def test_a_temperature_sensor_is_taken(hass: HomeAssistant) -> None:
    _temperature_sensor(hass, "sensor.attic_temperature")
    entry = await _options_entry(hass)
    result = await open_settings(hass, entry)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        form_input(form_defaults() | {CONF_AMBIENT_SENSOR: "sensor.attic_temperature"}),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_AMBIENT_SENSOR] == "sensor.attic_temperature"
    assert dict(entry.options) == default_options() | {
        CONF_AMBIENT_SENSOR: "sensor.attic_temperature"
    }


@pytest.mark.matter
@pytest.mark.usefixtures("no_ws_heartbeat")
async def test_its_own_core_temperature_cannot_be_the_ambient(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    """Issue 13 item 1: picked, it fired some 2,000 updates until Home Assistant stopped it."""
    entry = await entry_factory()
    registry = er.async_get(hass)
    core = next(
        item.entity_id
        for item in er.async_entries_for_config_entry(registry, entry.entry_id)
        if item.translation_key == "capacitor_core_temperature"
    )
    assert hass.states.get(core).attributes["device_class"] == "temperature"
    before = dict(entry.options)
    core_state = hass.states.get(core)

    result = await open_settings(hass, entry)
    # The picker does not offer it (nor any entity of this integration).
    config = form_fields(result)[CONF_AMBIENT_SENSOR][1].config
    assert (config["domain"], config["device_class"]) == (["sensor"], ["temperature"])
    own = {item.entity_id for item in er.async_entries_for_config_entry(registry, entry.entry_id)}
    assert own <= set(config["exclude_entities"])

    changes: list[Event] = []

    @callback
    def count(event: Event) -> None:
        changes.append(event)

    unsubscribe = hass.bus.async_listen(EVENT_STATE_CHANGED, count)
    values = form_defaults() | {
        key: entry.options[key] for key in ("lamp_type", "lamp_count", "lamp_power_w")
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], form_input(values | {CONF_AMBIENT_SENSOR: core})
    )
    await hass.async_block_till_done()
    unsubscribe()
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == with_base({CONF_AMBIENT_SENSOR: "own_entity"})
    assert dict(entry.options) == before
    # No reload, no storm: nothing changed state.
    assert changes == []
    assert hass.states.get(core) == core_state
    hass.config_entries.options.async_abort(result["flow_id"])


async def test_the_served_form_resubmitted_as_shown_saves(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """
    Over the REST API, as the frontend does: the JSON form carries each section's values.

    Filled by the develop stack's own form filler, which accepts every shown
    value (tools/devstack/flows.py).
    """
    assert await async_setup_component(hass, "config", {})
    entry = await _options_entry(hass)
    client = await hass_client()
    response = await client.post(
        "/api/config/config_entries/options/flow", json={"handler": entry.entry_id}
    )
    flow_id = (await response.json())["flow_id"]
    response = await client.post(
        f"/api/config/config_entries/options/flow/{flow_id}", json={"next_step_id": "settings"}
    )
    step = await response.json()
    assert [field["type"] for field in step["data_schema"]] == ["expandable"] * 6
    values = form_values(step, {CONF_BLEED_RESISTANCE_OHM: 100, CONF_AMBIENT_SENSOR: None})
    assert values["lamp"] == {CONF_LAMP_TYPE: "led", CONF_LAMP_COUNT: 1, CONF_LAMP_POWER_W: 10}
    response = await client.post(
        f"/api/config/config_entries/options/flow/{step['flow_id']}", json=values
    )
    result = await response.json()
    assert result["type"] == "create_entry", result
    assert dict(entry.options) == default_options() | {CONF_BLEED_RESISTANCE_OHM: 100000}


async def test_a_registered_temperature_sensor_not_reporting_yet_is_taken(
    hass: HomeAssistant,
) -> None:
    """Its integration may still be starting: the registry says what it measures."""
    sensor = er.async_get(hass).async_get_or_create(
        "sensor", "other", "attic", original_device_class="temperature"
    )
    assert hass.states.get(sensor.entity_id) is None
    entry = await _options_entry(hass)
    result = await open_settings(hass, entry)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], form_input(form_defaults() | {CONF_AMBIENT_SENSOR: sensor.entity_id})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_AMBIENT_SENSOR] == sensor.entity_id
