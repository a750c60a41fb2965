"""
The fault finder (docs/fault-finder.md): symptoms in, ranked faults out.

Numpy only, no Home Assistant. Every candidate fault is the user's scenario
with one change, simulated in full; each symptom is a predicate on that
simulation's figures. A candidate that reproduces every ticked symptom ranks
first, then by how many ticked symptoms it explains and how few it adds that
the user did not see; candidates the symptoms cannot tell apart share a rank
and are listed in the order of how often that fault is met. Each answer says
what to measure with a multimeter and what to replace, as stable codes and
numbers that the integration translates.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from .ageing import CapacitorSpec, FuseSpec
from .figures import BREAKER_TRIP_FACTOR, simulate_many
from .params import FAULT_DIODES, Scenario, number_range, parse_scenario

type Figures = Mapping[str, Any]

SYMPTOMS: Final = (
    "breaker_trips_on",
    "breaker_trips_off",
    "relay_drops_off",
    "relay_drops_on",
    "lamp_dark",
    "lamp_dim",
    "lamp_flickers",
    "ghosting",
    "fuse_blew",
    "socket_live",
    "cap_hot",
)
# When the breaker opens at switch-on, nobody sees how the closed relay would
# run: these symptoms of the closed state are neither shown nor added. The
# lamp is then dark, which follows from the trip and is not added either. (A
# fusible resistor that blew stays blown, and is found later: it still counts.)
HIDDEN_BY_TRIP: Final = frozenset({"relay_drops_on", "lamp_dim", "lamp_flickers", "cap_hot"})
IMPLIED_BY_TRIP: Final = frozenset({"lamp_dark"})

# Below a tenth of its rated power a lamp gives no useful light: an LED driver
# that runs at all delivers its rated power (constant-power input), so a
# figure this low means it is stopped for almost the whole cycle; a filament
# at a tenth of its power (about a third of its voltage) glows dull red at most.
DARK_RATIO: Final = 0.10
# Perceived brightness goes roughly as the cube root of light output (Stevens'
# law); 0.85 of the light is 0.95 of the brightness, about the smallest step
# that people notice side by side. Below that the lamp looks dim.
DIM_RATIO: Final = 0.85
# A filament smooths its power thermally, but on half-wave DC the voltage dips
# once per mains cycle (50 or 60 Hz, not the 100 or 120 Hz of plain AC, and
# within the range where peripheral vision sees flicker); once the swing
# exceeds the mean voltage the light visibly pulses.
FILAMENT_FLICKER_RIPPLE_PCT: Final = 100.0
# EN 60204-1 6.2.4: accessible live parts must fall to 60 V within 5 s; the
# simulator's discharge time runs to 50 V (extra-low voltage) and the same 5 s.
SOCKET_LIVE_S: Final = 5.0
# Skin reports heat as pain from about 43 °C: a capacitor core 50 °C or hotter
# is "hot" to the touch; over its rated temperature it vents and bulges.
HOT_TO_TOUCH_C: Final = 50.0
DEFAULT_AMBIENT_C: Final = 25.0
# Where electronics in a home can be: an unheated loft in winter to a hot attic.
AMBIENT_RANGE_C: Final = (-40.0, 85.0)
SYMPTOMS_FIELD: Final = "symptoms"
AMBIENT_FIELD: Final = "ambient_c"
# At ten times its rating every B- or C-curve breaker opens at once (its
# magnetic release: 3 to 5 times for B, 5 to 10 for C); below that only its
# thermal release acts, in seconds to an hour, while a fusible resistor at 20
# times its rating opens within a minute (and within milliseconds at the
# hundreds of times that a shorted capacitor puts on it).
INSTANT_TRIP_FACTOR: Final = 10.0
# A capacitor worn out as the ageing model defines end of life: capacitance -20 %, ESR doubled.
WORN_CAPACITANCE: Final = 0.8
WORN_ESR: Final = 2.0
# "Far from the options' value": a wrong part picked from the drawer, a
# decade off (colour bands, a unit prefix) or a few times off.
FAR_FACTORS: Final = {
    "smoothing.capacitance_uf": (0.25, 4.0),
    "smoothing.fuse_resistance_ohm": (0.1, 10.0),
    "smoothing.bleed_resistance_ohm": (0.1, 10.0),
    "lamp.power_w": (0.25, 4.0),
}
# Voltage classes of radial electrolytics (V). A "low rating" candidate is the
# largest class below the mains peak: a 250 V part where 400 V belongs on
# 230 V mains, a 160 V one on 120 V.
VOLTAGE_CLASSES_V: Final = (63.0, 100.0, 160.0, 200.0, 250.0, 400.0, 450.0, 630.0)
# A 10A10-class rectifier diode read with a multimeter's diode test.
DIODE_FORWARD_V: Final = (0.4, 0.9)

# Where each adaptor diode's cathode (band) must face (docs/model.md's topology).
CATHODE_NODE: Final = {"Da": "SWS", "Db": "N", "Dc": "SWL", "Dd": "LO"}


class DiagnosisError(ValueError):
    """Bad input to the fault finder: `key` names the field, `reason` says what is wrong."""

    def __init__(self, key: str, reason: str) -> None:
        """Keep the key and the reason apart for callers that show them separately."""
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """One fault: a change to the user's scenario, what to measure and what to do."""

    fault: str
    part: str
    changes: Mapping[str, Any]
    checks: tuple[Mapping[str, Any], ...]
    actions: tuple[Mapping[str, Any], ...]
    # How often the builders meet this fault, most often first (0): orders
    # candidates that the symptoms cannot tell apart.
    prior: int = 0
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True, kw_only=True)
class Context:
    """What the predicates need besides a candidate's figures."""

    scenario: Scenario
    ambient_c: float
    capacitor: CapacitorSpec


