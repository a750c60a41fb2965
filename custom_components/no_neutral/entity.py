"""Base entity: every entity of an entry belongs to the adaptor's device."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity

from .const import DOMAIN
from .coordinator import NoNeutralConfigEntry

ADAPTOR_MODEL = "No-neutral adaptor"


class NoNeutralEntity(Entity):
    """An entity of the adaptor's device, which hangs off the relay's device."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: NoNeutralConfigEntry, key: str) -> None:
        """Name the entity after the adaptor's device and key its unique id."""
        self.entry = entry
        self._attr_unique_id = f"{entry.unique_id}_{key}"
        relay = entry.runtime_data.relay
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, str(entry.unique_id))},
            name=entry.title,
            manufacturer="No-Neutral Adaptor",
            model=ADAPTOR_MODEL,
        )
        if relay.device_id is not None:
            self._attr_device_info["via_device_id"] = relay.device_id
