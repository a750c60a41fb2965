"""
The runs behind the figures: closed steady cycle, open state, inrush, discharge.

The open state is solved on its slow manifold: with the relay open the lamp
side (smoothing and LED input capacitors) changes by a fraction of a volt per
mains cycle while everything else settles within a cycle or two. One batched
run tabulates that per-cycle change D(V) over the lamp-side voltage; its root
is the periodic steady state (a one-dimensional shooting solve), and 1/D(V)
integrates into the ghost-flash recharge time and the slow part of the
discharge, which would otherwise take thousands of mains cycles to step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import numpy.typing as npt

from .elements import (
    BOOL,
    CAP_BULK,
    CAP_CABLE,
    CAP_LED,
    CAP_SMOOTH,
    CAPS,
    F64,
    REC_ICAP,
    REC_LEDON,
    REC_NODES,
    REC_PLAMP,
    REC_VBULK,
    REC_VCAP,
    REC_VLAMP,
    SWS,
    Circuit,
    L,
    P,
)
from .solver import (
    Controls,
    Many,
    Solver,
    State,
    Tally,
    grid,
    settled_state,
    zero_state,
)

STEPS_PER_CYCLE: Final = 400
# A shorted smoothing capacitor leaves the LED input capacitance alone on the
# lamp side, emptying into Rf and the ESR in some 17 us: the closed cycle's
# step is at most this share of that time constant (at 12.5 us the
# lamp side overshot past N by 3 mV, at 50 us by 0.11 V; at 6.25 us, 4 uV).
FAST_RC_SHARE: Final = 1 / 3
# The closed cycle steps over up to this many grid intervals between the
# conduction pulses (single.py's run_stretched).
QUIET_STRETCH: Final = 8
# The closed cycle starts from the capacitors charged to this fraction of the
# mains peak (closed_steady).
PRECHARGE: Final = 0.9
OPEN_STEPS_PER_CYCLE: Final = 25
# The open-relay runs (D(V) table, discharge, ghost drain) need no finer steps
# than this for their figures' tolerances.
ENVELOPE_STEPS_PER_CYCLE: Final = 100
# A faulted adaptor's lamp side can be charged by narrow pulses (Da shorted:
# the SW wire's dips through the relay's bridge); near its root D(V) is a
# small difference of two currents that needs finer steps: the refined root
# came out 4.164 V at T/100, 4.336 V at T/200, 4.380 V at T/400 and 4.391 V at
# T/800 (ngspice: 4.38 V at T/400, 4.391 V at T/800).
ROOT_STEPS_PER_CYCLE: Final = 400
# Points of each refinement of the interval that holds the root, ends included.
REFINE_POINTS: Final = 10
ROOT_ROUNDS: Final = 5
# An interval narrower than this (plus FIGURE_TOL of the root) needs no
# refinement: a lamp side that a fault drains within each cycle (the
# capacitor shorted) gives a table whose every point ends at 0.1 uV.
ROOT_FLOOR_V: Final = 1e-4
DISCHARGE_STEPS_PER_CYCLE: Final = 100
MAX_SETTLE_CYCLES: Final = 40
# Closed steady state: cycle-to-cycle change of every capacitor voltage, as a
# fraction of the mains peak.
SETTLE_TOL: Final = 2e-6
# ... or every figure's ingredients within this fraction (docs/model.md: 0.1 %).
FIGURE_TOL: Final = 1e-3
ENVELOPE_POINTS: Final = 14
# One open cycle from the preset lamp side and bulk voltages: a second one
# changed D(V), the leakage and the figures built on them by under 1e-5.
ENVELOPE_CYCLES: Final = 1
# A faulted adaptor can leave the SW wire floating (Db reversed: only the
# cable capacitance, leakage and a clamp at one peak hold it): its level is
# set at the first trough, so the table and the leakage come from the cycles
# after that.
FAULT_ENVELOPE_CYCLES: Final = 3
# Inrush: 0.1 us steps for 1 us after the closing (the LED input capacitor
# charges through the source's half ohm in about a microsecond), then growing
# by 1.3 per step back to the normal step; the smoothing capacitor's charging
# (some 10 to 100 us) is resolved by the trapezoid-integrated energy on that
# growing grid. With 1 us steps the peak and the energy came out 5 % and 4 %
# under ngspice's with a 2 uF smoothing capacitor, 0.7 % with 15 uF.
FINE_STEP_S: Final = 1e-7
FINE_STEPS: Final = 10
GROWTH: Final = 1.3
MIN_STEP_S: Final = 1e-9
INRUSH_CYCLES: Final = 10
# Circuits switched on together (each with its 36 closing phases): per member a
# step cost 3.3 to 4 us at 300 to 1,150 members, 7 to 9 us at 1,700 and more,
# where the batch's arrays outgrow the caches (scripts/bench_floor.py).
INRUSH_CIRCUITS: Final = 32
# Inrush: stop once the cycles left could change the excess energy by less than this.
ENERGY_TOL: Final = 1e-3
DISCHARGE_V: Final = 50.0
# The lamp side falling by less than this share of what the open state's table
# predicts over a cycle with the driver running throughout: the lamp is fed
# with the relay open (discharge_time).
LIT_SHARE: Final = 0.1
# Discharge of a faulted adaptor: the bulk voltage changing by less than this
# fraction per cycle has reached its open level.
BULK_SETTLED: Final = 1e-3
DISCHARGE_LIMIT_S: Final = 30.0
MAX_DIRECT_DISCHARGE_CYCLES: Final = 60
# Discharge: once the driver is off and the lamp side moves by less than this
# fraction per cycle, D(V) takes over from stepping.
SLOW_FRACTION: Final = 0.1


def flags(batch: int, *, closed: bool, hold: bool = False) -> Controls:
    """Give every member the same relay state and lamp hold."""
    return Controls(np.full(batch, closed), np.full(batch, hold))


@dataclass(frozen=True, slots=True)
class SteadyCycle:
    """One recorded mains cycle of the periodic steady state (closed relay)."""

    rec: F64  # (points, records) for the single member
    times: F64  # the points' times, 0 to one period (not evenly spaced)
    state: State  # the state at the cycle's end (source phase 0)
    cycles: int

    def mean(self, values: F64) -> float:
        """Mean over the cycle of a quantity sampled at the cycle's points."""
        return cycle_mean(self.times, values)