def _trip_a(ctx: Context) -> float:
    return BREAKER_TRIP_FACTOR * ctx.scenario.mains.breaker_a


def _fuse_spec(ctx: Context) -> FuseSpec:
    return FuseSpec(power_rating_w=ctx.scenario.smoothing.fuse_power_rating_w)


def _fuse_heat_j(fig: Figures, ctx: Context) -> float:
    # The ageing model's thermal model of the fusible resistor: steady power
    # settles at P * tau, and a switching adds its inrush energy at once (the
    # worse of the configured closing phase and the mean over phases).
    spec = _fuse_spec(ctx)
    inrush = max(float(fig["inrush_fuse_energy_j"]), float(fig["inrush_fuse_energy_mean_j"]), 0.0)
    return float(fig["fuse_power_w"]) * spec.time_constant_s + inrush


def _core_c(fig: Figures, ctx: Context) -> float:
    return ctx.capacitor.core_temperature_c(ctx.ambient_c, fig["cap_esr_power_w"])


def _lit(fig: Figures) -> bool:
    return bool(fig["lamp_power_ratio"] >= DARK_RATIO)


def _breaker_on(fig: Figures, ctx: Context) -> bool:
    # The closed steady state's RMS current against IEC 60898's conventional
    # tripping current. The switch-on inrush into the smoothing capacitor is a
    # microsecond event limited by the fusible resistor: far too short for a
    # breaker's magnetic release (milliseconds at 3 to 10 times its rating).
    return bool(fig["source_current_rms_a"] >= _trip_a(ctx))


def _breaker_off(fig: Figures, ctx: Context) -> bool:
    return bool(fig["off_source_current_rms_a"] >= _trip_a(ctx))


def _relay_off(fig: Figures, ctx: Context) -> bool:
    # The relay's supply runs from its bulk capacitor: below its minimum input
    # voltage it browns out and restarts, or never joins the network.
    return bool(fig["off_device_supply_min_v"] < ctx.scenario.device.min_input_v)


def _relay_on(fig: Figures, ctx: Context) -> bool:
    return bool(fig["device_supply_min_v"] < ctx.scenario.device.min_input_v)


def _dark(fig: Figures, ctx: Context) -> bool:
    # A breaker that opens at switch-on leaves the lamp dark whatever else happens.
    return not _lit(fig) or _breaker_on(fig, ctx)


def _dim(fig: Figures, _ctx: Context) -> bool:
    return _lit(fig) and bool(fig["lamp_power_ratio"] < DIM_RATIO)


