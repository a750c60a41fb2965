"""
Energy: the lamp's, the adaptor's losses and its standby draw, counted from the
relay's real on and off time, kept across restarts, and accepted by Home
Assistant's Energy dashboard (its own validation).

Real parts: Home Assistant's harness (and its recorder for the validation), the
rig's python-matter-server with a MINIR4M test node, the simulator. The
switchings are made with `SwitchableRelay` (tests/adaptor_common.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.no_neutral.history import STORAGE_MINOR_VERSION
from tests.adaptor_common import LED, seed_history, storage_key, tick

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled", "no_ws_heartbeat"),
]

LAMP_ENERGY = "sensor.hall_lamp_adaptor_lamp_energy"
LAMP_POWER = "sensor.hall_lamp_adaptor_lamp_power"
STANDBY_POWER = "sensor.hall_lamp_adaptor_standby_power"
STANDBY_ENERGY = "sensor.hall_lamp_adaptor_standby_energy"
LOSSES = "sensor.hall_lamp_adaptor_losses"
LOSS_ENERGY = "sensor.hall_lamp_adaptor_energy_lost"
ENERGY_SENSORS = (LAMP_ENERGY, STANDBY_ENERGY, LOSS_ENERGY)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(request: pytest.FixtureRequest) -> None:
    """As conftest's, with the recorder (if asked for) set up before Home Assistant."""
    if "recorder_mock" in request.fixturenames:
        request.getfixturevalue("recorder_mock")
    if "hass" in request.fixturenames:
        request.getfixturevalue("enable_custom_integrations")


def state(hass: HomeAssistant, entity_id: str) -> float:
    return float(hass.states.get(entity_id).state)


async def switch(hass: HomeAssistant, relay: Any, *, on: bool) -> None:
    relay.switch(on)
    await hass.async_block_till_done()


async def test_energy_counted_from_real_on_and_off_time(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry_factory: Callable[..., Any],
    switchable_relay: Callable[..., Any],
) -> None:
    entry = await entry_factory(**LED)
    relay = switchable_relay(entry)
    coordinator = entry.runtime_data.adaptor
    figures = coordinator.data.figures
    lamp_w = figures["lamp_power_w"]
    on_loss_w = figures["source_power_w"] - lamp_w
    standby_w = figures["off_source_power_w"]
    # A 10 W LED behind the adaptor: watts into the lamp, a fraction of one
    # lost on the way, a fraction of one drawn with the lamp off.
    assert 5 < lamp_w < 12
    assert 0 < on_loss_w < lamp_w
    assert 0 < standby_w < 2
    for entity_id in ENERGY_SENSORS:
        energy = hass.states.get(entity_id)
        assert energy.state == "0.0"
        assert energy.attributes["unit_of_measurement"] == "kWh"
        assert energy.attributes["device_class"] == "energy"
        assert energy.attributes["state_class"] == "total_increasing"
    assert state(hass, STANDBY_POWER) == round(standby_w, 2)
    assert state(hass, LOSSES) == round(on_loss_w, 2)

    # On 2 h, off 3 h, on 1 h, switched by the relay (as the wall switch would).
    await tick(hass, freezer, timedelta(hours=2))
    await switch(hass, relay, on=False)
    # Off: the lamp draws nothing, the losses are the standby draw.
    assert state(hass, LAMP_POWER) == 0.0
    assert state(hass, LOSSES) == round(standby_w, 2)
    await tick(hass, freezer, timedelta(hours=3))
    await switch(hass, relay, on=True)
    await tick(hass, freezer, timedelta(hours=1))

    data = coordinator.data
    assert data.switchings == 2
    assert data.lamp_energy_wh == pytest.approx(3 * lamp_w, rel=1e-9)
    assert data.standby_energy_wh == pytest.approx(3 * standby_w, rel=1e-9)
    assert data.loss_energy_wh == pytest.approx(3 * on_loss_w + 3 * standby_w, rel=1e-9)
    # Shown in kWh, to the watt-hour.
    assert state(hass, LAMP_ENERGY) == round(3 * lamp_w / 1000, 3)
    assert state(hass, STANDBY_ENERGY) == round(3 * standby_w / 1000, 3)
    assert state(hass, LOSS_ENERGY) == round((3 * on_loss_w + 3 * standby_w) / 1000, 3)


