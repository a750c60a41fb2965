"""Base of the entities that show the adaptor's coordinator data."""

from __future__ import annotations

from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .coordinator import AdaptorCoordinator, NoNeutralConfigEntry
from .entity import NoNeutralEntity


class AdaptorEntity(CoordinatorEntity[AdaptorCoordinator], NoNeutralEntity):
    """An entity of the adaptor's device that follows the adaptor's coordinator."""

    def __init__(self, entry: NoNeutralConfigEntry, key: str) -> None:
        """Follow the entry's coordinator; key the unique id like every entity."""
        CoordinatorEntity.__init__(self, entry.runtime_data.adaptor)
        NoNeutralEntity.__init__(self, entry, key)