def _flickers(fig: Figures, ctx: Context) -> bool:
    if not _lit(fig):
        return False
    if ctx.scenario.lamp.type == "led":
        # The driver stops within each cycle: it goes out and restarts at the
        # mains frequency, which is the flicker people see on LED bulbs.
        return bool(fig["led_dropout"])
    return bool(fig["lamp_ripple_pct"] > FILAMENT_FLICKER_RIPPLE_PCT)


def _ghosting(fig: Figures, _ctx: Context) -> bool:
    return bool(fig["ghost_flash"])


def _fuse_blew(fig: Figures, ctx: Context) -> bool:
    return _fuse_heat_j(fig, ctx) >= _fuse_spec(ctx).opening_heat_j


def _socket_live(fig: Figures, _ctx: Context) -> bool:
    time_s = fig["discharge_time_s"]
    return time_s is None or bool(time_s > SOCKET_LIVE_S)


def _cap_hot(fig: Figures, ctx: Context) -> bool:
    # Hot to the touch from its own ripple heat, or driven past its voltage
    # rating (the oxide leaks, gas forms and the can bulges).
    over_v = fig["cap_voltage_max_v"] > ctx.scenario.smoothing.voltage_rating_v
    return bool(_core_c(fig, ctx) >= HOT_TO_TOUCH_C or over_v)


PREDICATES: Final[dict[str, Callable[[Figures, Context], bool]]] = {
    "breaker_trips_on": _breaker_on,
    "breaker_trips_off": _breaker_off,
    "relay_drops_off": _relay_off,
    "relay_drops_on": _relay_on,
    "lamp_dark": _dark,
    "lamp_dim": _dim,
    "lamp_flickers": _flickers,
    "ghosting": _ghosting,
    "fuse_blew": _fuse_blew,
    "socket_live": _socket_live,
    "cap_hot": _cap_hot,
}


def _fuse_evidence(fig: Figures, ctx: Context) -> dict[str, Any]:
    return {
        "fuse_power_w": fig["fuse_power_w"],
        "inrush_fuse_energy_j": max(
            fig["inrush_fuse_energy_j"], fig["inrush_fuse_energy_mean_j"], 0.0
        ),
        "fuse_heat_j": _fuse_heat_j(fig, ctx),
        "opening_heat_j": _fuse_spec(ctx).opening_heat_j,
    }


def _cap_evidence(fig: Figures, ctx: Context) -> dict[str, Any]:
    return {
        "core_c": _core_c(fig, ctx),
        "hot_c": HOT_TO_TOUCH_C,
        "cap_voltage_max_v": fig["cap_voltage_max_v"],
        "voltage_rating_v": ctx.scenario.smoothing.voltage_rating_v,
    }


# The figures behind each symptom's verdict, with the threshold they met or missed.
EVIDENCE: Final[dict[str, Callable[[Figures, Context], dict[str, Any]]]] = {
    "breaker_trips_on": lambda f, c: {
        "current_rms_a": f["source_current_rms_a"],
        "trip_current_a": _trip_a(c),
    },
    "breaker_trips_off": lambda f, c: {
        "current_rms_a": f["off_source_current_rms_a"],
        "trip_current_a": _trip_a(c),
    },
    "relay_drops_off": lambda f, c: {
        "supply_min_v": f["off_device_supply_min_v"],
        "min_input_v": c.scenario.device.min_input_v,
    },
    "relay_drops_on": lambda f, c: {
        "supply_min_v": f["device_supply_min_v"],
        "min_input_v": c.scenario.device.min_input_v,
    },
    "lamp_dark": lambda f, _c: {"lamp_power_ratio": f["lamp_power_ratio"], "threshold": DARK_RATIO},
    "lamp_dim": lambda f, _c: {"lamp_power_ratio": f["lamp_power_ratio"], "threshold": DIM_RATIO},
    "lamp_flickers": lambda f, _c: {
        "led_dropout": f["led_dropout"],
        "lamp_ripple_pct": f["lamp_ripple_pct"],
    },
    "ghosting": lambda f, _c: {
        "off_lamp_v": f["off_lamp_v"],
        "ghost_flash_period_s": f["ghost_flash_period_s"],
    },
    "fuse_blew": _fuse_evidence,
    "socket_live": lambda f, _c: {
        "discharge_time_s": f["discharge_time_s"],
        "limit_s": SOCKET_LIVE_S,
    },
    "cap_hot": _cap_evidence,
}