def cycle_mean(times: F64, values: F64) -> float:
    """Mean over times[0]..times[-1] of values sampled at times (trapezoid rule)."""
    return float(np.trapezoid(values, times) / (times[-1] - times[0]))


# Below these (V, A, W) a change is noise, not a drift: a capacitor with no
# load creeps up its diode's exponential by microamperes forever. The RMS
# current's is 0.1 uA: with Db shorted the lamp side (5.6 V, its bleed's
# 0.03 V of ripple) is recharged by a pulse at each peak of the short-circuit
# current, and approaches its level by a factor of 0.56 a cycle; at 10 uA
# the cycles stopped at the fifth, with the ripple 10 % over its settled value.
_METRIC_FLOORS: Final = np.array([1e-3, 1e-3, 1e-3, 1e-7, 1e-3, 1e-3, 1e-6, 0.0])


def _cycle_metrics(rec: F64, times: F64) -> F64:
    """Return the closed figures' raw ingredients, to compare consecutive cycles."""
    v = rec[:, 0, REC_VLAMP]
    i = rec[:, 0, REC_ICAP]
    return np.array(
        [
            cycle_mean(times, v),
            v.min(),
            v.max(),
            math.sqrt(cycle_mean(times, i * i)),
            float(np.abs(rec[:, 0, REC_VCAP]).max()),
            rec[:, 0, REC_VBULK].min(),
            cycle_mean(times, rec[:, 0, REC_PLAMP]),
            rec[:, 0, REC_LEDON].min(),
        ]
    )


def closed_steps(c: Circuit) -> int:
    """Return the closed cycle's steps, more than STEPS_PER_CYCLE where the lamp RC is short."""
    if not (c.cap_shorted and c.has_branch and c.c_led > 0.0):
        return STEPS_PER_CYCLE
    tau = c.c_led * c.r_branch
    return max(STEPS_PER_CYCLE, math.ceil(c.period / (FAST_RC_SHARE * tau)))


def closed_steady(
    solver: Solver, steps: int | None = None, stretch: int = QUIET_STRETCH
) -> SteadyCycle:
    """
    Step cycles from the capacitors precharged until two consecutive cycles agree.

    With the relay closed every capacitor is recharged at each peak, to a
    level set by that peak, not by where it started: from 90 % of the peak
    (below any level a peak charges to) the first cycle ends on the steady
    state, as from all-zero, but without the long first charging pulses. The
    second confirms it. With almost no load the capacitor creeps up its
    diode's exponential: there the cycle figures (not the capacitor voltages
    to the microvolt) decide, as the model's 0.1 % definition of the steady
    state says.
    """
    c = solver.c
    steps = steps or closed_steps(c)
    charged = PRECHARGE * c.v_peak
    state = lamp_state(np.array([charged]), charged)
    state.led_on[0] = c.p_led > 0.0 and charged > c.led_start
    tol = SETTLE_TOL * c.v_peak
    rec = at = None
    before: F64 | None = None
    cycle = grid(0.0, c.period, steps)
    for k in range(MAX_SETTLE_CYCLES):
        start = state.caps.copy()
        led_start = state.led_on.copy()
        state, rec, at = solver.run_stretched(state, cycle, relay=True, stretch=stretch)
        if k == 0 and _never_recharged(rec[:, 0, REC_VLAMP]):
            # A fault (a reversed or shorted diode, a shorted capacitor) can
            # hold the lamp side far below the peak: precharged, it would
            # only drain through the bleed for seconds. Start from all-zero.
            state = zero_state(1)
            continue
        metrics = _cycle_metrics(rec, at)
        same_flags = bool(np.all(state.led_on == led_start))
        # The lamp's ripple is what its recharge puts back: a lamp side still
        # short of its level by a share of a small ripple (Db shorted: 0.03 V)
        # overstates it by a like share.
        settled = min(tol, FIGURE_TOL * float(np.ptp(rec[:, 0, REC_VLAMP])))
        if k >= 1 and same_flags and np.all(np.abs(state.caps - start) < settled):
            break
        if (
            before is not None
            and same_flags
            and np.all(np.abs(metrics - before) <= FIGURE_TOL * np.abs(metrics) + _METRIC_FLOORS)
        ):
            break
        before = metrics
    assert rec is not None  # noqa: S101 - the loop runs at least once
    assert at is not None  # noqa: S101
    return SteadyCycle(rec[:, 0, :], at, state, k + 1)


