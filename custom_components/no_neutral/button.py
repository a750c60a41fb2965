"""Buttons: tell the adaptor that a worn part was replaced."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import override

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import AdaptorCoordinator
from .data import NoNeutralConfigEntry
from .entity import NoNeutralEntity, async_add_in_batches

# A reset writes the history; one at a time.
PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class AdaptorButtonEntityDescription(ButtonEntityDescription):
    """A reset of the adaptor's history."""

    press_fn: Callable[[AdaptorCoordinator], Awaitable[None]]


BUTTONS: tuple[AdaptorButtonEntityDescription, ...] = (
    AdaptorButtonEntityDescription(
        key="capacitor_replaced",
        translation_key="capacitor_replaced",
        entity_category=EntityCategory.CONFIG,
        press_fn=lambda coordinator: coordinator.async_reset_capacitor(),
    ),
    AdaptorButtonEntityDescription(
        key="fuse_replaced",
        translation_key="fuse_replaced",
        entity_category=EntityCategory.CONFIG,
        press_fn=lambda coordinator: coordinator.async_reset_fuse(),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001
    entry: NoNeutralConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the reset buttons."""
    await async_add_in_batches(
        async_add_entities, (AdaptorButton(entry, description) for description in BUTTONS)
    )


class AdaptorButton(NoNeutralEntity, ButtonEntity):
    """Reset one part's history."""

    entity_description: AdaptorButtonEntityDescription

    def __init__(
        self, entry: NoNeutralConfigEntry, description: AdaptorButtonEntityDescription
    ) -> None:
        """Reset one part of the entry's adaptor."""
        super().__init__(entry, description.key)
        self.entity_description = description

    @override
    def shown(self) -> tuple[object, ...]:
        return ()  # a button's state is its last press, written by the press

    async def async_press(self) -> None:
        """Reset the part's history."""
        await self.entity_description.press_fn(self.coordinator)
