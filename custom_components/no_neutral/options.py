"""
The entry's options: one table of what each sets, its default, unit and form limits.

The options are the adaptor's parts, its lamp and mains, flat for the forms,
and the ageing inputs. One that sets a scenario value takes its default and
its limits from the simulator's own (circuit/params.py), so a form refuses
what the simulator would, at once and on the field; the scenario built from
the options leaves out what they do not give, so the simulator's defaults
apply. See docs/model.md for what each scenario value means. Also the
scenario of the adaptor as it is now: the options' parts, worn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from .circuit.ageing import (
    DEFAULT_RATED_LIFE_H,
    DEFAULT_RATED_TEMP_C,
    CapacitorSpec,
    FuseSpec,
    History,
    quantize_consumed,
)
from .circuit.params import DEFAULT_SCENARIO, LAMP_TYPES, number_range

CONF_LAMP_TYPE: Final = "lamp_type"
CONF_LAMP_COUNT: Final = "lamp_count"
CONF_LAMP_POWER_W: Final = "lamp_power_w"
CONF_MAINS_VOLTAGE: Final = "mains_voltage_rms"
CONF_MAINS_FREQUENCY: Final = "mains_frequency_hz"
CONF_CABLE_LENGTH_M: Final = "cable_length_m"
CONF_CAPACITANCE_UF: Final = "capacitance_uf"
CONF_ESR_OHM: Final = "esr_ohm"
CONF_CAP_VOLTAGE_RATING_V: Final = "cap_voltage_rating_v"
CONF_FUSE_RESISTANCE_OHM: Final = "fuse_resistance_ohm"
CONF_FUSE_POWER_RATING_W: Final = "fuse_power_rating_w"
# None means no bleed resistor fitted.
CONF_BLEED_RESISTANCE_OHM: Final = "bleed_resistance_ohm"
# The ageing inputs (docs/model.md, ageing); not part of the scenario.
CONF_CAP_RATED_LIFE_H: Final = "cap_rated_life_h"
CONF_CAP_RATED_TEMP_C: Final = "cap_rated_temp_c"
CONF_AMBIENT_TEMP_C: Final = "ambient_temp_c"
# Optional temperature sensor entity; when set it overrides CONF_AMBIENT_TEMP_C.
CONF_AMBIENT_SENSOR: Final = "ambient_sensor"
# The relay's own draw, contact open and closed (relay_models.py gives the start).
CONF_RELAY_POWER_W_OFF: Final = "relay_power_w_off"
CONF_RELAY_POWER_W_ON: Final = "relay_power_w_on"

type Form = Literal["adaptor", "options"]
"""The add flow's adaptor step, or the options form."""
ADAPTOR_STEP: Final = "adaptor"
OPTIONS_FORM: Final = "options"

type Section = Literal["lamp", "mains", "bypass", "datasheet", "environment", "relay"]
"""A group of fields in the forms, in the forms' order."""
SECTIONS: Final[tuple[Section, ...]] = (
    "lamp",
    "mains",
    "bypass",
    "datasheet",
    "environment",
    "relay",
)


@dataclass(frozen=True, kw_only=True)
class Option:
    """One option: what it sets, its default, and how the forms show it."""

    key: str
    # The scenario's dotted path it sets; None for an ageing input.
    path: str | None
    default: Any
    section: Section
    kind: Literal["number", "lamp_type", "temperature_sensor"] = "number"
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    whole: bool = False
    # May be left empty: no bleed resistor, no ambient sensor.
    optional: bool = False
    forms: frozenset[Form] = frozenset({OPTIONS_FORM})
    # The form shows value / scale in `form_unit` (a bleed resistor in kΩ);
    # the options keep the model's unit, so stored entries need no migration.
    scale: float = 1.0
    form_unit: str | None = None

    @property
    def limits(self) -> tuple[float, float]:
        """Return a number's lowest and highest value (the options' unit), both allowed."""
        if self.minimum is None or self.maximum is None:
            msg = f"{self.key} is not a number"
            raise TypeError(msg)
        return self.minimum, self.maximum

    @property
    def form_limits(self) -> tuple[float, float]:
        """Return the limits in the form's unit."""
        low, high = self.limits
        return self.to_form(low), self.to_form(high)

    def to_form(self, value: Any) -> Any:
        """Return a stored number as the form shows it."""
        if self.scale == 1 or not isinstance(value, int | float) or isinstance(value, bool):
            return value
        return round(value / self.scale, 9)

    def from_form(self, value: float) -> float:
        """Return a number of the form in the options' unit."""
        return value if self.scale == 1 else round(value * self.scale, 6)

    def selector(self, exclude_entities: Sequence[str] = ()) -> Any:
        """
        Return the form's selector: the units as the user reads them, the limits.

        An entity picker leaves out `exclude_entities` (the integration's own).
        """
        if self.kind == "lamp_type":
            return SelectSelector(
                SelectSelectorConfig(
                    options=list(LAMP_TYPES),
                    translation_key=CONF_LAMP_TYPE,
                    mode=SelectSelectorMode.DROPDOWN,
                )
            )
        if self.kind == "temperature_sensor":
            return EntitySelector(
                EntitySelectorConfig(
                    domain="sensor",
                    device_class=SensorDeviceClass.TEMPERATURE,
                    exclude_entities=list(exclude_entities),
                )
            )
        return number_selector(self.form_unit or self.unit, *self.form_limits, whole=self.whole)


