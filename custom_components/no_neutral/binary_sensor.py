"""Binary sensors: one per fault the adaptor can be in."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import AdaptorData, NoNeutralConfigEntry
from .entity import NoNeutralEntity, async_add_in_batches, async_remove_stale
from .options import CONF_LAMP_TYPE

# The coordinator computes everything; entities only read it.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class AdaptorBinarySensorEntityDescription(BinarySensorEntityDescription):
    """A fault of the adaptor: which warnings turn it on, and whether it makes sense."""

    value_fn: Callable[[AdaptorData], bool]
    exists_fn: Callable[[Mapping[str, Any]], bool] = lambda _options: True


def _active(*codes: str) -> Callable[[AdaptorData], bool]:
    """On while any of these warnings is active."""
    return lambda data: any(code in data.warnings for code in codes)


def _led(options: Mapping[str, Any]) -> bool:
    # Ghosting and dropout are what a switch-mode LED driver does.
    return bool(options.get(CONF_LAMP_TYPE, "led") == "led")


BINARY_SENSORS: tuple[AdaptorBinarySensorEntityDescription, ...] = (
    AdaptorBinarySensorEntityDescription(
        key="no_load_risk",
        translation_key="no_load_risk",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=_active("no_load"),
    ),
    AdaptorBinarySensorEntityDescription(
        key="ghost_flashing",
        translation_key="ghost_flashing",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=_active("ghost_flash"),
        exists_fn=_led,
    ),
    AdaptorBinarySensorEntityDescription(
        key="flicker",
        translation_key="flicker",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=_active("led_dropout"),
        exists_fn=_led,
    ),
    AdaptorBinarySensorEntityDescription(
        key="fuse_overstress",
        translation_key="fuse_overstress",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=_active("fuse_overstress", "fuse_switching"),
    ),
    AdaptorBinarySensorEntityDescription(
        key="fuse_blown",
        translation_key="fuse_blown",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=_active("fuse_blown"),
    ),
    AdaptorBinarySensorEntityDescription(
        key="capacitor_end_of_life",
        translation_key="capacitor_end_of_life",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=_active("cap_end_of_life"),
    ),
    AdaptorBinarySensorEntityDescription(
        key="capacitor_overvoltage",
        translation_key="capacitor_overvoltage",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=_active("cap_overvoltage"),
    ),
    AdaptorBinarySensorEntityDescription(
        key="incompatible_lamp",
        translation_key="incompatible_lamp",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=_active("incompatible_lamp"),
    ),
    AdaptorBinarySensorEntityDescription(
        key="relay_supply_low",
        translation_key="relay_supply_low",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=_active("device_supply_low"),
    ),
    AdaptorBinarySensorEntityDescription(
        key="slow_discharge",
        translation_key="slow_discharge",
        # On means unsafe: the lamp socket stays live after switching off.
        device_class=BinarySensorDeviceClass.SAFETY,
        value_fn=_active("slow_discharge"),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NoNeutralConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the ones that make sense for the entry's lamp; drop the others."""
    wanted = [d for d in BINARY_SENSORS if d.exists_fn(entry.options)]
    async_remove_stale(
        hass, entry, "binary_sensor", (d.key for d in BINARY_SENSORS if d not in wanted)
    )
    await async_add_in_batches(
        async_add_entities, (AdaptorBinarySensor(entry, description) for description in wanted)
    )


class AdaptorBinarySensor(NoNeutralEntity, BinarySensorEntity):
    """One fault of the adaptor."""

    entity_description: AdaptorBinarySensorEntityDescription

    def __init__(
        self, entry: NoNeutralConfigEntry, description: AdaptorBinarySensorEntityDescription
    ) -> None:
        """Follow one fault of the entry's adaptor."""
        super().__init__(entry, description.key)
        self.entity_description = description

    @property
    def is_on(self) -> bool:
        """Return whether the fault is present."""
        return self.entity_description.value_fn(self.coordinator.data)

    @override
    def shown(self) -> tuple[object, ...]:
        return (self.is_on,)
