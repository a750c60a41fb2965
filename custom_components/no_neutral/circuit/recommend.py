"""
The parts recommender: which capacitor, fusible resistor and bleed resistor to buy.

Every combination of the stocked values (docs/model.md "Which parts to buy")
is judged on the simulator's figures against the criteria below; the best
three are returned with their margins, the others with what they failed.
Pure numpy and the simulator: no Home Assistant import.

What is simulated, and why fewer runs than combinations give the same answer:

- The capacitor's voltage rating and the fusible resistor's power rating are
  not in the circuit: the simulator reads them only in the warnings
  `cap_overvoltage`, `fuse_overstress` and `fuse_blows`. So every figure of
  a circuit (capacitance, fuse resistance, bleed resistance) is the same for
  all 3 x 4 ratings, and each circuit is simulated once. Those three warnings
  are implied by the stricter rating criteria here (80 % of the voltage
  rating is under the warning's 90 %; 25 % of the power rating under its
  50 % and 20x), so a combination that passes the criteria has none of them
  at any rating, and the simulated rating does not matter.
- A lamp that is no load (none, a capacitive-dropper bulb, under 3 W) raises
  `no_load` whatever the adaptor's parts (the warning reads only the lamp),
  so nothing can qualify and nothing is simulated.
- The inrush run (most of a simulation's time) feeds one figure that one
  criterion reads: `inrush_fuse_energy_mean_j`, in `fuse_switching`. No
  other figure depends on it: the solver carries nothing from one run to
  the next but step matrices built from the circuit, which can move the
  last bits of the figures computed after it (measured: 1e-12 relative).
  So the inrush runs, in simulate()'s order, only where some rating passes
  every criterion known by then, which is where `fuse_switching` can
  decide. A combination lost on another criterion is not judged on
  `fuse_switching` (its margin is null and it is not counted there). A
  circuit that ran the inrush has simulate()'s figures bit for bit; one
  that did not, within 1e-9 (both tested).
- The bleed resistor is NOT separable: it hangs across the lamp with the
  relay closed too (a 100 kOhm part takes about 1 W at 320 V), so it changes
  the closed figures as well as the open state and the discharge; each
  bleed value is its own circuit.

Cost (measured on the shared 2-core test machine, load 2 to 4): the whole
stock is 19,992 combinations, 1,666 circuits; 10 W LED on 230 V took 457 s
in one process (0.27 s a circuit; the inrush ran for 1,173 of them), 330 s
over two processes. Batched (batched_figures: BATCH circuits per
figures.solve_many, each circuit's figures bit for bit its own run's),
measured in CPU seconds on the same machine: 68 circuits 9.5 s against
20.2 s one at a time; the 300-combination stock of scripts/bench (25
circuits) 4.0 s; the whole stock 259 s on a quiet machine,
far from the issue's 5 s. Most of the time is the
switch-on run (36 closing phases, up to ten cycles of 400 steps) of the
circuits where it can decide: some 43,000 members for the whole stock, 37.6
million member-steps in all, at best 2.0 to 3.8 us each with numpy
(scripts/bench --floor): 77 to 90 s even for a perfect batch, and 9.9 s with
no switch-on run at all.

The criteria, each with a margin (positive: inside the limit, as a fraction
of the limit):

- `warnings`: the simulation raises no warning that the parts' ratings
  cannot cure (no_load, incompatible_lamp, led_dropout, ghost_flash,
  device_supply_low, slow_discharge, short_circuit).
- `lamp_power`: an LED lamp gets at least 0.95 of its rated power (margin:
  the lamp voltage's low point over the driver's stop voltage); a
  filament lamp gets the best available: its power ratio as close to 1 as
  among the combinations that pass every other criterion (within
  FILAMENT_SLACK; over 1 counts as far as under, as 1/ratio: an overrun
  filament burns out).
- `cap_voltage`: the capacitor's peak voltage at most 80 % of its rating.
- `fuse_steady`: the fusible resistor's steady power at most 25 % of its rating.
- `fuse_switching`: its heat when the relay closes ten times a minute (each
  closing's mean inrush energy on top of the steady heat, the periodic limit
  of ageing.FuseHeat) at most half the heat that opens it (FuseSpec).
- `discharge`: the socket under 50 V within 5 s of switching off.
- `capacitor_life`: the capacitor lasts at least 10 years at 40 °C ambient
  with its ESR heat (ageing.CapacitorSpec).

The best three are the qualifying circuits, each with the lowest ratings that
pass (higher ones only cost more), ranked by their weakest margin, then the
next weakest, and so on, margins within RANK_STEP counting as equal at first.
An LED lamp's power ratio is 1.0 until its driver drops out, so its margin
is the headroom of the lamp voltage's low point over the driver's stop
voltage (a capacitor that loses capacitance with age eats it up); whether it
passes is still the ratio of at least 0.95 (and no led_dropout warning).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final

from .ageing import CapacitorSpec, FuseHeat, FuseSpec
from .figures import (
    BREAKER_TRIP_FACTOR,
    NO_LOAD_W,
    SLOW_DISCHARGE_S,
    _warnings,
    solve,
    solve_many,
)
from .params import Scenario, ScenarioError, parse_scenario

# What the recommender may choose from: E6 capacitances 4.7 to 47 uF, E12
# fusible resistors 1 to 22 ohm, E12 bleed resistors 100 kOhm to 1 MOhm or none.
CAPACITANCES_UF: Final = (4.7, 6.8, 10.0, 15.0, 22.0, 33.0, 47.0)
CAP_VOLTAGE_RATINGS_V: Final = (400.0, 450.0, 630.0)
FUSE_RESISTANCES_OHM: Final = (
    1.0, 1.2, 1.5, 1.8, 2.2, 2.7, 3.3, 3.9, 4.7, 5.6, 6.8, 8.2, 10.0, 12.0, 15.0, 18.0, 22.0,
)  # fmt: skip
FUSE_POWER_RATINGS_W: Final = (1.0, 2.0, 3.0, 5.0)
BLEED_RESISTANCES_OHM: Final[tuple[float | None, ...]] = (
    100e3, 120e3, 150e3, 180e3, 220e3, 270e3, 330e3, 390e3, 470e3, 560e3, 680e3, 820e3, 1e6, None,
)  # fmt: skip

LED_POWER_RATIO: Final = 0.95
FILAMENT_SLACK: Final = 0.01
CAP_VOLTAGE_SHARE: Final = 0.8
FUSE_STEADY_SHARE: Final = 0.25
FUSE_SWITCHING_SHARE: Final = 0.5
SWITCHINGS_PER_MINUTE: Final = 10.0
DISCHARGE_LIMIT_S: Final = SLOW_DISCHARGE_S
LIFE_YEARS: Final = 10.0
AMBIENT_C: Final = 40.0
HOURS_PER_YEAR: Final = 8766.0
BEST_COUNT: Final = 3
RANK_STEP: Final = 0.05
# Circuits simulated together (batched_figures). 128 took as long (the
# switch-on runs are cut into parts of analysis.INRUSH_CIRCUITS anyway) and
# doubled the peak of traced allocations (53 -> 102 MB).
BATCH: Final = 64

# The warnings that no rating can cure; the other three are implied by the criteria.
CIRCUIT_WARNINGS: Final = (
    "no_load",
    "incompatible_lamp",
    "led_dropout",
    "ghost_flash",
    "device_supply_low",
    "slow_discharge",
    "short_circuit",
)
# Margins that rank the qualifying circuits.
RANKED: Final = (
    "lamp_power",
    "cap_voltage",
    "fuse_steady",
    "fuse_switching",
    "discharge",
    "capacitor_life",
)
# What a circuit must pass: no warning, then a margin on each ranked figure.
CRITERIA: Final = ("warnings", *RANKED)

# What to change when nothing qualifies, by the criterion or warning that
# every combination failed.
ANOTHER_LAMP_TYPE: Final = "another_lamp_type"
MORE_LAMP_POWER: Final = "more_lamp_power"
LESS_LAMP_POWER: Final = "less_lamp_power"
LOWER_MAINS: Final = "lower_mains"
_ADVICE: Final = {
    "incompatible_lamp": ANOTHER_LAMP_TYPE,
    # A filament lamp never flashes: it has no driver to start.
    "ghost_flash": ANOTHER_LAMP_TYPE,
    # A larger driver drains the socket faster after switching off.
    "slow_discharge": MORE_LAMP_POWER,
    "discharge": MORE_LAMP_POWER,
    "led_dropout": LESS_LAMP_POWER,
    "lamp_power": LESS_LAMP_POWER,
    "fuse_steady": LESS_LAMP_POWER,
    "fuse_switching": LESS_LAMP_POWER,
    "capacitor_life": LESS_LAMP_POWER,
    "short_circuit": LESS_LAMP_POWER,
    # Even 630 V parts see too high a peak.
    "cap_voltage": LOWER_MAINS,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Stock:
    """The values to choose from (the defaults: the E-series ranges above)."""

    capacitances_uf: Sequence[float] = CAPACITANCES_UF
    cap_voltage_ratings_v: Sequence[float] = CAP_VOLTAGE_RATINGS_V
    fuse_resistances_ohm: Sequence[float] = FUSE_RESISTANCES_OHM
    fuse_power_ratings_w: Sequence[float] = FUSE_POWER_RATINGS_W
    bleed_resistances_ohm: Sequence[float | None] = BLEED_RESISTANCES_OHM

    @property
    def combinations(self) -> int:
        """How many parts combinations the stock allows."""
        return (
            len(self.capacitances_uf)
            * len(self.cap_voltage_ratings_v)
            * len(self.fuse_resistances_ohm)
            * len(self.fuse_power_ratings_w)
            * len(self.bleed_resistances_ohm)
        )

    def circuits(self) -> Iterator[tuple[float, float, float | None]]:
        """Each distinct circuit: capacitance, fuse resistance, bleed resistance."""
        for cap in self.capacitances_uf:
            for fuse in self.fuse_resistances_ohm:
                for bleed in self.bleed_resistances_ohm:
                    yield cap, fuse, bleed


@dataclass(frozen=True, slots=True, kw_only=True)
class Demands:
    """What the parts must stand: ambient temperature, years, the capacitor's datasheet."""

    ambient_c: float = AMBIENT_C
    life_years: float = LIFE_YEARS
    switchings_per_minute: float = SWITCHINGS_PER_MINUTE
    cap_rated_life_h: float | None = None
    cap_rated_temp_c: float | None = None
    cap_rated_ripple_a: float | None = None
    fuse_time_constant_s: float | None = None


