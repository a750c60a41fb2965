"""Sensors: the adaptor's figures, its capacitor's wear and its fuse's stress."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTemperature,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import AdaptorData
from .data import NoNeutralConfigEntry
from .entity import NoNeutralEntity, async_add_in_batches, async_remove_stale
from .options import CONF_LAMP_TYPE

# The coordinator computes everything; entities only read it.
PARALLEL_UPDATES = 0

# Lamps that draw nothing the simulator can measure (no power, no ratio).
NO_LOAD_LAMPS = ("none", "capacitive_dropper")


def _lit(options: Mapping[str, Any]) -> bool:
    return options.get(CONF_LAMP_TYPE, "led") not in NO_LOAD_LAMPS


@dataclass(frozen=True, kw_only=True)
class AdaptorSensorEntityDescription(SensorEntityDescription):
    """A sensor of the adaptor: how to read it, and whether it makes sense."""

    value_fn: Callable[[AdaptorData], float | int | None]
    exists_fn: Callable[[Mapping[str, Any]], bool] = lambda _options: True


def _figure(key: str, scale: float = 1.0) -> Callable[[AdaptorData], float | None]:
    def value(data: AdaptorData) -> float | None:
        figure = data.figures.get(key)
        return None if figure is None else float(figure) * scale

    return value


SENSORS: tuple[AdaptorSensorEntityDescription, ...] = (
    AdaptorSensorEntityDescription(
        key="off_leakage_current",
        translation_key="off_leakage_current",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.MICROAMPERE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=_figure("off_leakage_current_a", 1e6),
    ),
    AdaptorSensorEntityDescription(
        key="lamp_voltage",
        translation_key="lamp_voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=_figure("lamp_v_mean"),
    ),
    AdaptorSensorEntityDescription(
        key="lamp_ripple",
        translation_key="lamp_ripple",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=_figure("lamp_ripple_pct"),
    ),
    AdaptorSensorEntityDescription(
        key="lamp_power",
        translation_key="lamp_power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=_figure("lamp_power_w"),
        exists_fn=_lit,
    ),
    AdaptorSensorEntityDescription(
        key="lamp_power_ratio",
        translation_key="lamp_power_ratio",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=_figure("lamp_power_ratio", 100.0),
        exists_fn=_lit,
    ),
    AdaptorSensorEntityDescription(
        key="capacitor_health",
        translation_key="capacitor_health",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda data: data.cap_health_pct,
    ),
    AdaptorSensorEntityDescription(
        key="capacitor_remaining_life",
        translation_key="capacitor_remaining_life",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.HOURS,
        suggested_unit_of_measurement=UnitOfTime.DAYS,
        suggested_display_precision=0,
        value_fn=lambda data: data.cap_remaining_life_h,
    ),
    AdaptorSensorEntityDescription(
        key="capacitor_core_temperature",
        translation_key="capacitor_core_temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda data: data.core_temp_c,
    ),
    AdaptorSensorEntityDescription(
        key="fuse_stress",
        translation_key="fuse_stress",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda data: data.fuse_stress_pct,
    ),
    AdaptorSensorEntityDescription(
        key="inrush_energy",
        translation_key="inrush_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.JOULE,
        suggested_display_precision=2,
        value_fn=_figure("inrush_fuse_energy_mean_j"),
    ),
    AdaptorSensorEntityDescription(
        key="relay_supply_voltage",
        translation_key="relay_supply_voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=_figure("device_supply_min_v"),
    ),
    AdaptorSensorEntityDescription(
        key="discharge_time",
        translation_key="discharge_time",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_figure("discharge_time_s"),
    ),
    AdaptorSensorEntityDescription(
        key="switchings",
        translation_key="switchings",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.switchings,
    ),
    AdaptorSensorEntityDescription(
        key="capacitor_capacitance",
        translation_key="capacitor_capacitance",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.capacitance_uf,
    ),
    AdaptorSensorEntityDescription(
        key="capacitor_esr",
        translation_key="capacitor_esr",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.esr_ohm,
    ),
    AdaptorSensorEntityDescription(
        key="powered_time",
        translation_key="powered_time",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.HOURS,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.powered_h,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NoNeutralConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the ones that make sense for the entry's lamp; drop the others."""
    wanted = [d for d in SENSORS if d.exists_fn(entry.options)]
    async_remove_stale(hass, entry, "sensor", (d.key for d in SENSORS if d not in wanted))
    await async_add_in_batches(
        async_add_entities, (AdaptorSensor(entry, description) for description in wanted)
    )


class AdaptorSensor(NoNeutralEntity, SensorEntity):
    """One figure of the adaptor."""

    entity_description: AdaptorSensorEntityDescription

    def __init__(
        self, entry: NoNeutralConfigEntry, description: AdaptorSensorEntityDescription
    ) -> None:
        """Show one figure of the entry's adaptor."""
        super().__init__(entry, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> float | int | None:
        """Return the figure."""
        return self.entity_description.value_fn(self.coordinator.data)

    @override
    def shown(self) -> tuple[object, ...]:
        return (self.native_value,)
