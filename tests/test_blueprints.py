"""
The automation blueprints of blueprints/automation/no_neutral, as a user imports them.

Each is read by Home Assistant's own YAML loader and blueprint schema, must
use the integration's device triggers, and is linked from the README. Then
each runs in a real automation on a real adaptor (real Matter server and test
node), its warning raised the way a user raises it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import persistent_notification
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint.models import Blueprint, BlueprintInputs
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
from homeassistant.util import yaml as yaml_util
from pytest_homeassistant_custom_component.common import async_mock_service

from custom_components.no_neutral.const import DOMAIN
from custom_components.no_neutral.entity import ADAPTOR_MODEL
from custom_components.no_neutral.options import CONF_LAMP_TYPE
from custom_components.no_neutral.warning_table import TRIGGER_TYPES
from tests.adaptor_common import HALOGEN_500, adaptor_device_id, tick

ROOT = Path(__file__).parent.parent
BLUEPRINTS = ROOT / "blueprints" / "automation" / DOMAIN
NAMES = sorted(path.name for path in BLUEPRINTS.glob("*.yaml"))


def load(name: str) -> Blueprint:
    """Load a blueprint as Home Assistant's blueprint integration does."""
    path = BLUEPRINTS / name
    return Blueprint(
        yaml_util.load_yaml_dict(path),
        path=str(path),
        expected_domain="automation",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )


def automation(name: str, **inputs: Any) -> dict[str, Any]:
    """Return the automation a user makes from the blueprint with these inputs."""
    blueprint = load(name)
    config = {"use_blueprint": {"path": f"{DOMAIN}/{name}", "input": inputs}}
    blueprint_inputs = BlueprintInputs(blueprint, config)
    blueprint_inputs.validate()
    alias = name.removesuffix(".yaml")
    return {"id": alias, "alias": alias, **blueprint_inputs.async_substitute()}


def test_the_three_blueprints_are_there() -> None:
    assert NAMES == [
        "capacitor_end_of_life_reminder.yaml",
        "fuse_overstress_lamp_off.yaml",
        "no_load_notify.yaml",
    ]


@pytest.mark.parametrize("name", NAMES)
def test_blueprint_uses_the_adaptors_device_triggers(name: str) -> None:
    blueprint = load(name)
    triggers = blueprint.data["triggers"]
    assert triggers
    for trigger in triggers:
        assert trigger["trigger"] == "device"
        assert trigger["domain"] == DOMAIN
        assert trigger["type"] in TRIGGER_TYPES
        assert trigger["device_id"] == yaml_util.Input("adaptor")
    # The device picker offers the adaptors only, not the relays beside them.
    assert blueprint.inputs["adaptor"]["selector"]["device"]["filter"] == [
        {"integration": DOMAIN, "model": ADAPTOR_MODEL}
    ]


@pytest.mark.parametrize("name", NAMES)
def test_readme_links_each_blueprint(name: str) -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"(blueprints/automation/{DOMAIN}/{name})" in readme


@pytest.mark.matter
@pytest.mark.usefixtures("socket_enabled")
async def test_no_load_notify(hass: HomeAssistant, entry_factory: Callable[..., Any]) -> None:
    entry = await entry_factory(lamp_type="led")
    calls: list[ServiceCall] = async_mock_service(hass, "notify", "send_message")
    config = automation(
        "no_load_notify.yaml", adaptor=adaptor_device_id(hass, entry), notifier="notify.phone"
    )
    assert await async_setup_component(hass, "automation", {"automation": [config]})
    assert hass.states.get("automation.no_load_notify").state == "on"
    assert calls == []

    # The user takes the lamp out and says so in the options (applied in place).
    hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_LAMP_TYPE: "none"})
    await hass.async_block_till_done()
    assert [call.data for call in calls] == [
        {
            "entity_id": ["notify.phone"],
            "message": "No real load on the no-neutral adaptor: keep a lamp of at least 3 W "
            "connected, and switch off at the breaker before you change it.",
        }
    ]


@pytest.mark.matter
@pytest.mark.usefixtures("socket_enabled")
async def test_fuse_overstress_lamp_off(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    entry = await entry_factory(lamp_type="led")
    config = automation(
        "fuse_overstress_lamp_off.yaml",
        adaptor=adaptor_device_id(hass, entry),
        lamp="light.hall_lamp_adaptor",
    )
    assert await async_setup_component(hass, "automation", {"automation": [config]})
    # Test nodes ignore commands: the call itself is what the blueprint does.
    calls: list[ServiceCall] = async_mock_service(hass, "light", "turn_off")

    # A 500 W halogen lamp: the fusible resistor runs past half its rating.
    hass.config_entries.async_update_entry(entry, options={**entry.options, **HALOGEN_500})
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.hall_lamp_adaptor_fuse_overstress").state == "on"
    assert [call.data for call in calls] == [{"entity_id": ["light.hall_lamp_adaptor"]}]


@pytest.mark.matter
@pytest.mark.usefixtures("socket_enabled", "no_ws_heartbeat")
async def test_capacitor_end_of_life_reminder(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, nearly_worn: Callable[..., Any]
) -> None:
    entry = await nearly_worn()
    device_id = adaptor_device_id(hass, entry)
    assert await async_setup_component(hass, "persistent_notification", {})
    config = automation("capacitor_end_of_life_reminder.yaml", adaptor=device_id)
    assert await async_setup_component(hass, "automation", {"automation": [config]})
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    notification_id = f"no_neutral_cap_end_of_life_{device_id}"
    assert notification_id not in notifications

    # A minute of use wears the capacitor out.
    await tick(hass, freezer, timedelta(minutes=1))
    notification = notifications[notification_id]
    assert notification["title"] == "Replace the capacitor of Hall lamp adaptor"
    assert notification["message"].startswith(
        "The smoothing capacitor of Hall lamp adaptor has used up its rated life."
    )

    # The user fits a new one and says so: the reminder goes.
    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": "button.hall_lamp_adaptor_capacitor_replaced"},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert notification_id not in notifications