def _evidence(symptom: str, fig: Figures, ctx: Context) -> dict[str, Any]:
    return EVIDENCE[symptom](fig, ctx)


def observed(fig: Figures, ctx: Context) -> list[str]:
    """Return the symptoms that a simulation's figures show, in SYMPTOMS order."""
    return [s for s in SYMPTOMS if PREDICATES[s](fig, ctx)]


def fuse_opens_first(fig: Figures, ctx: Context) -> bool:
    """
    Whether the fusible resistor opens before the breaker does.

    Then what the user lives with is the same adaptor with its fusible
    resistor open (and the memory that it blew).
    """
    instant = fig["source_current_rms_a"] >= INSTANT_TRIP_FACTOR * ctx.scenario.mains.breaker_a
    return _fuse_blew(fig, ctx) and not instant and not ctx.scenario.smoothing.fuse_blown


# --- candidates ---------------------------------------------------------------


def _diode_checks(part: str, fault: str) -> tuple[dict[str, Any], ...]:
    reading = {
        "open": "open_both_ways",
        "shorted": "short_both_ways",
        "reversed": "forward_with_band_wrong",
    }[fault]
    return (
        {
            "check": "diode_test",
            "part": part,
            "good_forward_v": list(DIODE_FORWARD_V),
            "good_reverse": "open",
            "fault_reading": reading,
            "cathode_to": CATHODE_NODE[part],
        },
    )


def _diode_candidates(sc: Scenario) -> list[Candidate]:
    out: list[Candidate] = []
    # Fitting mistakes are met more often than failed parts, and a 10 A diode
    # fails shorted (after a surge) more often than open.
    priors = {"reversed": 0, "shorted": 4, "open": 6}
    for fault, prior in priors.items():
        for part in FAULT_DIODES:
            if getattr(sc.faults, part) == fault:
                continue
            action = (
                {"action": "turn_around", "part": part, "cathode_to": CATHODE_NODE[part]}
                if fault == "reversed"
                else {"action": "replace", "part": part, "with": "diode_10a_1000v"}
            )
            out.append(
                Candidate(
                    fault=f"diode_{fault}",
                    part=part,
                    changes={f"faults.{part}": fault},
                    checks=_diode_checks(part, fault),
                    actions=(action,),
                    prior=prior,
                )
            )
    return out


def _capacitor_replacement(sc: Scenario) -> dict[str, Any]:
    return {
        "action": "replace",
        "part": "capacitor",
        "capacitance_uf": sc.smoothing.capacitance_uf,
        "voltage_rating_v": max(sc.smoothing.voltage_rating_v, _needed_rating_v(sc)),
    }


def _needed_rating_v(sc: Scenario) -> float:
    # The next standard class that keeps the mains peak at 80 % of the rating
    # or less (the parts recommender's rule; the simulator warns at 90 %).
    need = math.sqrt(2.0) * sc.mains.voltage_rms / 0.8
    return next((v for v in VOLTAGE_CLASSES_V if v >= need), VOLTAGE_CLASSES_V[-1])


def _low_rating_v(sc: Scenario) -> float | None:
    peak = math.sqrt(2.0) * sc.mains.voltage_rms
    below = [v for v in VOLTAGE_CLASSES_V if v < peak and v < sc.smoothing.voltage_rating_v]
    return below[-1] if below else None


def _capacitance_check(sc: Scenario, fault_reading: str) -> dict[str, Any]:
    return {
        "check": "capacitance",
        "part": "capacitor",
        # Electrolytics are sold at -20/+20 %: below -20 % the part is worn out.
        "good_uf": [
            _nice(sc.smoothing.capacitance_uf * WORN_CAPACITANCE),
            _nice(sc.smoothing.capacitance_uf * (2 - WORN_CAPACITANCE)),
        ],
        "fault_reading": fault_reading,
    }


def _resistance_check(part: str, good_ohm: float | None, fault_reading: str) -> dict[str, Any]:
    return {
        "check": "resistance",
        "part": part,
        "good_ohm": None if good_ohm is None else _good_range(good_ohm),
        "fault_reading": fault_reading,
    }


