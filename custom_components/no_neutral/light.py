"""The lamp: switched by the relay, its state pushed by the Matter server."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, override

from homeassistant.components.light import LightEntity
from homeassistant.components.light.const import ColorMode
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import NoNeutralConfigEntry
from .entity import NoNeutralEntity, async_add_in_batches
from .relay import matter_relay, relay_command

# Commands go to one relay; one at a time keeps on/off in the user's order.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001
    entry: NoNeutralConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the lamp."""
    await async_add_in_batches(async_add_entities, [NoNeutralLight(entry)])


class NoNeutralLight(NoNeutralEntity, LightEntity):
    """The lamp behind the adaptor; on means the relay is closed, available means the relay is."""

    _attr_name = None
    _attr_color_mode = ColorMode.ONOFF
    _attr_supported_color_modes = {ColorMode.ONOFF}  # noqa: RUF012

    def __init__(self, entry: NoNeutralConfigEntry) -> None:
        """Follow the entry's relay."""
        super().__init__(entry, "lamp")
        self.relay = matter_relay(entry)

    @override
    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.async_on_remove(self.relay.async_add_listener(self.async_write_ha_state))

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        # The lamp shows the relay, whose every change it writes above; the
        # coordinator's figures and its success change nothing it shows.
        return

    @property
    @override
    def available(self) -> bool:
        return self.relay.available

    @property
    @override
    def is_on(self) -> bool | None:
        return self.relay.is_on

    @override
    async def async_turn_on(self, **kwargs: Any) -> None:
        # No optimistic state: the server pushes the attribute once the relay
        # moved, and that change is told as Home Assistant's (switching.py).
        with relay_command(self.relay), self._command(on=True):
            await self.relay.async_turn_on()

    @override
    async def async_turn_off(self, **kwargs: Any) -> None:
        with relay_command(self.relay), self._command(on=False):
            await self.relay.async_turn_off()

    def _command(self, *, on: bool) -> AbstractContextManager[None]:
        # The service call's context, set on the entity before it calls us.
        return self.coordinator.switching.command(
            on=on, context=self._context, is_on=self.relay.is_on
        )