def source_current(c: Circuit, rec: F64, times: F64) -> F64:
    """Return the mains source's current (into L) at one member's recorded points."""
    v_src = c.v_peak * np.sin(c.omega * times)
    return np.asarray((v_src - rec[:, REC_NODES + L]) * c.g_source, dtype=np.float64)


def open_steady(solver: Solver, state: State, *, led_enabled: bool = False) -> SteadyCycle:
    """
    Step open-relay cycles, the lamp side held near its steady level, until two agree.

    The lamp side barely moves in a cycle with the relay open (it is the slow
    variable that envelope() solves for): started on its steady level, only
    the relay's bulk capacitor and the cable settle, within a few cycles. The
    driver stays off unless the lamp is lit with the relay open: with a
    flashing lamp the source sees the relay's supply and the adaptor, not the
    lamp side's slow cycle.
    """
    c = solver.c
    cycle = grid(0.0, c.period, STEPS_PER_CYCLE)
    rec = at = None
    before: F64 | None = None
    cycles = 0
    while cycles < MAX_SETTLE_CYCLES:
        cycles += 1
        state, rec, at = solver.run_stretched(
            state, cycle, relay=False, stretch=QUIET_STRETCH, led_enabled=led_enabled
        )
        i_src = source_current(c, rec[:, 0, :], at)
        metrics = np.array(
            [
                rec[:, 0, REC_VBULK].min(),
                math.sqrt(cycle_mean(at, i_src * i_src)),
                cycle_mean(at, rec[:, 0, REC_NODES + L] * i_src),
            ]
        )
        if before is not None and np.all(
            np.abs(metrics - before) <= FIGURE_TOL * np.abs(metrics) + _OPEN_FLOORS
        ):
            break
        before = metrics
    assert rec is not None  # noqa: S101 - the loop runs at least once
    assert at is not None  # noqa: S101
    return SteadyCycle(rec[:, 0, :], at, state, cycles)


# Below these (V, A, W) a change between open cycles is noise.
_OPEN_FLOORS: Final = np.array([1e-3, 1e-7, 1e-5])


def _never_recharged(v_lamp: F64) -> bool:
    """Whether the lamp voltage only fell over a cycle: no pulse reached the precharged level."""
    return bool(v_lamp[1:].max() <= v_lamp[0] and v_lamp[0] > 0.0)


def _lamp_side(c: Circuit, caps: F64) -> F64:
    """Charge-weighted lamp-side voltage: the open state's slow variable."""
    c_s = c.smooth_capacitance
    total = c_s + c.c_led
    if total == 0.0:
        return caps[:, CAP_LED]
    return (c.c_led * caps[:, CAP_LED] - c_s * caps[:, CAP_SMOOTH]) / total


def lamp_state(batch_v: F64, bulk: float) -> State:
    """Members with the lamp side charged to batch_v and the bulk capacitor to bulk."""
    st = zero_state(len(batch_v))
    st.x[:, P] = -batch_v
    st.caps[:, CAP_LED] = batch_v
    # The smoothing capacitor's state is in node convention (X below N).
    st.caps[:, CAP_SMOOTH] = -batch_v
    st.caps[:, CAP_BULK] = bulk
    return st


@dataclass(frozen=True, slots=True)
class Envelope:
    """Per-cycle lamp-side change D(V) with the relay open and the driver off."""

    v: F64
    d: F64
    leakage_a: float
    mean_v: F64

    def mean_at(self, v: float) -> float:
        """Mean lamp voltage over the cycle that starts with the lamp side at v."""
        return float(np.interp(v, self.v, self.mean_v))

    def rate(self, v: F64) -> F64:
        """D at v, by piecewise-linear interpolation of the table."""
        return np.interp(v, self.v, self.d)

    def bracket(self) -> tuple[float, float] | None:
        """Return the table's interval that holds root(), if it lies between two points."""
        sign = np.flatnonzero((self.d[:-1] > 0.0) & (self.d[1:] <= 0.0))
        if len(sign) == 0:
            return None
        k = int(sign[0])
        return float(self.v[k]), float(self.v[k + 1])

    def merged(self, span: tuple[float, float], fine: Envelope) -> Envelope:
        """Return the table with its points in span (and in fine's span) replaced by fine's."""
        lo, hi = min(span[0], fine.v[0]), max(span[1], fine.v[-1])
        keep = (self.v < lo) | (self.v > hi)
        v = np.concatenate((self.v[keep], fine.v))
        order = np.argsort(v)
        return Envelope(
            v[order],
            np.concatenate((self.d[keep], fine.d))[order],
            self.leakage_a,
            np.concatenate((self.mean_v[keep], fine.mean_v))[order],
        )

    def root(self) -> float | None:
        """Lowest V where D changes sign from + to -: the open steady state."""
        sign = np.flatnonzero((self.d[:-1] > 0.0) & (self.d[1:] <= 0.0))
        if len(sign) == 0:
            return None if self.d[0] > 0.0 else 0.0
        k = int(sign[0])
        v0, v1, d0, d1 = self.v[k], self.v[k + 1], self.d[k], self.d[k + 1]
        return float(v0 + (v1 - v0) * d0 / (d0 - d1))