def _part_candidates(sc: Scenario) -> list[Candidate]:
    sm = sc.smoothing
    out: list[Candidate] = []
    if sc.faults.capacitor == "ok" and not sm.fuse_blown:
        out.append(
            Candidate(
                fault="fuse_open",
                part="fuse_resistor",
                changes={"smoothing.fuse_blown": True},
                checks=(_resistance_check("fuse_resistor", sm.fuse_resistance_ohm, "open"),),
                actions=(
                    {
                        "action": "replace",
                        "part": "fuse_resistor",
                        "resistance_ohm": sm.fuse_resistance_ohm,
                        "power_rating_w": sm.fuse_power_rating_w,
                    },
                ),
                prior=0,
            )
        )
    for fault, prior, reading in (("open", 3, "near_zero"), ("shorted", 5, "short")):
        if sc.faults.capacitor == fault:
            continue
        check = (
            _capacitance_check(sc, reading)
            if fault == "open"
            else _resistance_check("capacitor", None, "short")
        )
        out.append(
            Candidate(
                fault=f"capacitor_{fault}",
                part="capacitor",
                changes={"faults.capacitor": fault},
                checks=(check,),
                actions=(_capacitor_replacement(sc),),
                prior=prior,
            )
        )
    out.append(
        Candidate(
            fault="capacitor_worn",
            part="capacitor",
            changes={
                "smoothing.capacitance_uf": _nice(sm.capacitance_uf * WORN_CAPACITANCE),
                "smoothing.esr_ohm": _nice(sm.esr_ohm * WORN_ESR),
            },
            checks=(_capacitance_check(sc, "low"),),
            actions=(_capacitor_replacement(sc),),
            prior=2,
        )
    )
    if sm.bleed_resistance_ohm is not None:
        out.append(
            Candidate(
                fault="bleed_missing",
                part="bleed_resistor",
                changes={"smoothing.bleed_resistance_ohm": None},
                checks=(_resistance_check("bleed_resistor", sm.bleed_resistance_ohm, "open"),),
                actions=(
                    {
                        "action": "fit",
                        "part": "bleed_resistor",
                        "resistance_ohm": sm.bleed_resistance_ohm,
                    },
                ),
                prior=1,
            )
        )
    if sc.faults.Da != "shorted" or sc.faults.Dd != "shorted":
        out.append(
            Candidate(
                fault="splitter_missing",
                part="splitter",
                changes={"faults.Da": "shorted", "faults.Dd": "shorted"},
                checks=({"check": "inspect", "part": "splitter", "fault_reading": "not_fitted"},),
                actions=({"action": "fit", "part": "splitter"},),
                prior=1,
            )
        )
    if (low_v := _low_rating_v(sc)) is not None:
        out.append(
            Candidate(
                fault="capacitor_rating_low",
                part="capacitor",
                changes={"smoothing.voltage_rating_v": low_v},
                checks=(
                    {
                        "check": "marking",
                        "part": "capacitor",
                        "good_voltage_rating_v": sm.voltage_rating_v,
                        "fault_reading": low_v,
                    },
                ),
                actions=(_capacitor_replacement(sc),),
                prior=3,
            )
        )
    return out


def _lamp_candidates(sc: Scenario) -> list[Candidate]:
    out: list[Candidate] = []
    lamp_check = {"check": "inspect", "part": "lamp", "fault_reading": "not_fitted"}
    if sc.lamp.type != "none":
        out.append(
            Candidate(
                fault="lamp_missing",
                part="lamp",
                changes={"lamp.type": "none"},
                checks=(lamp_check,),
                actions=({"action": "fit", "part": "lamp", "lamp_type": sc.lamp.type},),
                prior=1,
            )
        )
    # A capacitive-dropper bulb is, to the adaptor, no lamp at all (it passes no
    # DC): the same simulation as a missing lamp, another remedy.
    for other in ("capacitive_dropper", "resistive", "led"):
        if other in {sc.lamp.type, "none"}:
            continue
        out.append(
            Candidate(
                fault="lamp_type",
                part="lamp",
                changes={"lamp.type": other},
                checks=({"check": "inspect", "part": "lamp", "fault_reading": other},),
                actions=(
                    {
                        "action": "replace",
                        "part": "lamp",
                        "lamp_type": "led" if other == "capacitive_dropper" else sc.lamp.type,
                    },
                ),
                prior=2,
            )
        )
    return out


