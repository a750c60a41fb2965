"""simulate(): every figure and warning of docs/model.md from the analysis runs."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from .analysis import (
    DISCHARGE_V,
    PRECHARGE,
    Discharge,
    Envelope,
    EnvelopeJob,
    Inrush,
    InrushJob,
    SteadyCycle,
    closed_steady,
    discharge_time,
    envelope_many,
    ghost_cycle,
    inrush_many,
    lamp_state,
    open_steady,
    refine_roots,
    source_current,
)
from .elements import (
    CAP_BULK,
    F64,
    REC_ICAP,
    REC_LEDON,
    REC_NODES,
    REC_PLAMP,
    REC_VBULK,
    REC_VCAP,
    REC_VLAMP,
    SHORT_OHM,
    Circuit,
    L,
)
from .params import Scenario, parse_scenario
from .solver import Solver, State

RESULT_KEYS: Final = (
    "lamp_v_mean",
    "lamp_v_min",
    "lamp_v_max",
    "lamp_ripple_pct",
    "lamp_power_w",
    "lamp_power_ratio",
    "led_dropout",
    "cap_ripple_current_rms_a",
    "cap_esr_power_w",
    "cap_voltage_max_v",
    "fuse_power_w",
    "device_supply_min_v",
    "device_supply_ok",
    "off_leakage_current_a",
    "off_lamp_v",
    "ghost_flash",
    "ghost_flash_period_s",
    "inrush_peak_a",
    "inrush_fuse_energy_j",
    "inrush_fuse_energy_mean_j",
    "discharge_time_s",
    "source_current_rms_a",
    "source_current_peak_a",
    "source_power_w",
    "off_source_current_rms_a",
    "off_source_power_w",
    "off_device_supply_min_v",
    "breaker_trip",
    "warnings",
)
WARNING_CODES: Final = (
    "no_load",
    "incompatible_lamp",
    "led_dropout",
    "ghost_flash",
    "fuse_overstress",
    "cap_overvoltage",
    "device_supply_low",
    "slow_discharge",
    "short_circuit",
    "fuse_blows",
)
MEAN_PHASES: Final = tuple(float(p) for p in range(0, 360, 10))
NO_LOAD_W: Final = 3.0
SLOW_DISCHARGE_S: Final = 5.0
# IEC 60898's conventional tripping current, in multiples of the rated current.
BREAKER_TRIP_FACTOR: Final = 1.45
# A fusible resistor opens within a minute at this multiple of its rated power.
FUSE_BLOW_FACTOR: Final = 20.0
MIN_MEAN_V: Final = 1e-9


def _closed_figures(sc: Scenario, c: Circuit, steady: SteadyCycle) -> dict[str, Any]:
    rec = steady.rec
    v = rec[:, REC_VLAMP]
    out: dict[str, Any] = {}
    mean = steady.mean(v)
    out["lamp_v_mean"] = mean
    out["lamp_v_min"] = float(v.min())
    out["lamp_v_max"] = float(v.max())
    # A lamp node that sits at 0 V has no ripple worth a percentage.
    out["lamp_ripple_pct"] = (
        (out["lamp_v_max"] - out["lamp_v_min"]) / mean * 100.0 if mean > MIN_MEAN_V else 0.0
    )
    power = steady.mean(rec[:, REC_PLAMP])
    out["lamp_power_w"] = power
    rated = sc.lamp.count * sc.lamp.power_w
    out["lamp_power_ratio"] = power / rated if sc.lamp.type in {"led", "resistive"} else 0.0
    out["led_dropout"] = bool(sc.lamp.type == "led" and rec[:, REC_LEDON].min() < 0.5)  # noqa: PLR2004
    i2 = steady.mean(rec[:, REC_ICAP] ** 2) if c.has_branch else 0.0
    out["cap_ripple_current_rms_a"] = math.sqrt(i2)
    out["cap_esr_power_w"] = i2 * c.r_esr
    if not c.has_branch:
        out["cap_voltage_max_v"] = 0.0
    elif c.cap_shorted:
        # The "capacitor" is a resistor: its voltage is its current through it.
        out["cap_voltage_max_v"] = float(np.abs(rec[:, REC_ICAP]).max()) * SHORT_OHM
    else:
        out["cap_voltage_max_v"] = float(np.abs(rec[:, REC_VCAP]).max())
    out["fuse_power_w"] = i2 * c.r_fuse
    out["device_supply_min_v"] = float(rec[:, REC_VBULK].min())
    out["device_supply_ok"] = bool(out["device_supply_min_v"] >= sc.device.min_input_v)
    rms, peak, power = _source_figures(c, steady)
    out["source_current_rms_a"] = rms
    out["source_current_peak_a"] = peak
    out["source_power_w"] = power
    return out


def _source_figures(c: Circuit, cycle: SteadyCycle) -> tuple[float, float, float]:
    """Return the RMS and peak source current and the mean power into L over a steady cycle."""
    i_src = source_current(c, cycle.rec, cycle.times)
    rms = math.sqrt(cycle.mean(i_src * i_src))
    power = cycle.mean(cycle.rec[:, REC_NODES + L] * i_src)
    return rms, float(np.abs(i_src).max()), power


def _off_supply_figures(
    solver: Solver, env: Envelope, bulk: float, lit: State | None
) -> dict[str, Any]:
    """Return the open cycle's draw from the mains and the relay's lowest supply voltage."""
    c = solver.c
    if lit is not None:
        cycle = open_steady(solver, lit, led_enabled=True)
    else:
        cycle = open_steady(solver, lamp_state(np.array([_open_lamp_side(c, env)]), bulk))
    rms, _, power = _source_figures(c, cycle)
    return {
        "off_source_current_rms_a": rms,
        "off_source_power_w": power,
        "off_device_supply_min_v": float(cycle.rec[:, REC_VBULK].min()),
    }


def _open_figures(
    solver: Solver, sc: Scenario, env: Envelope, bulk: float, discharge: Discharge
) -> dict[str, Any]:
    c = solver.c
    root = env.root()
    is_led = sc.lamp.type == "led"
    ghost = is_led and (root is None or root >= c.led_start)
    out: dict[str, Any] = {"ghost_flash": bool(ghost), "ghost_flash_period_s": None}
    if discharge.lit is not None:
        # Lit with the relay open: it glows steadily, with no flash period.
        out["ghost_flash"] = True
        out["off_lamp_v"] = discharge.lit_mean_v
    elif ghost:
        cycle = ghost_cycle(solver, env, bulk)
        out["off_lamp_v"] = cycle.peak_v
        out["ghost_flash_period_s"] = cycle.period_s
    else:
        out["off_lamp_v"] = env.mean_at(0.0 if root is None else root)
    return out


def _warnings(sc: Scenario, out: Mapping[str, Any]) -> list[str]:
    rated = sc.lamp.count * sc.lamp.power_w
    lamp_type = sc.lamp.type
    raised = {
        "no_load": lamp_type in {"none", "capacitive_dropper"} or rated < NO_LOAD_W,
        "incompatible_lamp": lamp_type == "capacitive_dropper",
        "led_dropout": bool(out["led_dropout"]),
        "ghost_flash": bool(out["ghost_flash"]),
        "fuse_overstress": out["fuse_power_w"] > 0.5 * sc.smoothing.fuse_power_rating_w,
        "cap_overvoltage": out["cap_voltage_max_v"] > 0.9 * sc.smoothing.voltage_rating_v,
        "device_supply_low": not out["device_supply_ok"]
        or out["off_device_supply_min_v"] < sc.device.min_input_v,
        "slow_discharge": out["discharge_time_s"] is None
        or out["discharge_time_s"] > SLOW_DISCHARGE_S,
        "short_circuit": bool(out["breaker_trip"]),
        "fuse_blows": out["fuse_power_w"] >= FUSE_BLOW_FACTOR * sc.smoothing.fuse_power_rating_w,
    }
    return [code for code in WARNING_CODES if raised[code]]


def _faulted_bulk(solver: Solver, env: Envelope, bulk: float) -> float:
    """
    Return a faulted adaptor's bulk voltage with the relay open, from open cycles.

    As designed, the relay's bulk capacitor sits at about the same level with
    the contact open as closed. A fault can make it a voltage doubler when
    closed (Dc shorted: twice the peak) or tie the lamp side to the relay's
    supply (Da shorted), so the bulk voltage at the start of an open cycle is
    taken from open cycles: from 0.9 of the peak at most (a peak recharges it
    from below within a cycle; from above it would drain for seconds). The
    open state's table is then made again at that voltage, and, where a
    fault clamps the lamp side near a diode drop (D(V) bending sharply
    between two points), finely in the interval that holds its root.
    """
    c = solver.c
    seed = min(bulk, PRECHARGE * c.v_peak) if bulk > c.v_peak else bulk
    cycle = open_steady(solver, lamp_state(np.array([_open_lamp_side(c, env)]), seed))
    return float(cycle.state.caps[0, CAP_BULK])


def _open_lamp_side(c: Circuit, env: Envelope) -> float:
    """Return the open cycle's lamp side, the driver held off (at most its start voltage)."""
    root = env.root()
    lamp_side = c.led_start if root is None else root
    return min(lamp_side, c.led_start) if c.p_led > 0.0 else lamp_side