def envelope(solver: Solver, v_top: float, bulk: float, extra: F64 | None = None) -> Envelope:
    """Tabulate D(V) on [0, v_top] and measure the off-state leakage, in one run."""
    return envelope_many([EnvelopeJob(solver, v_top, bulk, extra)])[0]


@dataclass(frozen=True, slots=True)
class EnvelopeJob:
    """One circuit's D(V) table to make: its solver, the table's top, bulk voltage, extra points."""

    solver: Solver
    v_top: float
    bulk: float
    extra: F64 | None = None
    # Only these points, not the Chebyshev table (a root's refinement).
    points: F64 | None = None
    steps: int = ENVELOPE_STEPS_PER_CYCLE


def envelope_many(jobs: Sequence[EnvelopeJob]) -> list[Envelope]:
    """
    Tabulate D(V) and the off-state leakage of several circuits, in one batch per period and step.

    Each circuit's points are members of the same run; a faulted adaptor's
    take more cycles (FAULT_ENVELOPE_CYCLES), the others stop after theirs.
    """
    out: list[Envelope | None] = [None] * len(jobs)
    for steps in sorted({job.steps for job in jobs}):
        alike = [k for k, job in enumerate(jobs) if job.steps == steps]
        for group in _by_period([jobs[k].solver for k in alike]):
            picked = [alike[k] for k in group]
            for k, env in zip(picked, _envelope_group([jobs[k] for k in picked]), strict=True):
                out[k] = env
    return [env for env in out if env is not None]


def refine_roots(jobs: Sequence[EnvelopeJob], envs: Sequence[Envelope]) -> list[Envelope]:
    """
    Close in on each table's root: its interval tabulated again, finely stepped, until it settles.

    Each round tabulates REFINE_POINTS across the interval that holds the
    root at ROOT_STEPS_PER_CYCLE, in one batch for every table, and puts them
    in place of the table's points there. A table is done once its root lies
    between two of the last round's points and moved by under FIGURE_TOL.
    """
    out = list(envs)
    active = [k for k, env in enumerate(out) if not _root_known(env)]
    for _ in range(ROOT_ROUNDS):
        if not active:
            break
        spans = [out[k].bracket() for k in active]
        fine = [
            replace(jobs[k], points=np.linspace(*span, REFINE_POINTS), steps=ROOT_STEPS_PER_CYCLE)
            for k, span in zip(active, spans, strict=True)
            if span is not None
        ]
        still = []
        for k, span, table in zip(active, spans, envelope_many(fine), strict=True):
            assert span is not None  # noqa: S101 - active tables have a bracket
            before = out[k].root()
            merged = out[k].merged(span, table)
            if merged.bracket() is None:
                # The finer points lost the root altogether: numerical noise
                # in a flat table, not a sharper one; the table stays.
                continue
            out[k] = merged
            root, bracket = out[k].root(), out[k].bracket()
            if _root_known(out[k]) or root is None or bracket is None or before is None:
                continue
            inside = bracket[1] - bracket[0] <= float(np.diff(table.v).max()) * (1 + 1e-9)
            if not (inside and abs(root - before) <= FIGURE_TOL * abs(root)):
                still.append(k)
        active = still
    return out


def _root_known(env: Envelope) -> bool:
    """Whether the table has no root between two points, or one between two close enough."""
    bracket, root = env.bracket(), env.root()
    if bracket is None or root is None:
        return True
    return bracket[1] - bracket[0] <= FIGURE_TOL * abs(root) + ROOT_FLOOR_V


def _by_period(solvers: Sequence[Solver]) -> list[list[int]]:
    """Group the circuits by mains period (the runs' common time grid), in order."""
    groups: dict[float, list[int]] = {}
    for k, solver in enumerate(solvers):
        groups.setdefault(solver.c.period, []).append(k)
    return list(groups.values())