# Each far-off part: its name in the answer, the check that finds it, and the
# unit key of its value in checks and actions.
_FAR_PARTS: Final = {
    "smoothing.capacitance_uf": ("capacitor", "capacitance", "uf"),
    "smoothing.fuse_resistance_ohm": ("fuse_resistor", "resistance", "ohm"),
    "smoothing.bleed_resistance_ohm": ("bleed_resistor", "resistance", "ohm"),
    "lamp.power_w": ("lamp", "marking", "w"),
}
_VALUE_KEYS: Final = {"uf": "capacitance_uf", "ohm": "resistance_ohm", "w": "power_w"}
# Meter and part tolerances: a good part reads within this fraction of its value.
TOLERANCE: Final = 0.1


def _nice(value: float) -> float:
    # Six significant digits: the answer says 0.47 ohm, not 0.47000000000000003.
    return float(f"{value:.6g}")


def _good_range(value: float) -> list[float]:
    return [_nice(value * (1 - TOLERANCE)), _nice(value * (1 + TOLERANCE))]


def _far_candidates(sc: Scenario) -> list[Candidate]:
    out: list[Candidate] = []
    for key, factors in FAR_FACTORS.items():
        section, name = key.split(".")
        value = getattr(getattr(sc, section), name)
        if value is None:
            continue
        limits = number_range(key)
        part, check, unit = _FAR_PARTS[key]
        for factor in factors:
            new = _nice(value * factor)
            if not limits.low <= new <= limits.high:
                continue
            good = [_nice(value)] * 2 if check == "marking" else _good_range(value)
            out.append(
                Candidate(
                    fault=f"{part}_value_{'low' if factor < 1 else 'high'}",
                    part=part,
                    changes={key: new},
                    checks=(
                        {
                            "check": check,
                            "part": part,
                            f"good_{unit}": good,
                            "fault_reading": new,
                        },
                    ),
                    actions=({"action": "replace", "part": part, _VALUE_KEYS[unit]: value},),
                    prior=4,
                )
            )
    return out


def candidates(sc: Scenario) -> list[Candidate]:
    """Return every single fault of the scenario's adaptor and lamp (skipping ones already set)."""
    return [
        *_part_candidates(sc),
        *_diode_candidates(sc),
        *_lamp_candidates(sc),
        *_far_candidates(sc),
    ]


