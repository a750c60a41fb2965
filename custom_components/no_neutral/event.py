"""Event entities: the warnings as they are raised and clear, reboots; who switched the lamp."""

from __future__ import annotations

from typing import Final, override

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import NoNeutralConfigEntry
from .entity import NoNeutralEntity, async_add_in_batches
from .reboots import ATTR_BOOT_REASON, ATTR_REBOOT_COUNT, RELAY_REBOOTED
from .switching import SWITCHING_TYPES, Switching
from .warning_table import BY_CODE, CLEARED, RAISED, TRIGGER_TYPES, WarningChanges

# The coordinator computes everything; the entity only reports its changes.
PARALLEL_UPDATES = 0

ATTR_CODE: Final = "code"
ATTR_ACTIVE: Final = "active"
ATTR_ON: Final = "on"

EVENT_TYPES: Final = [*TRIGGER_TYPES, RELAY_REBOOTED]

DESCRIPTION = EventEntityDescription(
    key="warning",
    translation_key="warning",
    event_types=EVENT_TYPES,
)

SWITCHING_DESCRIPTION = EventEntityDescription(
    key="switching",
    translation_key="switching",
    event_types=list(SWITCHING_TYPES),
)


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001
    entry: NoNeutralConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the warning and the switching event entities."""
    await async_add_in_batches(
        async_add_entities, [AdaptorWarningEvent(entry), LampSwitchingEvent(entry)]
    )


class AdaptorWarningEvent(NoNeutralEntity, EventEntity):
    """Fires `<code>_raised` and `<code>_cleared` for every warning change."""

    entity_description = DESCRIPTION

    def __init__(self, entry: NoNeutralConfigEntry) -> None:
        """Report the entry's warnings."""
        super().__init__(entry, DESCRIPTION.key)

    @override
    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        # The coordinator's one path for warning changes, which also fires the
        # device triggers' events: the two cannot tell different stories.
        self.async_on_remove(self.coordinator.async_add_warning_listener(self._on_warnings))
        self.async_on_remove(self.coordinator.async_add_reboot_listener(self._on_reboot))

    @callback
    def _on_reboot(self, reason: str | None, count: int) -> None:
        self._trigger_event(RELAY_REBOOTED, {ATTR_BOOT_REASON: reason, ATTR_REBOOT_COUNT: count})
        self.async_write_ha_state()

    @callback
    def _on_warnings(self, changes: WarningChanges) -> None:
        for change, codes in ((RAISED, changes.raised), (CLEARED, changes.cleared)):
            for code in codes:
                self._trigger_event(
                    BY_CODE[code].trigger_type(change),
                    {ATTR_CODE: code, ATTR_ACTIVE: list(changes.warnings)},
                )
                # One state per event: an automation on this entity sees each.
                self.async_write_ha_state()


class LampSwitchingEvent(NoNeutralEntity, EventEntity):
    """
    Fires `switched_by_home_assistant` or `switched_elsewhere` at each switching.

    Apart from the warnings: an automation on a warning must not run at every
    switching of the lamp.
    """

    entity_description = SWITCHING_DESCRIPTION

    def __init__(self, entry: NoNeutralConfigEntry) -> None:
        """Report the switchings of the entry's relay."""
        super().__init__(entry, SWITCHING_DESCRIPTION.key)

    @override
    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.async_on_remove(self.coordinator.switching.async_add_listener(self._on_switching))

    @callback
    def _on_switching(self, switching: Switching) -> None:
        self._trigger_event(switching.type, {ATTR_ON: switching.on})
        # Home Assistant's command's context: its logbook names who switched.
        self.async_set_context(switching.context)
        self.async_write_ha_state()