@dataclass(slots=True)
class _Judged:
    """One combination: its parts, figures, margins and the criteria it failed."""

    parts: dict[str, Any]
    figures: Mapping[str, Any]
    margins: dict[str, float | None]
    failed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


type Figures = dict[str, Any]
type MapFn = Callable[
    [Callable[[Mapping[str, Any]], Figures], Iterable[Mapping[str, Any]]], Iterable[Figures]
]


def circuit_figures(scenario: Mapping[str, Any], stock: Stock, demands: Demands) -> Figures:
    """
    Return simulate()'s figures for one circuit of the sweep, the inrush only where it decides.

    The switch-on run is left out (its three figures null) where every rating
    already fails another criterion; with it the result equals simulate(scenario).
    """
    return solve(
        parse_scenario(scenario),
        inrush_wanted=lambda sc, out: _may_qualify(sc, out, stock, demands),
    )


def batched_figures(
    scenarios: Iterable[Mapping[str, Any]], stock: Stock, demands: Demands
) -> Iterator[Figures]:
    """
    circuit_figures() of each scenario, BATCH circuits at a time in one simulate batch.

    The same figures as one at a time (figures.solve_many); the batches are
    bounded so that the open state's recorded tables stay some 15 MB.
    """
    wanted = partial(_may_qualify, stock=stock, demands=demands)
    chunk: list[Scenario] = []
    for scenario in scenarios:
        chunk.append(parse_scenario(scenario))
        if len(chunk) == BATCH:
            yield from solve_many(chunk, inrush_wanted=wanted)
            chunk = []
    if chunk:
        yield from solve_many(chunk, inrush_wanted=wanted)