def _envelope_group(jobs: Sequence[EnvelopeJob]) -> list[Envelope]:
    solvers = [job.solver for job in jobs]
    many = Many(solvers)
    period = solvers[0].c.period
    pts = ENVELOPE_POINTS
    states, spans = [], []
    start = 0
    for job in jobs:
        # Chebyshev-spaced points are denser near 0 and v_top, where D bends most.
        v = 0.5 * job.v_top * (1.0 - np.cos(np.pi * np.arange(pts) / (pts - 1)))
        if job.points is not None:
            v = job.points
        elif job.extra is not None:
            v = np.sort(np.concatenate((v, job.extra)))
        states.append(lamp_state(np.concatenate((v, [0.0])), job.bulk))
        spans.append(np.arange(start, start + len(v) + 1))
        start += len(v) + 1
    state = join_states(states)
    members = np.concatenate([np.full(len(span), k, dtype=np.intp) for k, span in enumerate(spans)])
    hold = np.zeros(start, dtype=bool)
    hold[[span[-1] for span in spans]] = True
    times = grid(0.0, period, jobs[0].steps)
    cycles = [ENVELOPE_CYCLES if s.c.nominal else FAULT_ENVELOPE_CYCLES for s in solvers]
    v_start: list[F64] = [np.empty(0)] * len(jobs)
    recs: list[F64] = [np.empty(0)] * len(jobs)
    finals: list[State | None] = [None] * len(jobs)
    for k in range(max(cycles)):
        running = [j for j in range(len(jobs)) if cycles[j] > k]
        picked = np.concatenate([spans[j] for j in running])
        sub = state.take(picked) if len(running) < len(jobs) else state
        local = np.cumsum([0] + [len(spans[j]) for j in running])
        for n, j in enumerate(running):
            v_start[j] = _lamp_side(solvers[j].c, sub.caps[local[n] : local[n + 1]])
        ctl = Controls(np.zeros(len(picked), dtype=bool), hold[picked])
        sub, rec = many.run(sub, times, ctl, members[picked], record=True, led_enabled=False)
        assert rec is not None  # noqa: S101
        for n, j in enumerate(running):
            rows = np.arange(local[n], local[n + 1])
            if cycles[j] == k + 1:
                recs[j] = rec[:, rows, :]
                finals[j] = sub.take(rows)
        state = sub if len(running) == len(jobs) else state
        if len(running) < len(jobs):
            state = _put_state(state, picked, sub)
    envs = []
    for j, job in enumerate(jobs):
        c = job.solver.c
        rec, final = recs[j], finals[j]
        assert final is not None  # noqa: S101
        v_end = _lamp_side(c, final.caps)
        # Dc's current at the converged node voltages, not at Newton's last
        # linearisation point (up to NEWTON_TOL_V away, a per cent of a microampere).
        held = rec[:, -1, REC_NODES:]
        i_dc = np.abs(many.dc_current(held, many.params(np.full(len(held), j, dtype=np.intp))))
        leakage = float(np.trapezoid(i_dc, times) / c.period)
        order = np.argsort(v_start[j][:-1])
        mean_v: F64 = np.asarray(np.trapezoid(rec[:, :-1, REC_VLAMP], times, axis=0)) / c.period
        envs.append(
            Envelope(
                v_start[j][:-1][order],
                (v_end - v_start[j])[:-1][order],
                leakage,
                mean_v[order],
            )
        )
    return envs


def join_states(states: Sequence[State]) -> State:
    """Return one State holding the members of several, in order."""
    if len(states) == 1:
        return states[0]
    sizes = [len(st.x) for st in states]
    fresh = np.concatenate(
        [
            np.ones(n, dtype=bool)
            if st.caps_prev is None
            else (np.zeros(n, dtype=bool) if st.fresh is None else st.fresh)
            for n, st in zip(sizes, states, strict=True)
        ]
    )
    return settled_state(
        np.concatenate([st.x for st in states]),
        np.concatenate([st.caps for st in states]),
        np.concatenate([st.led_on for st in states]),
        np.concatenate([st.caps if st.caps_prev is None else st.caps_prev for st in states]),
        np.concatenate(
            [
                np.broadcast_to(np.asarray(st.h_prev, dtype=float), (n,))
                for n, st in zip(sizes, states, strict=True)
            ]
        ),
        np.concatenate(
            [
                np.zeros(n) if st.i_cap is None else st.i_cap
                for n, st in zip(sizes, states, strict=True)
            ]
        ),
        fresh,
    )


def _put_state(state: State, index: npt.NDArray[np.intp], sub: State) -> State:
    """Return state with the members at index replaced by sub's."""
    rest = np.setdiff1d(np.arange(len(state.x)), index)
    order = np.argsort(np.concatenate((index, rest)))
    joined = join_states([sub, state.take(rest)])
    return joined.take(order)


def integrate_time(
    env: Envelope, v_from: float, v_to: float, period: float, drain: float = 0.0
) -> float:
    """
    Seconds for the lamp side to move from v_from to v_to along the slow manifold.

    drain is the running driver's pull in volts per cycle at 1 V (its power
    times the period over the lamp side's capacitance): it takes drain/v off
    D(v) per cycle.
    """
    vv = np.linspace(v_from, v_to, 801)
    d = env.rate(vv) - drain / np.maximum(vv, 1e-9)
    if np.any(d * (v_to - v_from) <= 0.0):
        return math.inf
    return float(np.trapezoid(period / d, vv))


def driver_drain(c: Circuit) -> float:
    """Volts per cycle (at 1 V) that the running LED driver takes off the lamp side."""
    total = c.c_led + c.smooth_capacitance
    return c.p_led * c.period / total if total > 0.0 else 0.0


def manifold_time(c: Circuit, env: Envelope, v_from: float, v_to: float, *, on: bool) -> float:
    """Seconds from v_from down to v_to, the driver running until led_stop if on."""
    if not on:
        return integrate_time(env, v_from, v_to, c.period)
    stop = max(c.led_stop, v_to)
    if v_from <= stop:
        # The driver stops at once (or the level is already reached with it on).
        return integrate_time(env, v_from, v_to, c.period) if stop > v_to else 0.0
    drained = integrate_time(env, v_from, stop, c.period, driver_drain(c))
    if stop <= v_to:
        return drained
    return drained + integrate_time(env, stop, v_to, c.period)


