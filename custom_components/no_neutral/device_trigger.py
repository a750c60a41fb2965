"""Device triggers: each warning raised or cleared, the lamp switched elsewhere, a reboot."""

from __future__ import annotations

import probatio
from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.components.device_automation.exceptions import (
    InvalidDeviceAutomationConfig,
)
from homeassistant.components.homeassistant.triggers import event as event_trigger
from homeassistant.const import (
    CONF_DEVICE_ID,
    CONF_DOMAIN,
    CONF_EVENT,
    CONF_EVENT_DATA,
    CONF_PLATFORM,
    CONF_TYPE,
)
from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
from homeassistant.helpers.typing import ConfigType

from .const import CONF_ENTITY, DOMAIN
from .reboots import REBOOT_EVENT, RELAY_REBOOTED
from .switching import SWITCHED_EVENT, SWITCHING_TRIGGER_TYPES
from .warning_table import TRIGGER_TYPES, WARNING_EVENT

# Each trigger type's bus event (the coordinator fires them all).
TRIGGER_EVENTS: dict[str, str] = {
    **dict.fromkeys(TRIGGER_TYPES, WARNING_EVENT),
    **dict.fromkeys(SWITCHING_TRIGGER_TYPES, SWITCHED_EVENT),
    RELAY_REBOOTED: REBOOT_EVENT,
}

TRIGGER_SCHEMA = DEVICE_TRIGGER_BASE_SCHEMA.extend(
    {
        probatio.Required(CONF_DOMAIN): DOMAIN,
        probatio.Required(CONF_DEVICE_ID): str,
        probatio.Required(CONF_TYPE): probatio.In(tuple(TRIGGER_EVENTS)),
    }
)


def _is_adaptor(hass: HomeAssistant, device_id: str) -> bool:
    """Return whether the device is an adaptor (not the relay beside it)."""
    device = dr.async_get(hass).async_get(device_id)
    return device is not None and any(
        domain == DOMAIN and not ident.startswith("relay_") for domain, ident in device.identifiers
    )


def _follows_an_entity(hass: HomeAssistant, device_id: str) -> bool:
    """Return whether the adaptor is a companion entry's (its relay reports no reboots)."""
    device = dr.async_get(hass).async_get(device_id)
    entry_id = device.config_entry_id if device else None
    entry = hass.config_entries.async_get_entry(entry_id) if entry_id else None
    return entry is not None and CONF_ENTITY in entry.data


async def async_get_triggers(hass: HomeAssistant, device_id: str) -> list[dict[str, str]]:
    """List the adaptor's triggers."""
    if not _is_adaptor(hass, device_id):
        return []
    companion = _follows_an_entity(hass, device_id)
    return [
        {
            CONF_PLATFORM: "device",
            CONF_DOMAIN: DOMAIN,
            CONF_DEVICE_ID: device_id,
            CONF_TYPE: trigger_type,
        }
        for trigger_type in TRIGGER_EVENTS
        if not (companion and trigger_type == RELAY_REBOOTED)
    ]


async def async_validate_trigger_config(hass: HomeAssistant, config: ConfigType) -> ConfigType:
    """Check that the trigger names an adaptor device and a known type."""
    config = TRIGGER_SCHEMA(config)
    if not _is_adaptor(hass, config[CONF_DEVICE_ID]):
        raise InvalidDeviceAutomationConfig(
            translation_domain=DOMAIN,
            translation_key="not_an_adaptor",
            translation_placeholders={"device_id": config[CONF_DEVICE_ID]},
        )
    return config


async def async_attach_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Listen for the coordinator's events of that device and type."""
    event_config = event_trigger.TRIGGER_SCHEMA(
        {
            CONF_PLATFORM: CONF_EVENT,
            event_trigger.CONF_EVENT_TYPE: TRIGGER_EVENTS[config[CONF_TYPE]],
            CONF_EVENT_DATA: {
                CONF_TYPE: config[CONF_TYPE],
                CONF_DEVICE_ID: config[CONF_DEVICE_ID],
            },
        }
    )
    return await event_trigger.async_attach_trigger(
        hass, event_config, action, trigger_info, platform_type="device"
    )