def circuit_scenario(
    base: Mapping[str, Any], cap_uf: float, fuse_ohm: float, bleed_ohm: float | None
) -> dict[str, Any]:
    """Return the base scenario with these parts, new and intact (the highest ratings)."""
    scenario = copy.deepcopy(dict(base))
    smoothing = dict(scenario.get("smoothing", {}))
    smoothing.update(
        capacitance_uf=cap_uf,
        fuse_resistance_ohm=fuse_ohm,
        bleed_resistance_ohm=bleed_ohm,
        voltage_rating_v=max(CAP_VOLTAGE_RATINGS_V),
        fuse_power_rating_w=max(FUSE_POWER_RATINGS_W),
        fuse_blown=False,
    )
    scenario["smoothing"] = smoothing
    # Recommend for a new, correctly built adaptor.
    scenario.pop("faults", None)
    return scenario


def _may_qualify(sc: Scenario, out: Mapping[str, Any], stock: Stock, demands: Demands) -> bool:
    """
    Whether some rating could pass every criterion but fuse_switching, before the open cycle.

    simulate() runs the open cycle after the inrush (and the solver's cached
    step matrices make the last bits depend on the order), so the inrush is
    decided on first, taking the open cycle's two warnings (the relay's
    supply and the breaker with the relay open) as passed: at worst an
    inrush runs that was not needed.
    """
    closed_only = {
        **out,
        "off_source_current_rms_a": 0.0,
        "off_device_supply_min_v": math.inf,
    }
    worst = out["source_current_rms_a"]
    closed_only["breaker_trip"] = bool(worst >= BREAKER_TRIP_FACTOR * sc.mains.breaker_a)
    closed_only["warnings"] = _warnings(sc, closed_only)
    parts = (
        sc.smoothing.capacitance_uf,
        sc.smoothing.fuse_resistance_ohm,
        sc.smoothing.bleed_resistance_ohm,
    )
    return any(not j.failed for j in _judge_circuit(sc, parts, closed_only, stock, demands))