def first_crossing(times: F64, values: F64, level: float) -> float | None:
    """Time at which values first falls below level (interpolated)."""
    below = np.flatnonzero(values < level)
    if len(below) == 0:
        return None
    k = int(below[0])
    if k == 0:
        return float(times[0])
    v0, v1 = values[k - 1], values[k]
    return float(times[k - 1] + (times[k] - times[k - 1]) * (v0 - level) / (v0 - v1))


def _fed(c: Circuit, env: Envelope, led_on: F64, v_before: float, v_now: float) -> bool:
    """
    Whether a running driver is fed with the relay open: its lamp side barely falls.

    The table says how fast the running driver drains the lamp side (its pull
    less D); a lamp side that falls by less than LIT_SHARE of that over a
    whole cycle with the driver on is held up by something the table does not
    see (Da reversed: the lamp's current returns through the relay's bridge).
    """
    if not bool(np.all(led_on > 0.5)) or v_now <= 0.0:  # noqa: PLR2004
        return False
    predicted = driver_drain(c) / v_now - float(env.rate(np.array([v_now]))[0])
    return predicted > 0.0 and v_before - v_now < LIT_SHARE * predicted


@dataclass(frozen=True, slots=True)
class Discharge:
    """
    The relay opened from the closed steady state.

    lit: the LED driver ran through a whole cycle with the lamp side not
    falling (a fault feeds the lamp with the relay open): the state at that
    cycle's end, and the lamp's mean voltage over it.
    """

    time_s: float | None
    lit: State | None = None
    lit_mean_v: float = 0.0


def discharge_time(solver: Solver, closed_end: State, env: Envelope) -> Discharge:
    """Open at phase 0 from the closed steady state: time until v_lamp < 50 V."""
    c = solver.c
    state = closed_end.take(np.array([0]))
    state.caps_prev = None
    ctl = flags(1, closed=False)
    t0 = 0.0
    for k in range(MAX_DIRECT_DISCHARGE_CYCLES):
        times = grid(t0, t0 + c.period, DISCHARGE_STEPS_PER_CYCLE)
        v_before = float(_lamp_side(c, state.caps)[0])
        bulk_before = float(state.caps[0, CAP_BULK])
        state, rec = solver.run(state, times, ctl, record=True)
        assert rec is not None  # noqa: S101
        hit = first_crossing(times, rec[:, 0, REC_VLAMP], DISCHARGE_V)
        if hit is not None:
            return Discharge(hit if hit <= DISCHARGE_LIMIT_S else None)
        t0 += c.period
        v_now = float(_lamp_side(c, state.caps)[0])
        if k >= 2 and _fed(c, env, rec[:, 0, REC_LEDON], v_before, v_now):  # noqa: PLR2004
            return Discharge(None, state, cycle_mean(times, rec[:, 0, REC_VLAMP]))
        # Slow: the rest follows the slow manifold, the driver running or not.
        # The manifold's table has the open state's bulk voltage: a faulted
        # adaptor's bulk capacitor (charged to twice the peak with Dc shorted)
        # drains to it first.
        bulk_now = float(state.caps[0, CAP_BULK])
        settled = c.nominal or abs(bulk_now - bulk_before) < BULK_SETTLED * abs(bulk_now)
        slow = abs(v_now - v_before) < SLOW_FRACTION * v_now
        if slow and settled and k >= 2:  # noqa: PLR2004
            break
    v_now = float(_lamp_side(c, state.caps)[0])
    rest = manifold_time(c, env, v_now, DISCHARGE_V, on=bool(state.led_on[0]))
    total = t0 + rest
    return Discharge(total if total <= DISCHARGE_LIMIT_S else None)


@dataclass(frozen=True, slots=True)
class GhostCycle:
    """The open state with the LED driver restarting: peak and period."""

    peak_v: float
    period_s: float | None


def ghost_cycle(solver: Solver, env: Envelope, bulk: float) -> GhostCycle:
    """Recharge from stop to start along D(V), plus the drain, stepped directly."""
    c = solver.c
    recharge = integrate_time(env, c.led_stop, c.led_start, c.period)
    d_start = float(env.rate(np.array([c.led_start]))[0])
    # Start half a cycle's rise below the threshold, so the driver starts
    # within the first cycle, as it would at a random phase.
    state = lamp_state(np.array([c.led_start - 0.5 * max(d_start, 0.0)]), bulk)
    ctl = flags(1, closed=False)
    started: float | None = None
    peak = 0.0
    t0 = 0.0
    v_before = 0.0
    for k in range(MAX_DIRECT_DISCHARGE_CYCLES):
        times = grid(t0, t0 + c.period, DISCHARGE_STEPS_PER_CYCLE)
        state, rec = solver.run(state, times, ctl, record=True)
        assert rec is not None  # noqa: S101
        on = rec[:, 0, REC_LEDON] > 0.5  # noqa: PLR2004
        v_lamp = rec[:, 0, REC_VLAMP]
        if started is None and on.any():
            first = int(np.argmax(on))
            started = float(times[first])
            peak = float(v_lamp[: first + 1].max())
        if started is not None and not bool(on[-1]):
            k_on = np.flatnonzero(on)
            stop_t = float(times[int(k_on[-1]) + 1]) if len(k_on) else float(times[0])
            return GhostCycle(peak, recharge + stop_t - started)
        t0 += c.period
        v_now = float(_lamp_side(c, state.caps)[0])
        # A slow drain (a small driver on a large capacitor) follows the slow
        # manifold with the driver's pull from here to its stop.
        if started is not None and k >= 2 and abs(v_now - v_before) < SLOW_FRACTION * v_now:  # noqa: PLR2004
            drain = manifold_time(c, env, v_now, c.led_stop, on=True)
            period = recharge + t0 - started + drain
            return GhostCycle(peak, period if math.isfinite(period) else None)
        v_before = v_now
    return GhostCycle(peak if started is not None else c.led_start, None)


