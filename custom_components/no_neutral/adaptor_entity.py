"""Base of the entities that show the adaptor's coordinator data."""

from __future__ import annotations

from collections.abc import Iterable
from typing import override

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import AdaptorCoordinator, NoNeutralConfigEntry
from .entity import NoNeutralEntity


class AdaptorEntity(CoordinatorEntity[AdaptorCoordinator], NoNeutralEntity):
    """An entity of the adaptor's device that follows the adaptor's coordinator."""

    _written: tuple[object, ...] | None = None

    def __init__(self, entry: NoNeutralConfigEntry, key: str) -> None:
        """Follow the entry's coordinator; key the unique id like every entity."""
        CoordinatorEntity.__init__(self, entry.runtime_data.adaptor)
        NoNeutralEntity.__init__(self, entry, key)

    def shown(self) -> tuple[object, ...] | None:
        """Return what the state shows besides availability (None: write at every update)."""
        return None

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        # Every update (each switching of the relay, each minute) would rewrite
        # all of an adaptor's two dozen states in one loop step, most of them
        # unchanged: 2.5-5.5 ms of the loop in tests/reliability/test_bench.py.
        if (shown := self.shown()) is not None:
            shown = (self.available, *shown)
            if shown == self._written:
                return
            self._written = shown
        super()._handle_coordinator_update()


@callback
def async_remove_stale(
    hass: HomeAssistant, entry: NoNeutralConfigEntry, platform: str, keys: Iterable[str]
) -> None:
    """
    Remove the registry entries of entities that no longer make sense.

    A lamp type changed in the options (say LED to halogen) drops entities such
    as flicker; without this they would linger as unavailable.
    """
    registry = er.async_get(hass)
    for key in keys:
        unique_id = f"{entry.unique_id}_{key}"
        if entity_id := registry.async_get_entity_id(platform, DOMAIN, unique_id):
            registry.async_remove(entity_id)