def _upper(value: float, limit: float) -> float:
    """Margin of a value that must stay at or under limit."""
    return 1.0 - value / limit


def fuse_switching_heat_j(
    figures: Mapping[str, Any], spec: FuseSpec, switchings_per_minute: float
) -> float:
    """
    Heat in the fusible resistor with the relay closing that often, in the periodic limit.

    Conservative on both parts: the steady power as if the relay never
    opened, and each closing's mean inrush energy added at its peak (just
    after a closing), E / (1 - exp(-dt / tau)).
    """
    interval = 60.0 / switchings_per_minute
    energy = max(float(figures["inrush_fuse_energy_mean_j"]), 0.0)
    heat = FuseHeat(
        steady_j=max(float(figures["fuse_power_w"]), 0.0) * spec.time_constant_s,
        switching_j=energy / -math.expm1(-interval / spec.time_constant_s),
    )
    return heat.total_j


def capacitor_life_h(
    figures: Mapping[str, Any], sc: Scenario, cap_uf: float, demands: Demands
) -> float:
    """Life of the capacitor at the demanded ambient with its ESR heat (ageing.CapacitorSpec)."""
    spec = _capacitor_spec(sc, cap_uf, demands)
    core = spec.core_temperature_c(demands.ambient_c, float(figures["cap_esr_power_w"]))
    return spec.life_h(core)


def _capacitor_spec(sc: Scenario, cap_uf: float, demands: Demands) -> CapacitorSpec:
    extra = {
        name: value
        for name, value in (
            ("rated_life_h", demands.cap_rated_life_h),
            ("rated_temp_c", demands.cap_rated_temp_c),
            ("rated_ripple_a", demands.cap_rated_ripple_a),
        )
        if value is not None
    }
    return CapacitorSpec(capacitance_uf=cap_uf, esr_ohm=sc.smoothing.esr_ohm, **extra)


