"""Event entity: each warning of the adaptor as it is raised and as it clears."""

from __future__ import annotations

from typing import Final, override

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import NoNeutralConfigEntry
from .entity import NoNeutralEntity, async_add_in_batches
from .warning_table import BY_CODE, CLEARED, RAISED, TRIGGER_TYPES

# The coordinator computes everything; the entity only reports its changes.
PARALLEL_UPDATES = 0

ATTR_CODE: Final = "code"
ATTR_ACTIVE: Final = "active"

EVENT_TYPES: Final = list(TRIGGER_TYPES)

DESCRIPTION = EventEntityDescription(
    key="warning",
    translation_key="warning",
    event_types=EVENT_TYPES,
)


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001
    entry: NoNeutralConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the warning event entity."""
    await async_add_in_batches(async_add_entities, [AdaptorWarningEvent(entry)])


class AdaptorWarningEvent(NoNeutralEntity, EventEntity):
    """Fires `<code>_raised` and `<code>_cleared` for every warning change."""

    entity_description = DESCRIPTION

    def __init__(self, entry: NoNeutralConfigEntry) -> None:
        """Report the entry's warnings."""
        super().__init__(entry, DESCRIPTION.key)

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        data = self.coordinator.data
        # Each coordinator picture carries the changes since the previous one.
        for change, codes in ((RAISED, data.raised), (CLEARED, data.cleared)):
            for code in codes:
                self._trigger_event(
                    BY_CODE[code].trigger_type(change),
                    {ATTR_CODE: code, ATTR_ACTIVE: list(data.warnings)},
                )
        super()._handle_coordinator_update()
