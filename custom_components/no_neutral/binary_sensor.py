"""Binary sensors: one per warning of the adaptor, keyed by its code."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import AdaptorData
from .data import NoNeutralConfigEntry
from .entity import NoNeutralEntity, async_add_applicable
from .options import CONF_LAMP_TYPE
from .warning_table import WARNINGS, AdaptorWarning, Source

# The coordinator computes everything; entities only read it.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class AdaptorBinarySensorEntityDescription(BinarySensorEntityDescription):
    """A warning of the adaptor: whether it is on, and whether it makes sense."""

    value_fn: Callable[[AdaptorData], bool]
    exists_fn: Callable[[Mapping[str, Any]], bool]


def _description(warning: AdaptorWarning) -> AdaptorBinarySensorEntityDescription:
    """Return the binary sensor of one warning, keyed by its code."""
    return AdaptorBinarySensorEntityDescription(
        key=warning.code,
        translation_key=warning.code,
        device_class=warning.device_class,
        value_fn=lambda data: warning.code in data.warnings,
        exists_fn=lambda options: warning.applies_to(str(options.get(CONF_LAMP_TYPE, "led"))),
    )


BINARY_SENSORS: tuple[AdaptorBinarySensorEntityDescription, ...] = tuple(
    _description(warning) for warning in WARNINGS
)


async def async_migrate_unique_ids(hass: HomeAssistant, entry: NoNeutralConfigEntry) -> None:
    """
    Give binary sensors keyed by a former name their warning code's key (entry version 1.2).

    The registry entry keeps its entity id, name and settings: automations and
    dashboards that use it go on working.
    """
    former = {
        f"{entry.unique_id}_{warning.former_key}": f"{entry.unique_id}_{warning.code}"
        for warning in WARNINGS
        if warning.former_key is not None
    }

    @callback
    def migrate(registry_entry: er.RegistryEntry) -> dict[str, Any] | None:
        if registry_entry.domain != Platform.BINARY_SENSOR:
            return None
        if (unique_id := former.get(registry_entry.unique_id)) is None:
            return None
        return {"new_unique_id": unique_id}

    await er.async_migrate_entries(hass, entry.entry_id, migrate)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NoNeutralConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the ones that make sense for the entry's lamp and relay; follow its changes."""
    # The relay's own warnings need a relay that reports its reboots.
    reports = entry.runtime_data.relay.reboot_count is not None
    await async_add_applicable(
        hass,
        entry,
        async_add_entities,
        platform="binary_sensor",
        descriptions=(
            d
            for w, d in zip(WARNINGS, BINARY_SENSORS, strict=True)
            if reports or w.source is not Source.RELAY
        ),
        make=lambda description: AdaptorBinarySensor(entry, description),
    )


class AdaptorBinarySensor(NoNeutralEntity, BinarySensorEntity):
    """One warning of the adaptor."""

    entity_description: AdaptorBinarySensorEntityDescription

    def __init__(
        self, entry: NoNeutralConfigEntry, description: AdaptorBinarySensorEntityDescription
    ) -> None:
        """Follow one warning of the entry's adaptor."""
        super().__init__(entry, description.key)
        self.entity_description = description

    @property
    def is_on(self) -> bool:
        """Return whether the warning is active."""
        return self.entity_description.value_fn(self.coordinator.data)

    @override
    def shown(self) -> tuple[object, ...]:
        return (self.is_on,)