def _fuse_spec(rating_w: float, demands: Demands) -> FuseSpec:
    if demands.fuse_time_constant_s is None:
        return FuseSpec(power_rating_w=rating_w)
    return FuseSpec(power_rating_w=rating_w, time_constant_s=demands.fuse_time_constant_s)


def filament_score(ratio: float) -> float:
    """How close a filament lamp's power ratio is to 1 (over counts as far as under)."""
    if ratio <= 0.0:
        return 0.0
    return min(ratio, 1.0 / ratio)


def _judge_circuit(
    sc: Scenario,
    parts: tuple[float, float, float | None],
    figures: Mapping[str, Any],
    stock: Stock,
    demands: Demands,
) -> list[_Judged]:
    """Judge every rating of one simulated circuit (lamp_power for filaments: later)."""
    cap_uf, fuse_ohm, bleed_ohm = parts
    warnings = [code for code in figures["warnings"] if code in CIRCUIT_WARNINGS]
    led = sc.lamp.type == "led"
    ratio = float(figures["lamp_power_ratio"])
    discharge = figures["discharge_time_s"]
    life_h = capacitor_life_h(figures, sc, cap_uf, demands)
    common: dict[str, float | None] = {
        # An LED driver gets its full power until it drops out: the margin is
        # how far the lamp voltage's low point stays above the driver's stop.
        "lamp_power": float(figures["lamp_v_min"]) / sc.lamp.led_stop_v - 1.0 if led else None,
        "discharge": None if discharge is None else _upper(discharge, DISCHARGE_LIMIT_S),
        "capacitor_life": life_h / (demands.life_years * HOURS_PER_YEAR) - 1.0,
    }
    out = []
    for rating_v in stock.cap_voltage_ratings_v:
        for rating_w in stock.fuse_power_ratings_w:
            spec = _fuse_spec(rating_w, demands)
            margins = dict(common)
            margins["cap_voltage"] = _upper(
                float(figures["cap_voltage_max_v"]), CAP_VOLTAGE_SHARE * rating_v
            )
            margins["fuse_steady"] = _upper(
                float(figures["fuse_power_w"]), FUSE_STEADY_SHARE * rating_w
            )
            margins["fuse_switching"] = (
                None
                if figures["inrush_fuse_energy_mean_j"] is None
                else _upper(
                    fuse_switching_heat_j(figures, spec, demands.switchings_per_minute),
                    FUSE_SWITCHING_SHARE * spec.opening_heat_j,
                )
            )
            judged = _Judged(
                parts={
                    "capacitance_uf": cap_uf,
                    "voltage_rating_v": rating_v,
                    "fuse_resistance_ohm": fuse_ohm,
                    "fuse_power_rating_w": rating_w,
                    "bleed_resistance_ohm": bleed_ohm,
                },
                figures=figures,
                margins=margins,
                warnings=warnings,
            )
            judged.failed = [
                name
                for name in CRITERIA
                if (name == "warnings" and warnings)
                or (name == "discharge" and discharge is None)
                or (name == "lamp_power" and led and ratio < LED_POWER_RATIO)
                or (name != "lamp_power" and (m := margins.get(name)) is not None and m < 0.0)
            ]
            out.append(judged)
    return out


def _judge_filament(judged: list[_Judged]) -> None:
    """Judge a filament lamp's power against the best among the otherwise qualifying."""
    scores = [filament_score(float(j.figures["lamp_power_ratio"])) for j in judged]
    candidates = [s for s, j in zip(scores, judged, strict=True) if not j.failed]
    if not candidates:
        for j, score in zip(judged, scores, strict=True):
            j.margins["lamp_power"] = score - 1.0
        return
    best = max(candidates)
    floor = best - FILAMENT_SLACK
    for j, score in zip(judged, scores, strict=True):
        j.margins["lamp_power"] = score / floor - 1.0
        if score < floor:
            j.failed.insert(1 if "warnings" in j.failed else 0, "lamp_power")


