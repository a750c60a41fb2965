"""The warning event entity: its state per scenario, and events as warnings come and go."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant

from custom_components.no_neutral.event import EVENT_TYPES
from tests.adaptor_common import snapshot_test, tick

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled", "no_ws_heartbeat"),
]

EVENT = "event.hall_lamp_adaptor_warning"


test_event_entity = snapshot_test(Platform.EVENT)


async def test_warning_raised_and_cleared(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, nearly_worn: Callable[..., Any]
) -> None:
    await nearly_worn()
    state = hass.states.get(EVENT)
    assert state.state == "unknown"
    assert state.attributes["event_types"] == EVENT_TYPES

    await tick(hass, freezer, timedelta(minutes=1))
    state = hass.states.get(EVENT)
    assert state.attributes["event_type"] == "cap_end_of_life_raised"
    assert state.attributes["code"] == "cap_end_of_life"
    assert "cap_end_of_life" in state.attributes["active"]
    raised_at = state.state

    # Nothing new: no new event.
    await tick(hass, freezer, timedelta(minutes=1))
    assert hass.states.get(EVENT).state == raised_at

    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": "button.hall_lamp_adaptor_capacitor_replaced"},
        blocking=True,
    )
    state = hass.states.get(EVENT)
    assert state.attributes["event_type"] == "cap_end_of_life_cleared"
    assert "cap_end_of_life" not in state.attributes["active"]
    assert state.state != raised_at
