"""The scenario (docs/model.md): defaults, validation and frozen parameter sets."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

LAMP_TYPES: Final = ("led", "resistive", "capacitive_dropper", "none")
DIODE_FAULTS: Final = ("ok", "open", "shorted", "reversed")
CAPACITOR_FAULTS: Final = ("ok", "open", "shorted")
# The four adaptor diodes that can be faulted (the relay's bridge cannot).
FAULT_DIODES: Final = ("Da", "Db", "Dc", "Dd")


class ScenarioError(ValueError):
    """An invalid scenario: `key` is the dotted path, `reason` says what is wrong."""

    def __init__(self, key: str, reason: str) -> None:
        """Keep the key and the reason apart for callers that show them separately."""
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


DEFAULT_SCENARIO: Final[dict[str, dict[str, Any]]] = {
    "mains": {
        "voltage_rms": 230,
        "frequency_hz": 50,
        "source_resistance_ohm": 0.3,
        "breaker_a": 10,
    },
    "cable": {"length_m": 8, "conductor_mm2": 1.5, "capacitance_pf_per_m": 70},
    "device": {
        "power_w_off": 0.6,
        "power_w_on": 0.9,
        "bulk_capacitance_uf": 4.7,
        "min_input_v": 60,
    },
    "diode": {
        "saturation_current_a": 1e-8,
        "ideality": 1.9,
        "series_resistance_ohm": 0.02,
        "reverse_leakage_a": 5e-6,
    },
    "smoothing": {
        "capacitance_uf": 15,
        "esr_ohm": 3.0,
        "voltage_rating_v": 400,
        "fuse_resistance_ohm": 4.7,
        "fuse_power_rating_w": 2.0,
        "bleed_resistance_ohm": 220000,
        "fuse_blown": False,
    },
    "lamp": {
        "type": "led",
        "count": 1,
        "power_w": 10,
        "rated_voltage_v": 230,
        "led_start_v": 100,
        "led_stop_v": 70,
        "led_input_capacitance_uf": 2.2,
    },
    "relay": {"closed": True, "close_phase_deg": 270, "open_resistance_ohm": 1e9},
    "faults": {"Da": "ok", "Db": "ok", "Dc": "ok", "Dd": "ok", "capacitor": "ok"},
}

# The bounds keep every accepted scenario inside the range where the solver's
# step sizes and tolerances were validated against ngspice, and away from
# element values that make the nodal matrix singular in double precision (a
# micrometre of cable is 1e-8 ohm beside 1e-12 S of leakage); they are
# generous for any real installation. Each entry: (lowest, lowest allowed?, highest).
_NUMBER_RANGES: Final[dict[str, tuple[float, bool, float]]] = {
    "mains.voltage_rms": (10.0, True, 400.0),
    "mains.frequency_hz": (10.0, True, 400.0),
    "mains.source_resistance_ohm": (1e-3, True, 100.0),
    "mains.breaker_a": (0.1, True, 1000.0),
    "cable.length_m": (0.1, True, 500.0),
    "cable.conductor_mm2": (0.1, True, 50.0),
    "cable.capacitance_pf_per_m": (1.0, True, 1000.0),
    "device.power_w_off": (0.01, True, 20.0),
    "device.power_w_on": (0.01, True, 20.0),
    "device.bulk_capacitance_uf": (0.1, True, 1000.0),
    "device.min_input_v": (0.0, False, 1000.0),
    "diode.saturation_current_a": (1e-12, True, 1e-6),
    "diode.ideality": (1.0, True, 2.5),
    "diode.series_resistance_ohm": (1e-3, True, 1.0),
    "diode.reverse_leakage_a": (1e-9, True, 1e-4),
    "smoothing.capacitance_uf": (0.1, True, 1000.0),
    "smoothing.esr_ohm": (1e-3, True, 1000.0),
    "smoothing.voltage_rating_v": (0.0, False, 10000.0),
    "smoothing.fuse_resistance_ohm": (0.01, True, 10000.0),
    "smoothing.fuse_power_rating_w": (0.0, False, 1000.0),
    "smoothing.bleed_resistance_ohm": (100.0, True, 1e9),
    "lamp.power_w": (0.0, False, 1000.0),
    "lamp.rated_voltage_v": (50.0, True, 1000.0),
    "lamp.led_start_v": (0.0, False, 1000.0),
    "lamp.led_stop_v": (0.0, False, 1000.0),
    "lamp.led_input_capacitance_uf": (1e-3, True, 1000.0),
    "relay.close_phase_deg": (0.0, True, 360.0),
    "relay.open_resistance_ohm": (1e3, True, 1e15),
}
# The highest value itself is refused (360 degrees is 0 degrees again).
_HIGH_EXCLUDED: Final = frozenset({"relay.close_phase_deg"})
_NULLABLE: Final = frozenset({"smoothing.bleed_resistance_ohm"})
_BOOLEANS: Final = frozenset({"smoothing.fuse_blown", "relay.closed"})
_MAX_LAMP_COUNT: Final = 100
_UNKNOWN: Final = "unknown key"
_TOP: Final = ""
_STOP: Final = "lamp.led_stop_v"


@dataclass(frozen=True, slots=True)
class Mains:
    """The supply."""

    voltage_rms: float
    frequency_hz: float
    source_resistance_ohm: float
    breaker_a: float


@dataclass(frozen=True, slots=True)
class Cable:
    """The L and SW conductors between switch box and lamp."""

    length_m: float
    conductor_mm2: float
    capacitance_pf_per_m: float


@dataclass(frozen=True, slots=True)
class Device:
    """The relay's own supply."""

    power_w_off: float
    power_w_on: float
    bulk_capacitance_uf: float
    min_input_v: float