def _after_closing_grid(period: float, steps: int) -> F64:
    """Return times since the closing over one cycle: fine, growing, then uniform steps."""
    h = period / steps
    pts = [FINE_STEP_S * j for j in range(FINE_STEPS + 1)]
    step = FINE_STEP_S
    while step * GROWTH < h:
        step *= GROWTH
        pts.append(pts[-1] + step)
    # The uniform rest, with no step more than about twice its predecessor
    # (BDF2's variable-step stability).
    rest = max(1, round((period - pts[-1]) / h))
    return np.concatenate((np.array(pts[:-1]), np.linspace(pts[-1], period, rest + 1)))


def _states_at(rec: F64, rows: npt.NDArray[np.intp]) -> State:
    """Rebuild the solver's state from recorded rows (one member each)."""
    picked = rec[rows, 0, :]
    x = picked[:, REC_NODES:].copy()
    caps = np.empty((len(rows), CAPS))
    caps[:, CAP_CABLE] = x[:, L] - x[:, SWS]
    caps[:, CAP_BULK] = picked[:, REC_VBULK]
    caps[:, CAP_LED] = -x[:, P]
    caps[:, CAP_SMOOTH] = -picked[:, REC_VCAP]
    return State(x, caps, picked[:, REC_LEDON] > 0.5, None, 0.0, -picked[:, REC_ICAP])  # noqa: PLR2004


def _steady_caps_at(steady: SteadyCycle, phases_t: F64) -> F64:
    """Interpolate the closed steady state's capacitor voltages at times of a cycle."""
    rec = steady.rec
    t = steady.times
    cols = {
        CAP_CABLE: rec[:, REC_NODES + L] - rec[:, REC_NODES + SWS],
        CAP_BULK: rec[:, REC_VBULK],
        CAP_LED: -rec[:, REC_NODES + P],
        CAP_SMOOTH: -rec[:, REC_VCAP],
    }
    out = np.empty((len(phases_t), CAPS))
    for k, col in cols.items():
        out[:, k] = np.interp(phases_t, t, col)
    return out


@dataclass(frozen=True, slots=True)
class Inrush:
    """Peak current in Rf and excess energy, per closing phase."""

    phases: F64
    peak_a: F64
    excess_j: F64


def inrush(solver: Solver, phases: F64, steady: SteadyCycle) -> Inrush:
    """Close at each phase after two open cycles from zero; follow 10 cycles (inrush_many)."""
    return inrush_many([InrushJob(solver, phases, steady)])[0]


@dataclass(frozen=True, slots=True)
class InrushJob:
    """One circuit's switch-on runs: its solver, closing phases and closed steady cycle."""

    solver: Solver
    phases: F64
    steady: SteadyCycle


@dataclass(slots=True)
class _Closing:
    """One circuit's switch-on members between the cycles of inrush_many."""

    job: InrushJob
    state: State
    offset: F64
    tally: Tally
    target: F64
    e_cycle: float
    done: int = 1
    last: F64 | None = None
    cycle_energy: F64 | None = None

    def finished(self) -> bool:
        """Whether every member is back on the closed steady state (or can change no more)."""
        c = self.job.solver.c
        if self.done >= INRUSH_CYCLES:
            return True
        tol = 1e-4 * c.v_peak
        # The cable capacitor follows the source within nanoseconds and swings
        # by volts per step, so interpolating its steady value says nothing.
        slow = [CAP_BULK, CAP_LED, CAP_SMOOTH]
        now = self.state.caps[:, slow]
        if np.all(np.abs(now - self.target[:, slow]) < tol):
            return True
        if self.last is not None and np.all(np.abs(now - self.last) < tol):
            return True
        if self.cycle_energy is not None:
            # A lightly loaded lamp side creeps up its diode's exponential for
            # many cycles at the steady energy: what the cycles left could
            # still change is what decides, as the figure's 0.1 % steady state.
            left_cycles = INRUSH_CYCLES - self.done
            excess = self.tally.energy + left_cycles * self.e_cycle - INRUSH_CYCLES * self.e_cycle
            left = left_cycles * np.abs(self.cycle_energy - self.e_cycle)
            if np.all(left <= ENERGY_TOL * np.maximum(np.abs(excess), self.e_cycle)):
                return True
        self.last = now
        return False

    def result(self) -> Inrush:
        """Return the figures: the cycles left in each member's window take the steady energy."""
        total = self.tally.energy + (INRUSH_CYCLES - self.done) * self.e_cycle
        return Inrush(self.job.phases, self.tally.peak, total - INRUSH_CYCLES * self.e_cycle)