INRUSH_KEYS: Final = ("inrush_peak_a", "inrush_fuse_energy_j", "inrush_fuse_energy_mean_j")


@dataclass(slots=True)
class _Job:
    """One scenario of solve_many between its stages."""

    sc: Scenario
    solver: Solver
    steady: SteadyCycle
    out: dict[str, Any]
    bulk: float
    extra: list[float]
    env: Envelope | None = None
    discharge: Discharge | None = None

    @property
    def top(self) -> float:
        """The open state's table reaches up to here."""
        return 2.05 * self.solver.c.v_peak

    def envelope_job(self, extra: list[float]) -> EnvelopeJob:
        """Return the open-state table to make at the job's bulk voltage."""
        return EnvelopeJob(self.solver, self.top, self.bulk, np.array(extra))


def _start(sc: Scenario) -> _Job:
    """Solve the closed steady cycle and its figures."""
    c = Circuit.from_scenario(sc)
    solver = Solver(c)
    steady = closed_steady(solver)
    out = _closed_figures(sc, c, steady)
    extra = [DISCHARGE_V]
    if sc.lamp.type == "led":
        extra += [c.led_stop, c.led_start]
    return _Job(sc, solver, steady, out, out["device_supply_min_v"], extra)


def _envelopes(jobs: Sequence[_Job]) -> None:
    """Make every job's open-state table, the faulted ones' again at their open bulk voltage."""
    for job, env in zip(jobs, envelope_many([j.envelope_job(j.extra) for j in jobs]), strict=True):
        job.env = env
    faulted = [job for job in jobs if not job.solver.c.nominal]
    for job in faulted:
        assert job.env is not None  # noqa: S101
        job.bulk = _faulted_bulk(job.solver, job.env, job.bulk)
    again = [job.envelope_job(job.extra) for job in faulted]
    for job, env in zip(faulted, refine_roots(again, envelope_many(again)), strict=True):
        job.env = env