@dataclass(frozen=True, slots=True)
class Diode:
    """One model for all eight diodes."""

    saturation_current_a: float
    ideality: float
    series_resistance_ohm: float
    reverse_leakage_a: float


@dataclass(frozen=True, slots=True)
class Smoothing:
    """The bypass module's fusible resistor, capacitor and bleed resistor."""

    capacitance_uf: float
    esr_ohm: float
    voltage_rating_v: float
    fuse_resistance_ohm: float
    fuse_power_rating_w: float
    bleed_resistance_ohm: float | None
    fuse_blown: bool


@dataclass(frozen=True, slots=True)
class Lamp:
    """What hangs between N and the lamp node."""

    type: str
    count: int
    power_w: float
    rated_voltage_v: float
    led_start_v: float
    led_stop_v: float
    led_input_capacitance_uf: float


@dataclass(frozen=True, slots=True)
class Relay:
    """The relay contact and the instant it closes for the inrush figures."""

    closed: bool
    close_phase_deg: float
    open_resistance_ohm: float


@dataclass(frozen=True, slots=True)
class Faults:
    """The state of each adaptor diode and of the smoothing capacitor (what-if questions)."""

    Da: str
    Db: str
    Dc: str
    Dd: str
    capacitor: str


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario with every default filled in."""

    mains: Mains
    cable: Cable
    device: Device
    diode: Diode
    smoothing: Smoothing
    lamp: Lamp
    relay: Relay
    faults: Faults


@dataclass(frozen=True, slots=True)
class NumberRange:
    """The values the validation accepts for one numeric key."""

    low: float
    low_allowed: bool
    high: float
    high_allowed: bool


def number_range(key: str) -> NumberRange:
    """
    Return what the validation accepts for a numeric dotted key (`lamp.count` too).

    For the forms that set a scenario: their limits are these, so that they
    refuse what the simulator would. KeyError for a key that is not a number.
    """
    if key == "lamp.count":
        return NumberRange(low=1, low_allowed=True, high=_MAX_LAMP_COUNT, high_allowed=True)
    low, low_allowed, high = _NUMBER_RANGES[key]
    return NumberRange(
        low=low, low_allowed=low_allowed, high=high, high_allowed=key not in _HIGH_EXCLUDED
    )


_SECTIONS: Final = {
    "mains": Mains,
    "cable": Cable,
    "device": Device,
    "diode": Diode,
    "smoothing": Smoothing,
    "lamp": Lamp,
    "relay": Relay,
    "faults": Faults,
}


def _number(key: str, value: object) -> float:
    # bool is an int subclass; JSON true must not pass as 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(key, f"must be a number, not {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        raise ScenarioError(key, "must be finite") from None
    if not math.isfinite(number):
        raise ScenarioError(key, "must be finite")
    low, low_allowed, high = _NUMBER_RANGES[key]
    if number < low or (number == low and not low_allowed):
        if low == 0.0:
            raise ScenarioError(key, "must be positive")
        raise ScenarioError(
            key, f"must be at least {low:g}" if low_allowed else f"must exceed {low:g}"
        )
    if number > high or (key in _HIGH_EXCLUDED and number == high):
        raise ScenarioError(
            key, f"must be below {high:g}" if number == high else f"must be at most {high:g}"
        )
    return number


def _value(key: str, value: object) -> object:
    if key in _BOOLEANS:
        if not isinstance(value, bool):
            raise ScenarioError(key, f"must be true or false, not {type(value).__name__}")
        return value
    if key == "lamp.type":
        if not isinstance(value, str):
            raise ScenarioError(key, f"must be a string, not {type(value).__name__}")
        if value not in LAMP_TYPES:
            raise ScenarioError(key, f"unknown lamp type {value!r}; one of {', '.join(LAMP_TYPES)}")
        return value
    if key.startswith("faults."):
        states = CAPACITOR_FAULTS if key == "faults.capacitor" else DIODE_FAULTS
        if not isinstance(value, str):
            raise ScenarioError(key, f"must be a string, not {type(value).__name__}")
        if value not in states:
            raise ScenarioError(key, f"unknown fault state {value!r}; one of {', '.join(states)}")
        return value
    if key == "lamp.count":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScenarioError(key, f"must be a whole number, not {type(value).__name__}")
        if not 1 <= value <= _MAX_LAMP_COUNT:
            raise ScenarioError(key, f"must be between 1 and {_MAX_LAMP_COUNT}")
        return value
    if value is None and key in _NULLABLE:
        return None
    return _number(key, value)


def parse_scenario(mapping: object) -> Scenario:
    """
    Validate a scenario mapping and fill in the defaults; raise ScenarioError.

    Typed as object because callers hand in parsed JSON, which may be anything.
    """
    if not isinstance(mapping, Mapping):
        reason = f"the scenario must be an object, not {type(mapping).__name__}"
        raise ScenarioError(_TOP, reason)
    for name in mapping:
        if name not in _SECTIONS:
            raise ScenarioError(str(name), _UNKNOWN)
    sections: dict[str, object] = {}
    for name, cls in _SECTIONS.items():
        given = mapping.get(name, {})
        if not isinstance(given, Mapping):
            raise ScenarioError(name, f"must be an object, not {type(given).__name__}")
        defaults = DEFAULT_SCENARIO[name]
        for field in given:
            if field not in defaults:
                key = f"{name}.{field}"
                raise ScenarioError(key, _UNKNOWN)
        values = {
            field: _value(f"{name}.{field}", given.get(field, default))
            for field, default in defaults.items()
        }
        sections[name] = cls(**values)
    scenario = Scenario(**sections)  # type: ignore[arg-type]
    _check_relations(scenario)
    return scenario


def _check_relations(scenario: Scenario) -> None:
    # A capacitor rated below the mains peak is a real part people fit: the
    # simulation says what it does (cap_overvoltage), it is not refused.
    if scenario.lamp.led_stop_v >= scenario.lamp.led_start_v:
        reason = "must be below lamp.led_start_v"
        raise ScenarioError(_STOP, reason)


def default_scenario() -> dict[str, dict[str, Any]]:
    """Return a fresh deep copy of the defaults, safe to modify."""
    return copy.deepcopy(DEFAULT_SCENARIO)


def merge_scenario(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Return `base` with the sections of `overrides` laid over it, key by key."""
    merged: dict[str, Any] = {
        section: dict(values) if isinstance(values, Mapping) else values
        for section, values in base.items()
    }
    for section, values in overrides.items():
        if isinstance(values, Mapping) and isinstance(merged.get(section, {}), dict):
            merged.setdefault(section, {}).update(values)
        else:
            # Not a section: parse_scenario names it.
            merged[section] = values
    return merged