def _weakest_first(j: _Judged) -> tuple[list[float], list[float]]:
    """
    Rank by the weakest margin, then the next weakest, and so on.

    Margins within RANK_STEP of each other count as equal at first: every
    450 V capacitor on 230 V mains has a voltage margin of 0.10 to 0.11, and
    which one is a thousandth higher says nothing; the next margin decides.
    """
    exact = sorted(m if (m := j.margins[name]) is not None else -math.inf for name in RANKED)
    return [math.floor(m / RANK_STEP) if math.isfinite(m) else -math.inf for m in exact], exact


def _circuit_key(j: _Judged) -> tuple[Any, ...]:
    p = j.parts
    return (p["capacitance_uf"], p["fuse_resistance_ohm"], p["bleed_resistance_ohm"])


def _first_per_circuit(judged: Iterable[_Judged]) -> list[_Judged]:
    """Keep each circuit's first combination, in the given order."""
    chosen: dict[tuple[Any, ...], _Judged] = {}
    for j in judged:
        chosen.setdefault(_circuit_key(j), j)
    return list(chosen.values())


def _cost(j: _Judged) -> tuple[float, float]:
    return (j.parts["voltage_rating_v"], j.parts["fuse_power_rating_w"])


def _entry(j: _Judged) -> dict[str, Any]:
    f = j.figures
    return {
        **j.parts,
        "margins": dict(j.margins),
        "failed": list(j.failed),
        "warnings": list(j.warnings),
        "figures": {
            key: f[key]
            for key in (
                "lamp_power_ratio",
                "lamp_v_min",
                "lamp_ripple_pct",
                "cap_voltage_max_v",
                "cap_esr_power_w",
                "fuse_power_w",
                "inrush_fuse_energy_mean_j",
                "discharge_time_s",
            )
        },
    }


def _shortfall(j: _Judged) -> float:
    """How far the combination misses, on its worst failed margin (a warning: infinitely)."""
    worst = 0.0
    for name in j.failed:
        m = j.margins.get(name)
        worst = min(worst, -math.inf if name == "warnings" or m is None else m)
    return worst


def _advice(judged: Sequence[_Judged], sc: Scenario) -> list[dict[str, Any]]:
    """Say what to change, from what every combination failed (or the nearest misses)."""
    failing: set[str] = set(CRITERIA) | set(CIRCUIT_WARNINGS)
    for j in judged:
        failing &= set(j.failed) | set(j.warnings)
    if not failing:
        # No single criterion blocks: the nearest misses say what does.
        best = min(len(j.failed) for j in judged)
        failing = {
            name for j in judged if len(j.failed) == best for name in (*j.failed, *j.warnings)
        }
    changes: dict[str, list[str]] = {}
    order = (*CRITERIA, *CIRCUIT_WARNINGS)
    for name in sorted(failing, key=order.index):
        if name == "warnings":
            continue
        change = _ADVICE.get(name)
        if name == "no_load":
            no_lamp = sc.lamp.type in {"none", "capacitive_dropper"}
            change = ANOTHER_LAMP_TYPE if no_lamp else MORE_LAMP_POWER
        if change is not None:
            changes.setdefault(change, []).append(name)
    return [{"change": change, "because": why} for change, why in changes.items()]