def number_selector(
    unit: str | None, minimum: float, maximum: float, *, whole: bool = False
) -> NumberSelector:
    """Return a number box with these limits (HA's selector checks them, not NaN or `step`)."""
    config = NumberSelectorConfig(
        min=minimum, max=maximum, step=1 if whole else "any", mode=NumberSelectorMode.BOX
    )
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


def _scenario_option(
    key: str,
    path: str,
    unit: str | None,
    section: Section,
    *,
    adaptor_step: bool = False,
    optional: bool = False,
    scale: float = 1.0,
    form_unit: str | None = None,
) -> Option:
    """
    Return an option that sets a scenario value: the simulator's default and range.

    The form's limits are inclusive; where the simulator excludes its lowest
    value (a power must be positive), the form lets that one value through and
    the simulator's validation names the field.
    """
    part, name = path.split(".")
    limits = number_range(path)
    return Option(
        key=key,
        path=path,
        default=DEFAULT_SCENARIO[part][name],
        section=section,
        unit=unit,
        minimum=limits.low,
        maximum=limits.high,
        whole=path == "lamp.count",
        optional=optional,
        forms=frozenset({ADAPTOR_STEP, OPTIONS_FORM} if adaptor_step else {OPTIONS_FORM}),
        scale=scale,
        form_unit=form_unit,
    )


# In the forms' order, section by section.
OPTIONS: Final[tuple[Option, ...]] = (
    Option(
        key=CONF_LAMP_TYPE,
        path="lamp.type",
        default=DEFAULT_SCENARIO["lamp"]["type"],
        section="lamp",
        kind="lamp_type",
        forms=frozenset({ADAPTOR_STEP, OPTIONS_FORM}),
    ),
    _scenario_option(CONF_LAMP_COUNT, "lamp.count", None, "lamp", adaptor_step=True),
    _scenario_option(CONF_LAMP_POWER_W, "lamp.power_w", "W", "lamp", adaptor_step=True),
    _scenario_option(CONF_MAINS_VOLTAGE, "mains.voltage_rms", "V", "mains", adaptor_step=True),
    _scenario_option(CONF_MAINS_FREQUENCY, "mains.frequency_hz", "Hz", "mains", adaptor_step=True),
    _scenario_option(CONF_CABLE_LENGTH_M, "cable.length_m", "m", "mains"),
    _scenario_option(CONF_CAPACITANCE_UF, "smoothing.capacitance_uf", "µF", "bypass"),
    _scenario_option(CONF_ESR_OHM, "smoothing.esr_ohm", "Ω", "bypass"),
    _scenario_option(CONF_FUSE_RESISTANCE_OHM, "smoothing.fuse_resistance_ohm", "Ω", "bypass"),
    _scenario_option(CONF_FUSE_POWER_RATING_W, "smoothing.fuse_power_rating_w", "W", "bypass"),
    _scenario_option(
        CONF_BLEED_RESISTANCE_OHM,
        "smoothing.bleed_resistance_ohm",
        "Ω",
        "bypass",
        optional=True,
        scale=1000.0,
        form_unit="kΩ",
    ),
    _scenario_option(CONF_CAP_VOLTAGE_RATING_V, "smoothing.voltage_rating_v", "V", "datasheet"),
    # A general-purpose 105 °C electrolytic: 2000 h at its rated temperature.
    Option(
        key=CONF_CAP_RATED_LIFE_H,
        path=None,
        default=DEFAULT_RATED_LIFE_H,
        section="datasheet",
        unit="h",
        minimum=1,
        maximum=1e6,
    ),
    Option(
        key=CONF_CAP_RATED_TEMP_C,
        path=None,
        default=DEFAULT_RATED_TEMP_C,
        section="datasheet",
        unit="°C",
        minimum=-40,
        maximum=200,
    ),
    # Also the range of an ambient sensor's readings that are believed.
    Option(
        key=CONF_AMBIENT_TEMP_C,
        path=None,
        default=25.0,
        section="environment",
        unit="°C",
        minimum=-40,
        maximum=100,
    ),
    Option(
        key=CONF_AMBIENT_SENSOR,
        path=None,
        default=None,
        section="environment",
        kind="temperature_sensor",
        optional=True,
    ),
    _scenario_option(CONF_RELAY_POWER_W_OFF, "device.power_w_off", "W", "relay"),
    _scenario_option(CONF_RELAY_POWER_W_ON, "device.power_w_on", "W", "relay"),
)
OPTION: Final[dict[str, Option]] = {option.key: option for option in OPTIONS}
# The options that set a scenario value, and its dotted path.
SCENARIO_PATHS: Final[dict[str, str]] = {
    option.key: option.path for option in OPTIONS if option.path is not None
}


