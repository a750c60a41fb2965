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

from .circuit.analysis import DISCHARGE_LIMIT_S
from .coordinator import AdaptorData, loss_power_w
from .data import NoNeutralConfigEntry
from .entity import NoNeutralEntity, async_add_applicable
from .options import CONF_LAMP_TYPE
from .reboots import BOOT_REASONS

# The coordinator computes everything; entities only read it.
PARALLEL_UPDATES = 0

# Lamps that draw nothing the simulator can measure (no power, no ratio).
NO_LOAD_LAMPS = ("none", "capacitive_dropper")

HOURS_PER_YEAR = 365.25 * 24


def _lit(options: Mapping[str, Any]) -> bool:
    return options.get(CONF_LAMP_TYPE, "led") not in NO_LOAD_LAMPS


@dataclass(frozen=True, kw_only=True)
class AdaptorSensorEntityDescription(SensorEntityDescription):
    """A sensor of the adaptor: how to read it, and whether it makes sense."""

    value_fn: Callable[[AdaptorData], float | int | str | None]
    exists_fn: Callable[[Mapping[str, Any]], bool] = lambda _options: True
    # Shown only for a relay that reports its reboots (GeneralDiagnostics).
    needs_reboot_count: bool = False
    attributes_fn: Callable[[AdaptorData], dict[str, Any]] | None = None
    # Shows the relay's present state: unavailable while that is not known
    # (a relay unreachable, a followed entity unavailable).
    follows_relay: bool = False


def _figure(key: str, scale: float = 1.0) -> Callable[[AdaptorData], float | None]:
    def value(data: AdaptorData) -> float | None:
        figure = data.figures.get(key)
        return None if figure is None else float(figure) * scale

    return value


def _now(closed_key: str, open_key: str | None) -> Callable[[AdaptorData], float | None]:
    """
    Read a figure as the relay has it now: the closed cycle's or the open state's.

    No open key: nothing flows into the lamp with the contact open, 0. The
    open state's leakage into a lamp is milliwatts (microamperes at the lamp's
    voltage), under the power sensor's 0.1 W; counting the closed figure with
    the light off over-counted anything that sums power.
    """
    closed = _figure(closed_key)
    opened = _figure(open_key) if open_key else lambda _data: 0.0

    def value(data: AdaptorData) -> float | None:
        if data.relay_on is None or not data.figures:
            return None
        return closed(data) if data.relay_on else opened(data)

    return value


def _losses_now(data: AdaptorData) -> float | None:
    if data.relay_on is None or not data.figures:
        return None
    return loss_power_w(data.figures, closed=data.relay_on)


def _kwh(read: Callable[[AdaptorData], float]) -> Callable[[AdaptorData], float]:
    return lambda data: read(data) / 1000.0


def _remaining_life_years(data: AdaptorData) -> float:
    years = data.cap_remaining_life_h / HOURS_PER_YEAR
    # Tenths of a year from a year up ("48.4"); under a year, a tenth (5 weeks)
    # would read "0.0" with two weeks left: hundredths (3.7 days) there, the
    # whole days in the attribute. (No display precision: it would pad or cut
    # both to one number of decimals.)
    return round(years, 1) if years >= 1 else round(years, 2)


def _remaining_life_attributes(data: AdaptorData) -> dict[str, Any]:
    # Under a year, tenths of a year are too coarse to plan a replacement by.
    return {"days": round(data.cap_remaining_life_h / 24)}


def _discharge_time(data: AdaptorData) -> float | None:
    if not data.figures:
        return None
    # The simulator stops at its window: slower than that is "over 30 s", not unknown.
    seconds = data.figures.get("discharge_time_s")
    return DISCHARGE_LIMIT_S if seconds is None else float(seconds)