def recommend(
    base: Mapping[str, Any],
    *,
    stock: Stock | None = None,
    demands: Demands | None = None,
    map_fn: MapFn | None = None,
) -> dict[str, Any]:
    """
    Judge every stocked parts combination for the base scenario's lamps and mains.

    base: a scenario (docs/model.md); its smoothing values and faults are
    replaced by each candidate's, everything else (lamp, mains, cable, relay,
    the capacitor's ESR) is kept. Raises ScenarioError naming the field.
    map_fn maps a function over the circuits' scenarios, in order (default:
    batched_figures, BATCH circuits per simulation batch; a caller may
    spread them over processes instead).
    """
    stock = stock or Stock()
    demands = demands or Demands()
    sc = parse_scenario(circuit_scenario(base, 15.0, 4.7, None))
    _check_demands(demands)
    started = time.perf_counter()
    judged: list[_Judged] = []
    circuits = list(stock.circuits())
    rated = sc.lamp.count * sc.lamp.power_w
    no_load = sc.lamp.type in {"none", "capacitive_dropper"} or rated < NO_LOAD_W
    simulated = inrush_runs = 0
    if no_load:
        # The no_load warning reads the lamp only: every combination has it.
        code = "incompatible_lamp" if sc.lamp.type == "capacitive_dropper" else "no_load"
        result = _empty(stock, sc, code)
    else:
        scenarios = (circuit_scenario(base, *parts) for parts in circuits)
        runs = (
            batched_figures(scenarios, stock, demands)
            if map_fn is None
            else map_fn(partial(circuit_figures, stock=stock, demands=demands), scenarios)
        )
        for parts, figures in zip(circuits, runs, strict=True):
            judged.extend(_judge_circuit(sc, parts, figures, stock, demands))
            simulated += 1
            inrush_runs += figures["inrush_fuse_energy_mean_j"] is not None
        if sc.lamp.type != "led":
            _judge_filament(judged)
        result = _summary(judged, stock, sc)
    result["circuits_simulated"] = simulated
    result["inrush_runs"] = inrush_runs
    result["elapsed_s"] = time.perf_counter() - started
    return result


def _check_demands(demands: Demands) -> None:
    for name in (
        "ambient_c",
        "life_years",
        "switchings_per_minute",
        "cap_rated_life_h",
        "cap_rated_temp_c",
        "cap_rated_ripple_a",
        "fuse_time_constant_s",
    ):
        value = getattr(demands, name)
        if value is None:
            continue
        if not math.isfinite(value):
            raise ScenarioError(name, "must be finite")
        if name not in {"ambient_c", "cap_rated_temp_c"} and value <= 0.0:
            raise ScenarioError(name, "must be positive")


def _empty(stock: Stock, sc: Scenario, code: str) -> dict[str, Any]:
    total = stock.combinations
    lost = dict.fromkeys(CRITERIA, 0)
    lost["warnings"] = total
    warnings = dict.fromkeys(CIRCUIT_WARNINGS, 0)
    warnings["no_load"] = total
    if code == "incompatible_lamp":
        warnings[code] = total
    change = (
        ANOTHER_LAMP_TYPE if sc.lamp.type in {"none", "capacitive_dropper"} else MORE_LAMP_POWER
    )
    return {
        "combinations": total,
        "qualifying": 0,
        "best": [],
        "lost": lost,
        "lost_warnings": warnings,
        "best_losers": [],
        "advice": [{"change": change, "because": ["no_load"]}],
    }


def _summary(judged: list[_Judged], stock: Stock, sc: Scenario) -> dict[str, Any]:
    passing = [j for j in judged if not j.failed]
    # Each circuit with its lowest passing ratings: higher ones only cost more.
    ranked = sorted(
        _first_per_circuit(sorted(passing, key=_cost)), key=_weakest_first, reverse=True
    )
    lost = dict.fromkeys(CRITERIA, 0)
    lost_warnings = dict.fromkeys(CIRCUIT_WARNINGS, 0)
    for j in judged:
        for name in j.failed:
            lost[name] += 1
        for code in j.warnings:
            lost_warnings[code] += 1
    # The nearest misses: fewest failed criteria, then the smallest shortfall.
    losers = _first_per_circuit(
        sorted(
            (j for j in judged if j.failed),
            key=lambda j: (len(j.failed), -_shortfall(j), _cost(j)),
        )
    )
    return {
        "combinations": stock.combinations,
        "qualifying": len(passing),
        "best": [_entry(j) for j in ranked[:BEST_COUNT]],
        "lost": lost,
        "lost_warnings": lost_warnings,
        "best_losers": [_entry(j) for j in losers[:BEST_COUNT]],
        "advice": [] if passing else _advice(judged, sc),
    }