def _open_stage(job: _Job) -> None:
    """Solve the discharge and the open state's figures."""
    env = job.env
    assert env is not None  # noqa: S101
    out = job.out
    out["off_leakage_current_a"] = env.leakage_a
    job.discharge = discharge_time(job.solver, job.steady.state, env)
    out.update(_open_figures(job.solver, job.sc, env, job.bulk, job.discharge))
    out["discharge_time_s"] = job.discharge.time_s
    out.update(dict.fromkeys(INRUSH_KEYS))  # not known yet
    if not job.solver.c.has_branch:
        out.update(dict.fromkeys(INRUSH_KEYS, 0.0))


def _phases(sc: Scenario) -> F64:
    return np.array(sorted({*MEAN_PHASES, sc.relay.close_phase_deg}))


def _inrush_figures(job: _Job, result: Inrush) -> None:
    phases = result.phases
    k = int(np.searchsorted(phases, job.sc.relay.close_phase_deg))
    mean_idx = np.isin(phases, MEAN_PHASES)
    job.out["inrush_peak_a"] = float(result.peak_a[k])
    job.out["inrush_fuse_energy_j"] = float(result.excess_j[k])
    job.out["inrush_fuse_energy_mean_j"] = float(result.excess_j[mean_idx].mean())


def _finish(job: _Job) -> dict[str, Any]:
    """Solve the open cycle's draw from the mains, then the breaker and the warnings."""
    out, sc = job.out, job.sc
    assert job.env is not None  # noqa: S101
    assert job.discharge is not None  # noqa: S101
    out.update(_off_supply_figures(job.solver, job.env, job.bulk, job.discharge.lit))
    worst = max(out["source_current_rms_a"], out["off_source_current_rms_a"])
    out["breaker_trip"] = bool(worst >= BREAKER_TRIP_FACTOR * sc.mains.breaker_a)
    out["warnings"] = _warnings(sc, out)
    result_dict = {key: out[key] for key in RESULT_KEYS}
    _check_finite(result_dict)
    return result_dict