async def test_energy_survives_a_restart(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    entry_factory: Callable[..., Any],
    switchable_relay: Callable[..., Any],
) -> None:
    entry = await entry_factory(**LED)
    relay = switchable_relay(entry)
    await tick(hass, freezer, timedelta(hours=5))
    await switch(hass, relay, on=False)
    await tick(hass, freezer, timedelta(hours=7))
    shown = {entity_id: hass.states.get(entity_id).state for entity_id in ENERGY_SENSORS}
    assert all(float(value) > 0 for value in shown.values()), shown
    history = entry.runtime_data.adaptor.history.as_dict()

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    stored = hass_storage[storage_key(entry)]
    assert stored["minor_version"] == STORAGE_MINOR_VERSION
    for key in ("lamp_energy_wh", "standby_energy_wh", "loss_energy_wh"):
        assert stored["data"][key] == history[key]

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert {entity_id: hass.states.get(entity_id).state for entity_id in ENERGY_SENSORS} == shown
    assert entry.runtime_data.adaptor.history.as_dict() == history


async def test_history_of_an_older_version_gains_the_energies(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    entry_factory: Callable[..., Any],
) -> None:
    entry = await entry_factory(setup=False, **LED)
    # Written by the version before the energies (store 1.1).
    seed_history(hass_storage, entry, cap_consumed=0.25, powered_h=1000.0, switchings=7)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    history = entry.runtime_data.adaptor.history
    # The wear is kept; nothing was counted before, the energies start at zero.
    assert (history.cap_consumed, history.powered_h, history.switchings) == (0.25, 1000.0, 7)
    assert state(hass, LAMP_ENERGY) == 0.0
    stored = hass_storage[storage_key(entry)]
    assert stored["minor_version"] == STORAGE_MINOR_VERSION
    assert stored["data"]["lamp_energy_wh"] == 0.0
    assert stored["data"]["cap_consumed"] == 0.25
    await tick(hass, freezer, timedelta(hours=1))
    assert history.lamp_energy_wh > 0


async def test_energy_dashboard_accepts_the_lamp_and_the_adaptor(
    recorder_mock: Any,
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    entry_factory: Callable[..., Any],
) -> None:
    await entry_factory(**LED)
    assert await async_setup_component(hass, "energy", {})
    await hass.async_block_till_done()
    # The statistics the dashboard reads, compiled as the recorder does every 5 minutes.
    await async_wait_recording_done(hass)
    now = dt_util.utcnow()
    do_adhoc_statistics(
        hass, start=now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    )
    await async_wait_recording_done(hass)

    client = await hass_ws_client(hass)
    devices = [
        # The lamp as an individual device, its power as the live rate.
        {"stat_consumption": LAMP_ENERGY, "stat_rate": LAMP_POWER, "name": "Hall lamp"},
        # The adaptor too: what it and the relay draw, lamp on and off.
        {"stat_consumption": LOSS_ENERGY, "stat_rate": LOSSES, "name": "Hall lamp adaptor"},
        {"stat_consumption": STANDBY_ENERGY, "stat_rate": STANDBY_POWER},
    ]
    await client.send_json_auto_id({"type": "energy/save_prefs", "device_consumption": devices})
    saved = await client.receive_json()
    assert saved["success"], saved
    assert saved["result"]["device_consumption"] == devices

    await client.send_json_auto_id({"type": "energy/validate"})
    validation = await client.receive_json()
    assert validation["success"], validation
    assert validation["result"]["device_consumption"] == [[], [], []]