def form_keys(form: Form) -> tuple[str, ...]:
    """Return the options a form shows, in order."""
    return tuple(option.key for option in OPTIONS if form in option.forms)


def default_options() -> dict[str, Any]:
    """Return every option at its default, ageing included (a new entry's options)."""
    return {option.key: option.default for option in OPTIONS}


def option_value(options: Mapping[str, Any], key: str) -> Any:
    """Return an option's value, its default when the options leave it out."""
    return options.get(key, OPTION[key].default)


def scenario_from_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """
    Return the nested scenario that the flat options describe.

    Options not given are left out, so the simulator's own defaults apply. A
    bleed resistance of None (in the options) means no bleed resistor fitted.
    """
    scenario: dict[str, Any] = {}
    for key, path in SCENARIO_PATHS.items():
        if key in options:
            section, name = path.split(".")
            scenario.setdefault(section, {})[name] = options[key]
    return scenario


def option_for_path(path: str) -> str | None:
    """Return the option key that sets a scenario's dotted path, if any."""
    for key, option_path in SCENARIO_PATHS.items():
        if option_path == path:
            return key
    return None


def capacitor_spec(options: Mapping[str, Any]) -> CapacitorSpec:
    """Return the capacitor as the options describe it (new values)."""
    return CapacitorSpec(
        capacitance_uf=float(option_value(options, CONF_CAPACITANCE_UF)),
        esr_ohm=float(option_value(options, CONF_ESR_OHM)),
        rated_life_h=float(option_value(options, CONF_CAP_RATED_LIFE_H)),
        rated_temp_c=float(option_value(options, CONF_CAP_RATED_TEMP_C)),
    )


def fuse_spec(options: Mapping[str, Any]) -> FuseSpec:
    """Return the fusible resistor's rating as the options describe it."""
    return FuseSpec(power_rating_w=float(option_value(options, CONF_FUSE_POWER_RATING_W)))


def aged_scenario(options: Mapping[str, Any], history: History) -> dict[str, Any]:
    """
    Return the scenario of the adaptor as it is now: its parts worn, its fuse as the model has it.

    The worn capacitor's values use the consumed life rounded down to
    `CONSUMED_STEP` (0.5 % of its life), so ageing re-simulates only every
    step, not every minute; the values are rounded to 6 digits so the cache key
    is stable. The sensors show these same values: what was simulated.

    The relay's state is not part of it: the model's figures cover both
    states (the lamp figures with the relay closed, the off-state figures with
    it open), and `relay.closed` changes none of them (measured), so putting
    it in would only simulate the same circuit twice. The relay's state goes
    into what depends on it: the core temperature, the wear and the fuse heat.
    """
    scenario = scenario_from_options(options)
    cap = capacitor_spec(options)
    wear = quantize_consumed(history.cap_consumed)
    smoothing = scenario.setdefault("smoothing", {})
    smoothing["capacitance_uf"] = round(cap.aged_capacitance_uf(wear), 6)
    smoothing["esr_ohm"] = round(cap.aged_esr_ohm(wear), 6)
    smoothing["fuse_blown"] = history.fuse_blown
    return scenario