type InrushWanted = Callable[[Scenario, dict[str, Any]], bool]


def solve_many(
    scenarios: Sequence[Scenario], *, inrush_wanted: InrushWanted | None = None
) -> list[dict[str, Any]]:
    """
    Every figure for each validated scenario, the batched runs shared by all of them.

    The runs that step many members at once (the open state's tables, the
    switch-on at 36 phases: most of a simulation's time) take every
    scenario's members in one batch per mains period; the single-member runs
    (closed and open cycles, discharge, ghost cycle) go one scenario after
    another. Each member's every decision is its own (solver.Many), so a
    scenario's figures are the same alone or in any batch.

    `inrush_wanted`, given the closed and open figures (and the discharge
    time), may leave the switch-on run out (its three figures null): it is
    most of a simulation's time, and a sweep (circuit/recommend.py) needs it
    only where it can still decide.
    """
    jobs = [_start(sc) for sc in scenarios]
    _envelopes(jobs)
    for job in jobs:
        _open_stage(job)
    switched = [
        job
        for job in jobs
        if job.solver.c.has_branch and (inrush_wanted is None or inrush_wanted(job.sc, job.out))
    ]
    results = inrush_many([InrushJob(j.solver, _phases(j.sc), j.steady) for j in switched])
    for job, result in zip(switched, results, strict=True):
        _inrush_figures(job, result)
    return [_finish(job) for job in jobs]


def solve(sc: Scenario, *, inrush_wanted: InrushWanted | None = None) -> dict[str, Any]:
    """Every figure for a validated scenario (solve_many of one)."""
    return solve_many([sc], inrush_wanted=inrush_wanted)[0]


def _check_finite(result: Mapping[str, Any]) -> None:
    for key, value in result.items():
        if isinstance(value, float) and not math.isfinite(value):
            msg = f"{key} came out as {value}"
            raise ArithmeticError(msg)


def simulate(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a scenario and return every figure of docs/model.md as a JSON-safe dict."""
    return solve(parse_scenario(mapping))


def simulate_many(
    mappings: Sequence[Mapping[str, Any]], *, errors: bool = False
) -> list[dict[str, Any] | ArithmeticError]:
    """
    simulate() of each scenario, their batched runs shared (solve_many): the same figures.

    Every scenario is validated first (ScenarioError names the field of the
    first bad one). A scenario that cannot be solved raises ArithmeticError,
    or, with errors=True, has the error in its place while the others are
    solved: the batch is then solved again one scenario at a time (a
    member's figures do not depend on its batch).
    """
    scenarios = [parse_scenario(mapping) for mapping in mappings]
    try:
        return list(solve_many(scenarios))
    except ArithmeticError:
        if not errors or len(scenarios) == 1:
            raise
    out: list[dict[str, Any] | ArithmeticError] = []
    for sc in scenarios:
        try:
            out.append(solve(sc))
        except ArithmeticError as err:
            out.append(err)
    return out