def _discharge_attributes(data: AdaptorData) -> dict[str, Any]:
    if not data.figures:
        return {}
    return {"over_window": data.figures.get("discharge_time_s") is None}


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
        value_fn=_now("lamp_v_mean", "off_lamp_v"),
        follows_relay=True,
    ),
    AdaptorSensorEntityDescription(
        key="lamp_voltage_when_on",
        translation_key="lamp_voltage_when_on",
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
        value_fn=_now("lamp_power_w", None),
        follows_relay=True,
        exists_fn=_lit,
    ),
    AdaptorSensorEntityDescription(
        key="lamp_power_when_on",
        translation_key="lamp_power_when_on",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=_figure("lamp_power_w"),
        exists_fn=_lit,
    ),
    # The lamp as an individual device of the Energy dashboard: its energy,
    # with the power above as the live rate (both follow the relay).
    AdaptorSensorEntityDescription(
        key="lamp_energy",
        translation_key="lamp_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=3,
        value_fn=_kwh(lambda data: data.lamp_energy_wh),
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
    # What the circuit draws besides the lamp: the adaptor's parts and the
    # relay's own supply. The adaptor as a device of the Energy dashboard
    # (losses, with their live rate), and its standby draw on its own: what
    # it costs with the lamp off, the figure to compare adaptors by.
    AdaptorSensorEntityDescription(
        key="losses",
        translation_key="losses",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=_losses_now,
        follows_relay=True,
    ),
    AdaptorSensorEntityDescription(
        key="loss_energy",
        translation_key="loss_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=3,
        value_fn=_kwh(lambda data: data.loss_energy_wh),
    ),
    AdaptorSensorEntityDescription(
        key="standby_power",
        translation_key="standby_power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=_figure("off_source_power_w"),
    ),
    AdaptorSensorEntityDescription(
        key="standby_energy",
        translation_key="standby_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=3,
        value_fn=_kwh(lambda data: data.standby_energy_wh),
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
        # Years, which Home Assistant's durations lack (they stop at days and
        # weeks: "17,662 d"); the unit is translated, the days are an attribute.
        value_fn=_remaining_life_years,
        attributes_fn=_remaining_life_attributes,
    ),
    AdaptorSensorEntityDescription(
        key="capacitor_core_temperature",
        translation_key="capacitor_core_temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda data: data.core_temp_c,
        follows_relay=True,
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
        value_fn=_discharge_time,
        attributes_fn=_discharge_attributes,
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
    # The relay's own evidence (its supply runs through the adaptor).
    AdaptorSensorEntityDescription(
        key="relay_reboots",
        translation_key="relay_reboots",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.reboot_count,
        needs_reboot_count=True,
    ),
    AdaptorSensorEntityDescription(
        key="last_boot_reason",
        translation_key="last_boot_reason",
        device_class=SensorDeviceClass.ENUM,
        options=list(BOOT_REASONS),
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.boot_reason,
        needs_reboot_count=True,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NoNeutralConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the ones that make sense for the entry's lamp and relay; follow its changes."""
    reports = entry.runtime_data.relay.reboot_count is not None
    await async_add_applicable(
        hass,
        entry,
        async_add_entities,
        platform="sensor",
        descriptions=(d for d in SENSORS if reports or not d.needs_reboot_count),
        make=lambda description: AdaptorSensor(entry, description),
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
    @override
    def available(self) -> bool:
        if self.entity_description.follows_relay and self.coordinator.data.relay_on is None:
            return False
        return super().available

    @property
    def native_value(self) -> float | int | str | None:
        """Return the figure, at its display precision."""
        value = self.entity_description.value_fn(self.coordinator.data)
        precision = self.entity_description.suggested_display_precision
        # The recorder keeps the native value: unrounded, the history changed
        # in the 10th digit at every update (an axis reading "18.1" nine times).
        # (The precision is of the native unit: no sensor here suggests another.)
        if isinstance(value, float) and precision is not None:
            # Whole numbers as such: "18", not "18.0".
            return round(value, precision) if precision else round(value)
        return value

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return what the state alone cannot say (days left, a discharge past the window)."""
        if (attributes_fn := self.entity_description.attributes_fn) is None:
            return None
        return attributes_fn(self.coordinator.data)

    @override
    def shown(self) -> tuple[object, ...]:
        return (self.native_value, self.extra_state_attributes)
