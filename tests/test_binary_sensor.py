"""Binary sensors: every fault's state and attributes per scenario, and which are on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from custom_components.no_neutral.const import DOMAIN
from custom_components.no_neutral.warning_table import CODES
from tests.adaptor_common import snapshot_test

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled", "entity_registry_enabled_by_default"),
]


test_binary_sensors = snapshot_test(Platform.BINARY_SENSOR)


def on(hass: HomeAssistant) -> set[str]:
    return {
        state.entity_id.removeprefix("binary_sensor.hall_lamp_adaptor_")
        for state in hass.states.async_all("binary_sensor")
        if state.state == "on"
    }


@pytest.mark.parametrize(
    ("scenario", "faults"),
    [
        ("led", set()),
        # Its capacitor's core runs at about 131 C against a 105 C rating.
        ("halogen_500w", {"fuse_overstress", "capacitor_wearing_fast"}),
        ("no_lamp", {"no_load_risk", "slow_discharge"}),
        ("dropper_bulb", {"no_load_risk", "incompatible_lamp", "slow_discharge"}),
        # Without the capacitor the LED driver drops out every cycle.
        ("blown_fuse", {"fuse_blown", "flicker"}),
        ("worn_capacitor", set()),
    ],
)
async def test_faults_per_scenario(
    hass: HomeAssistant, platform_scenario: Callable[..., Any], scenario: str, faults: set[str]
) -> None:
    await platform_scenario(scenario, Platform.BINARY_SENSOR)
    assert on(hass) == faults


async def test_slow_discharge_is_a_safety_sensor(
    hass: HomeAssistant, platform_scenario: Callable[..., Any]
) -> None:
    await platform_scenario("no_lamp", Platform.BINARY_SENSOR)
    state = hass.states.get("binary_sensor.hall_lamp_adaptor_slow_discharge")
    assert state.attributes["device_class"] == "safety"
    assert state.state == "on"
    assert (
        hass.states.get("binary_sensor.hall_lamp_adaptor_no_load_risk").attributes["device_class"]
        == "problem"
    )
    # No LED, so no LED-only faults.
    assert hass.states.get("binary_sensor.hall_lamp_adaptor_flicker") is None
    assert hass.states.get("binary_sensor.hall_lamp_adaptor_ghost_flashing") is None


async def test_lamp_change_drops_entities_that_no_longer_apply(
    hass: HomeAssistant, entity_registry: er.EntityRegistry, entry_factory: Callable[..., Any]
) -> None:
    entry = await entry_factory(lamp_type="led")
    assert entity_registry.async_get("binary_sensor.hall_lamp_adaptor_flicker") is not None
    assert entity_registry.async_get("sensor.hall_lamp_adaptor_lamp_power") is not None
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "lamp_type": "capacitive_dropper"}
    )
    await hass.async_block_till_done()
    # Not left behind as unavailable: gone.
    assert entity_registry.async_get("binary_sensor.hall_lamp_adaptor_flicker") is None
    assert entity_registry.async_get("binary_sensor.hall_lamp_adaptor_ghost_flashing") is None
    assert entity_registry.async_get("sensor.hall_lamp_adaptor_lamp_power") is None
    assert hass.states.get("binary_sensor.hall_lamp_adaptor_incompatible_lamp").state == "on"


async def test_entities_of_an_older_version_keep_their_ids_with_the_codes_as_keys(
    hass: HomeAssistant, entity_registry: er.EntityRegistry, entry_factory: Callable[..., Any]
) -> None:
    """Entry 1.1 keyed some binary sensors by other names; 1.2 keys them by warning code.

    (And 1.3 keys every entity by the entry instead of the relay's node.)
    """
    entry = await entry_factory(setup=False, lamp_type="led")
    assert (entry.version, entry.minor_version) == (1, 1)
    former = {
        "no_load_risk": "no_load",
        "ghost_flashing": "ghost_flash",
        "flicker": "led_dropout",
        "capacitor_end_of_life": "cap_end_of_life",
        "capacitor_overvoltage": "cap_overvoltage",
        "relay_supply_low": "device_supply_low",
        "fuse_overstress": "fuse_overstress",
    }
    entity_ids = {
        key: entity_registry.async_get_or_create(
            "binary_sensor",
            DOMAIN,
            f"{entry.unique_id}_{key}",
            config_entry=entry,
            suggested_object_id=f"hall_lamp_{key}",
        ).entity_id
        for key in former
    }
    # One the user renamed: the name stays theirs too.
    entity_registry.async_update_entity(entity_ids["flicker"], name="Hall flicker")

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert (entry.version, entry.minor_version) == (1, 3)
    for key, code in former.items():
        registered = entity_registry.async_get(entity_ids[key])
        assert registered is not None
        assert registered.unique_id == f"{entry.entry_id}_{code}"
        assert hass.states.get(entity_ids[key]) is not None
    assert hass.states.get(entity_ids["flicker"]).name == "Hall flicker"
    # Moved, not doubled: one binary sensor per warning.
    ours = er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    assert sorted(e.unique_id for e in ours if e.domain == "binary_sensor") == sorted(
        f"{entry.entry_id}_{code}" for code in CODES
    )


async def test_an_entry_of_a_newer_major_version_is_not_set_up(
    hass: HomeAssistant, entity_registry: er.EntityRegistry, entry_factory: Callable[..., Any]
) -> None:
    entry = await entry_factory(setup=False)
    hass.config_entries.async_update_entry(entry, version=2, minor_version=1)
    old = entity_registry.async_get_or_create(
        "binary_sensor", DOMAIN, f"{entry.unique_id}_no_load_risk", config_entry=entry
    )
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR
    assert entity_registry.async_get(old.entity_id).unique_id == f"{entry.unique_id}_no_load_risk"