def _apply(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    scenario = {k: dict(v) for k, v in copy.deepcopy(dict(base)).items()}
    for key, value in changes.items():
        section, name = key.split(".")
        scenario.setdefault(section, {})[name] = value
    return scenario


# --- the answer ---------------------------------------------------------------


def check_symptoms(symptoms: object) -> list[str]:
    """Return the ticked symptoms in SYMPTOMS order; DiagnosisError naming `symptoms`."""
    if isinstance(symptoms, str) or not isinstance(symptoms, Iterable):
        reason = "must be a list of symptom codes"
        raise DiagnosisError(SYMPTOMS_FIELD, reason)
    out: list[str] = []
    for item in symptoms:
        if not isinstance(item, str) or item not in SYMPTOMS:
            reason = f"unknown symptom {item!r}; one of {', '.join(SYMPTOMS)}"
            raise DiagnosisError(SYMPTOMS_FIELD, reason)
        if item not in out:
            out.append(item)
    if not out:
        reason = "tick at least one symptom"
        raise DiagnosisError(SYMPTOMS_FIELD, reason)
    return [s for s in SYMPTOMS if s in out]


def check_ambient(ambient_c: object) -> float:
    """Return the ambient temperature in °C; DiagnosisError naming `ambient_c`."""
    if isinstance(ambient_c, bool) or not isinstance(ambient_c, int | float):
        reason = "must be a number"
        raise DiagnosisError(AMBIENT_FIELD, reason)
    value = float(ambient_c)
    low, high = AMBIENT_RANGE_C
    if not (math.isfinite(value) and low <= value <= high):
        reason = f"must be between {low:g} and {high:g}"
        raise DiagnosisError(AMBIENT_FIELD, reason)
    return value


def _entry(
    cand: Candidate, shown: Sequence[str], fig: Figures, ctx: Context, ticked: Sequence[str]
) -> dict[str, Any]:
    masked = IMPLIED_BY_TRIP if "breaker_trips_on" in shown else frozenset()
    reproduces = [s for s in ticked if s in shown]
    return {
        "fault": cand.fault,
        "part": cand.part,
        "changes": dict(cand.changes),
        "reproduces": reproduces,
        "unexplained": [s for s in ticked if s not in shown],
        "fuse_opens_first": fuse_opens_first(fig, ctx),
        "extra": [s for s in shown if s not in ticked and s not in masked],
        "evidence": {s: _evidence(s, fig, ctx) for s in ticked},
        "warnings": list(fig["warnings"]),
        "checks": [dict(c) for c in cand.checks],
        "actions": [dict(a) for a in cand.actions],
    }


def _score(entry: Mapping[str, Any]) -> tuple[int, int, int]:
    return (
        1 if entry["unexplained"] else 0,
        -len(entry["reproduces"]),
        len(entry["extra"]),
    )


def scenario_key(scenario: Mapping[str, Any]) -> str:
    """Return the canonical JSON of a scenario (the same circuit, the same key)."""
    return json.dumps(scenario, sort_keys=True, separators=(",", ":"))


def first_scenarios(scenario: Mapping[str, Any]) -> list[dict[str, Any]]:
    """
    Return what a diagnosis simulates first: the scenario as given, then each candidate.

    Raises ScenarioError for a bad scenario. A caller that runs the
    simulations itself (the integration's executor) runs these, then each
    `follow_up` of their figures, and hands diagnose() a lookup.
    """
    sc = parse_scenario(scenario)
    base = dict(scenario)
    return [base, *(_apply(base, c.changes) for c in candidates(sc))]


def follow_up(scenario: Mapping[str, Any], figures: Figures) -> dict[str, Any] | None:
    """Return the scenario to simulate next when its fusible resistor opens first, else None."""
    sc = parse_scenario(scenario)
    spec = CapacitorSpec(capacitance_uf=sc.smoothing.capacitance_uf, esr_ohm=sc.smoothing.esr_ohm)
    ctx = Context(scenario=sc, ambient_c=DEFAULT_AMBIENT_C, capacitor=spec)
    if not fuse_opens_first(figures, ctx):
        return None
    return _apply(scenario, {"smoothing.fuse_blown": True})


def batched_runs(scenario: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], Figures]:
    """
    Simulate what a diagnosis needs in two batches (simulate_many); return a lookup.

    First the scenario as given and every candidate, then the follow-ups of
    those whose fusible resistor opens first. The lookup raises a run's
    ArithmeticError as simulate() would have.
    """
    found: dict[str, Figures | ArithmeticError] = {}

    def batch(scenarios: Iterable[Mapping[str, Any]]) -> None:
        todo = {scenario_key(m): m for m in scenarios if scenario_key(m) not in found}
        results = simulate_many(list(todo.values()), errors=True)
        found.update(zip(todo, results, strict=True))

    firsts = first_scenarios(scenario)
    batch(firsts)
    batch(
        after
        for mapping in firsts
        if not isinstance(figures := found[scenario_key(mapping)], ArithmeticError)
        and (after := follow_up(mapping, figures)) is not None
    )

    def lookup(mapping: Mapping[str, Any]) -> Figures:
        figures = found.get(scenario_key(mapping))
        if figures is None:
            batch([mapping])
            figures = found[scenario_key(mapping)]
        if isinstance(figures, ArithmeticError):
            raise figures
        return figures

    return lookup


