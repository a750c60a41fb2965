"""
Who switched the lamp: the matter.js virtual relay commissioned on the rig's
real python-matter-server, switched from Home Assistant (with the service
call's context) and from the device itself (as the wall switch on S1/S2, the
relay's button or another controller would). Nothing is mocked. How long a
command waits for its report is tested with SwitchableRelay
(tests/adaptor_common.py): its test node takes commands and moves nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Context, HomeAssistant
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.no_neutral.switching import (
    REPORT_GRACE,
    SWITCHED_BY_HOME_ASSISTANT,
    SWITCHED_ELSEWHERE,
    SWITCHED_EVENT,
)
from tests.adaptor_common import commissioned_entry, device_trigger_calls
from tests.link_helpers import wait_for
from tests.rig import CommissionedRelay

pytestmark = [
    pytest.mark.matter,
    pytest.mark.netns,
    pytest.mark.usefixtures("socket_enabled"),
]

LAMP = "light.hall_lamp_adaptor"
EVENT = "event.hall_lamp_adaptor_lamp_switched"


async def light(hass: HomeAssistant, *, on: bool, context: Context) -> None:
    await hass.services.async_call(
        "light",
        "turn_on" if on else "turn_off",
        {"entity_id": LAMP},
        blocking=True,
        context=context,
    )


async def test_switched_by_home_assistant_or_elsewhere(
    hass: HomeAssistant, commissioned_relay: CommissionedRelay
) -> None:
    relay = commissioned_relay.relay
    entry, adaptor = await commissioned_entry(hass, commissioned_relay)
    start = adaptor.data.relay_on
    assert hass.states.get(EVENT).attributes["event_types"] == [
        SWITCHED_BY_HOME_ASSISTANT,
        SWITCHED_ELSEWHERE,
    ]
    events = async_capture_events(hass, SWITCHED_EVENT)
    calls = await device_trigger_calls(
        hass, entry, SWITCHED_ELSEWHERE, data={"on": "{{ trigger.event.data.on }}"}
    )

    # From Home Assistant: the relay's report of the change is told as ours,
    # with the context of the service call that asked for it.
    command = Context()
    await light(hass, on=not start, context=command)
    await wait_for(lambda: len(events) == 1)
    assert events[0].data["type"] == SWITCHED_BY_HOME_ASSISTANT
    assert events[0].data["on"] is (not start)
    assert events[0].context.id == command.id
    state = hass.states.get(EVENT)
    assert state.attributes["event_type"] == SWITCHED_BY_HOME_ASSISTANT
    assert state.attributes["on"] is (not start)
    assert state.context.id == command.id
    await hass.async_block_till_done()
    assert calls == []

    # From the device itself: switched elsewhere, and the device trigger runs.
    await hass.async_add_executor_job(lambda: relay.press(on=start))
    await wait_for(lambda: len(events) == 2)
    assert events[1].data["type"] == SWITCHED_ELSEWHERE
    assert events[1].data["on"] is start
    assert events[1].context.id != command.id
    state = hass.states.get(EVENT)
    assert state.attributes["event_type"] == SWITCHED_ELSEWHERE
    assert state.context.id != command.id
    await wait_for(lambda: len(calls) == 1)
    assert calls[0].data["on"] is start

    # Home Assistant asks for the state the relay has: nothing changes, nothing
    # is awaited. The device's next change is still someone else's.
    await light(hass, on=start, context=Context())
    await hass.async_add_executor_job(lambda: relay.press(on=not start))
    await wait_for(lambda: len(events) == 3)
    assert events[2].data["type"] == SWITCHED_ELSEWHERE
    assert events[2].data["on"] is (not start)
    await wait_for(lambda: len(calls) == 2)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.usefixtures("no_ws_heartbeat")
async def test_a_change_long_after_the_command_is_not_home_assistants(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry_factory: Callable[..., Any],
    switchable_relay: Callable[..., Any],
) -> None:
    # The test node takes commands and moves nothing (tests/adaptor_common.py):
    # the change comes when the test says, as a slow or missed report would.
    entry = await entry_factory(relay_on=False)
    relay = switchable_relay(entry)
    events = async_capture_events(hass, SWITCHED_EVENT)

    command = Context()
    await light(hass, on=True, context=command)
    freezer.tick(REPORT_GRACE + timedelta(seconds=1))
    relay.switch(True)
    await hass.async_block_till_done()
    assert [event.data["type"] for event in events] == [SWITCHED_ELSEWHERE]
    assert events[0].context.id != command.id

    # Within the grace: the report answers the command.
    command = Context()
    await light(hass, on=False, context=command)
    freezer.tick(REPORT_GRACE - timedelta(seconds=1))
    relay.switch(False)
    await hass.async_block_till_done()
    assert events[1].data["type"] == SWITCHED_BY_HOME_ASSISTANT
    assert events[1].context.id == command.id
    assert hass.states.get(EVENT).context.id == command.id