def inrush_many(jobs: Sequence[InrushJob]) -> list[Inrush]:
    """
    Close each circuit at each of its phases after two open cycles from zero; follow 10 cycles.

    All members run on one grid of time since their closing (each sees its
    own source phase), so the microsecond steps after the closing are taken
    once for the whole batch: circuits of the same mains period, up to
    INRUSH_CIRCUITS of them (in near-equal parts).
    A member whose capacitor voltages are back on the closed steady state at
    a whole number of cycles after its closing contributes exactly the
    steady energy from then on, so a circuit's runs stop once every one of
    its members is there (or after the ten cycles).
    """
    out: list[Inrush | None] = [None] * len(jobs)
    for group in _by_period([job.solver for job in jobs]):
        parts = -(-len(group) // INRUSH_CIRCUITS)
        for part in np.array_split(np.array(group), parts):
            chunk = part.tolist()
            for k, result in zip(chunk, _inrush_group([jobs[k] for k in chunk]), strict=True):
                out[k] = result
    return [result for result in out if result is not None]


def _closing_state(job: InrushJob) -> tuple[State, F64]:
    """Return the members' states at their closings, two open cycles from zero, and offsets."""
    solver, period = job.solver, job.solver.c.period
    closings = job.phases / 360.0 * period
    # Only the state at the closing matters here (a volt or so on the lamp
    # side), so the open cycles take coarse steps, with every closing instant
    # of the third cycle a grid point.
    opened = np.unique(
        np.concatenate((grid(0.0, 3 * period, 3 * OPEN_STEPS_PER_CYCLE), 2 * period + closings))
    )
    keep = np.concatenate(([True], np.diff(opened) > MIN_STEP_S))
    opened = opened[keep]
    _, rec = solver.run(zero_state(1), opened, flags(1, closed=False), record=True)
    assert rec is not None  # noqa: S101
    rows = np.abs(opened[None, :] - (2 * period + closings)[:, None]).argmin(axis=1)
    return _states_at(rec, rows), opened[rows] - 2 * period


def _inrush_group(jobs: Sequence[InrushJob]) -> list[Inrush]:
    solvers = [job.solver for job in jobs]
    many = Many(solvers)
    period = solvers[0].c.period
    steps = STEPS_PER_CYCLE
    closings: list[_Closing] = []
    for job in jobs:
        state, offset = _closing_state(job)
        batch = len(job.phases)
        steady = job.steady
        c = job.solver.c
        closings.append(
            _Closing(
                job,
                state,
                offset,
                Tally(
                    np.zeros(batch),
                    np.full(batch, INRUSH_CYCLES * period),
                    np.zeros(batch),
                    np.zeros(batch),
                ),
                _steady_caps_at(steady, np.mod(offset, period)),
                steady.mean(steady.rec[:, REC_ICAP] ** 2) * period * c.r_fuse,
            )
        )
    members = np.concatenate(
        [np.full(len(job.phases), k, dtype=np.intp) for k, job in enumerate(jobs)]
    )
    _cycle(many, closings, members, _after_closing_grid(period, steps))
    uniform = grid(0.0, period, steps)
    while True:
        running = [k for k, closing in enumerate(closings) if not closing.finished()]
        if not running:
            break
        for k in running:
            tally = closings[k].tally
            tally.start = tally.start - period
            tally.stop = tally.stop - period
        before = [closings[k].tally.energy for k in running]
        picked = np.concatenate([members[members == k] for k in running])
        _cycle(many, [closings[k] for k in running], picked, uniform)
        for k, energy in zip(running, before, strict=True):
            closings[k].cycle_energy = closings[k].tally.energy - energy
            closings[k].done += 1
    return [closing.result() for closing in closings]


def _cycle(
    many: Many, closings: Sequence[_Closing], members: npt.NDArray[np.intp], times: F64
) -> None:
    """Run these circuits' closed members over times, together; each keeps its state and tally."""
    sizes = [len(closing.offset) for closing in closings]
    batch = sum(sizes)
    ctl = Controls(
        np.ones(batch, dtype=bool),
        np.zeros(batch, dtype=bool),
        offset=np.concatenate([closing.offset for closing in closings]),
    )
    tally = Tally(
        *(np.concatenate([getattr(cl.tally, name) for cl in closings]) for name in _TALLY)
    )
    state, _ = many.run(
        join_states([closing.state for closing in closings]), times, ctl, members, tally=tally
    )
    start = 0
    for closing, size in zip(closings, sizes, strict=True):
        rows = np.arange(start, start + size)
        closing.state = state.take(rows) if len(closings) > 1 else state
        closing.tally = tally.take(rows) if len(closings) > 1 else tally
        start += size


_TALLY: Final = ("start", "stop", "energy", "peak")


def hysteresis(v_lamp: F64, start: float, stop: float, on0: BOOL) -> BOOL:
    """Driver state along a voltage trace (used for waveforms)."""
    on = bool(on0)
    out = np.empty(len(v_lamp), dtype=bool)
    for k, v in enumerate(v_lamp):
        on = v >= stop if on else v > start
        out[k] = on
    return out