def diagnose(
    scenario: Mapping[str, Any],
    symptoms: object,
    *,
    ambient_c: object = DEFAULT_AMBIENT_C,
    capacitor: CapacitorSpec | None = None,
    run: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """
    Rank the single faults that reproduce the ticked symptoms.

    `scenario` is the adaptor as the user built it (its options); `run` is the
    simulation (None: every candidate simulated in one batch, simulate_many;
    or simulate, or a lookup of runs made elsewhere); `capacitor`
    gives the part's ripple rating for its heating (the defaults otherwise).
    Raises ScenarioError for a bad scenario and DiagnosisError for bad symptoms
    or ambient temperature, each naming the field, before simulating anything;
    ArithmeticError when the scenario as given cannot be solved (a candidate
    that cannot is listed under `unsolved`).
    """
    ticked = check_symptoms(symptoms)
    ambient = check_ambient(ambient_c)
    sc = parse_scenario(scenario)
    base = dict(scenario)
    cache: dict[str, Figures] = {}
    if run is None:
        run = batched_runs(scenario)

    def figures(mapping: Mapping[str, Any]) -> Figures:
        key = scenario_key(mapping)
        if key not in cache:
            cache[key] = run(mapping)
        return cache[key]

    spec = capacitor or CapacitorSpec(
        capacitance_uf=sc.smoothing.capacitance_uf, esr_ohm=sc.smoothing.esr_ohm
    )

    def context(mapping: Mapping[str, Any]) -> Context:
        return Context(scenario=parse_scenario(mapping), ambient_c=ambient, capacitor=spec)

    def shows(mapping: Mapping[str, Any]) -> tuple[list[str], Figures, Context]:
        fig, ctx = figures(mapping), context(mapping)
        after = follow_up(mapping, fig)
        if after is None:
            return observed(fig, ctx), fig, ctx
        # A blown fusible resistor stays blown: the lasting symptoms are those
        # of the adaptor without it; the evidence keeps the figures that blew it.
        lasting = set(observed(figures(after), context(after))) | {"fuse_blew"}
        return [s for s in SYMPTOMS if s in lasting], fig, ctx

    def visible(mapping: Mapping[str, Any]) -> tuple[list[str], Figures, Context]:
        shown, fig, ctx = shows(mapping)
        if "breaker_trips_on" in shown:
            shown = [s for s in shown if s not in HIDDEN_BY_TRIP]
        return shown, fig, ctx

    given_shown, as_given, given_ctx = visible(base)
    entries: list[tuple[int, int, dict[str, Any]]] = []
    unsolved: list[dict[str, Any]] = []
    for order, cand in enumerate(candidates(sc)):
        try:
            entry = _entry(cand, *visible(_apply(base, cand.changes)), ticked)
        except ArithmeticError as err:
            unsolved.append({"fault": cand.fault, "part": cand.part, "error": str(err)})
            continue
        entries.append((cand.prior, order, entry))
    entries.sort(key=lambda item: (_score(item[2]), item[0], item[1]))
    ranked: list[dict[str, Any]] = []
    ruled_out: list[dict[str, Any]] = []
    rank = 0
    previous: tuple[int, int, int] | None = None
    for position, (_prior, _order, entry) in enumerate(entries, start=1):
        if not entry["reproduces"]:
            ruled_out.append(entry)
            continue
        score = _score(entry)
        if score != previous:
            rank, previous = position, score
        entry["rank"] = rank
        ranked.append(entry)
    return {
        "symptoms": ticked,
        "as_given": {
            "reproduces": [s for s in ticked if s in given_shown],
            "shows": given_shown,
            "conditions": _conditions(sc),
            "evidence": {s: _evidence(s, as_given, given_ctx) for s in ticked},
            "warnings": list(as_given["warnings"]),
        },
        "candidates": ranked,
        "ruled_out": ruled_out,
        "unsolved": unsolved,
        "precautions": ["isolate_mains", "discharge_capacitor", "measure_out_of_circuit"],
        "simulations": len(cache),
    }


def _conditions(sc: Scenario) -> list[str]:
    """Return what in the scenario as given is itself one of the candidate faults."""
    out: list[str] = []
    if sc.lamp.type == "none":
        out.append("lamp_missing")
    if sc.lamp.type == "capacitive_dropper":
        out.append("lamp_type")
    if sc.smoothing.bleed_resistance_ohm is None:
        out.append("bleed_missing")
    if sc.smoothing.fuse_blown:
        out.append("fuse_open")
    if sc.faults.Da == "shorted" and sc.faults.Dd == "shorted":
        out.append("splitter_missing")
    out.extend(f"diode_{state}" for d in FAULT_DIODES if (state := getattr(sc.faults, d)) != "ok")
    if sc.faults.capacitor != "ok":
        out.append(f"capacitor_{sc.faults.capacitor}")
    return out
