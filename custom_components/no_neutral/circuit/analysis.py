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
from dataclasses import dataclass
from typing import Final

import numpy as np

from .elements import (
    BOOL,
    CAP_BULK,
    CAP_LED,
    CAP_SMOOTH,
    F64,
    REC_ICAP,
    REC_LEDON,
    REC_PLAMP,
    REC_VBULK,
    REC_VCAP,
    REC_VLAMP,
    Circuit,
    P,
)
from .solver import (
    Controls,
    Solver,
    State,
    Tally,
    grid,
    zero_state,
)

STEPS_PER_CYCLE: Final = 400
OPEN_STEPS_PER_CYCLE: Final = 100
# The open-relay runs (D(V) table, discharge, ghost drain) need no finer steps
# than this for their figures' tolerances.
ENVELOPE_STEPS_PER_CYCLE: Final = 200
DISCHARGE_STEPS_PER_CYCLE: Final = 200
MAX_SETTLE_CYCLES: Final = 40
# Closed steady state: cycle-to-cycle change of every capacitor voltage, as a
# fraction of the mains peak.
SETTLE_TOL: Final = 2e-6
# ... or every figure's ingredients within this fraction (CIRCUIT.md: 0.1 %).
FIGURE_TOL: Final = 1e-3
ENVELOPE_POINTS: Final = 14
ENVELOPE_CYCLES: Final = 2
# Inrush: 1 us steps for 10 us after the closing (the LED input capacitor
# charges in about a microsecond), then growing by 1.4 per step back to the
# normal step; the smoothing capacitor's charging (some 100 us) is resolved
# by the trapezoid-integrated energy on that growing grid.
FINE_STEP_S: Final = 1e-6
FINE_STEPS: Final = 10
GROWTH: Final = 1.4
MIN_STEP_S: Final = 1e-9
INRUSH_CYCLES: Final = 10
DISCHARGE_V: Final = 50.0
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

    rec: F64  # (steps+1, records) for the single member
    state: State  # the state at the cycle's end (source phase 0)
    cycles: int


# Below these (V, A, W) a change is noise, not a drift: a capacitor with no
# load creeps up its diode's exponential by microamperes forever.
_METRIC_FLOORS: Final = np.array([1e-3, 1e-3, 1e-3, 1e-5, 1e-3, 1e-3, 1e-6, 0.0])


def _cycle_metrics(rec: F64) -> F64:
    """Return the closed figures' raw ingredients, to compare consecutive cycles."""
    v = rec[:, 0, REC_VLAMP]
    i = rec[:, 0, REC_ICAP]
    return np.array(
        [
            v.mean(),
            v.min(),
            v.max(),
            float(np.sqrt(np.mean(i * i))),
            float(np.abs(rec[:, 0, REC_VCAP]).max()),
            rec[:, 0, REC_VBULK].min(),
            rec[:, 0, REC_PLAMP].mean(),
            rec[:, 0, REC_LEDON].min(),
        ]
    )


def closed_steady(solver: Solver, steps: int | None = None) -> SteadyCycle:
    """
    Step cycles from all-zero until two consecutive cycles agree.

    With the relay closed every capacitor is recharged at each peak, so this
    converges in two or three cycles, except with almost no load, where the
    capacitor creeps up its diode's exponential: there the cycle figures
    (not the capacitor voltages to the microvolt) decide, as CIRCUIT.md's
    0.1 % definition of the steady state says.
    """
    c = solver.c
    steps = steps or STEPS_PER_CYCLE
    state = zero_state(1)
    ctl = flags(1, closed=True)
    tol = SETTLE_TOL * c.v_peak
    rec = None
    before: F64 | None = None
    for k in range(MAX_SETTLE_CYCLES):
        start = state.caps.copy()
        led_start = state.led_on.copy()
        state, rec = solver.run(state, grid(0.0, c.period, steps), ctl, record=True)
        assert rec is not None  # noqa: S101 - record=True
        metrics = _cycle_metrics(rec)
        same_flags = bool(np.all(state.led_on == led_start))
        if k >= 1 and same_flags and np.all(np.abs(state.caps - start) < tol):
            break
        if (
            before is not None
            and same_flags
            and np.all(np.abs(metrics - before) <= FIGURE_TOL * np.abs(metrics) + _METRIC_FLOORS)
        ):
            break
        before = metrics
    assert rec is not None  # noqa: S101 - the loop runs at least once
    return SteadyCycle(rec[:, 0, :], state, k + 1)


def _lamp_side(c: Circuit, caps: F64) -> F64:
    """Charge-weighted lamp-side voltage: the open state's slow variable."""
    c_s = c.c_smooth if c.has_branch else 0.0
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
    c = solver.c
    pts = ENVELOPE_POINTS
    # Chebyshev-spaced points are denser near 0 and v_top, where D bends most.
    v = 0.5 * v_top * (1.0 - np.cos(np.pi * np.arange(pts) / (pts - 1)))
    if extra is not None:
        v = np.sort(np.concatenate((v, extra)))
    batch = len(v) + 1
    state = lamp_state(np.concatenate((v, [0.0])), bulk)
    ctl = Controls(np.zeros(batch, dtype=bool), np.arange(batch) == batch - 1)
    times = grid(0.0, c.period, ENVELOPE_STEPS_PER_CYCLE)
    rec = None
    v_start = _lamp_side(c, state.caps)
    for k in range(ENVELOPE_CYCLES):
        v_start = _lamp_side(c, state.caps)
        last = k == ENVELOPE_CYCLES - 1
        state, rec = solver.run(state, times, ctl, record=last, led_enabled=False)
    assert rec is not None  # noqa: S101
    v_end = _lamp_side(c, state.caps)
    i_dc = np.abs(rec[:, -1, 6])
    leakage = float(np.trapezoid(i_dc, times) / c.period)
    order = np.argsort(v_start[:-1])
    mean_v: F64 = np.asarray(np.trapezoid(rec[:, :-1, REC_VLAMP], times, axis=0)) / c.period
    return Envelope(v_start[:-1][order], (v_end - v_start)[:-1][order], leakage, mean_v[order])


def integrate_time(env: Envelope, v_from: float, v_to: float, period: float) -> float:
    """Seconds for the lamp side to move from v_from to v_to along D(V)."""
    vv = np.linspace(v_from, v_to, 801)
    d = env.rate(vv)
    if np.any(d * (v_to - v_from) <= 0.0):
        return math.inf
    return float(np.trapezoid(period / d, vv))


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


def discharge_time(solver: Solver, closed_end: State, env: Envelope) -> float | None:
    """Open at phase 0 from the closed steady state: time until v_lamp < 50 V."""
    c = solver.c
    state = closed_end.take(np.array([0]))
    state.caps_prev = None
    ctl = flags(1, closed=False)
    t0 = 0.0
    for k in range(MAX_DIRECT_DISCHARGE_CYCLES):
        times = grid(t0, t0 + c.period, DISCHARGE_STEPS_PER_CYCLE)
        v_before = float(_lamp_side(c, state.caps)[0])
        state, rec = solver.run(state, times, ctl, record=True)
        assert rec is not None  # noqa: S101
        hit = first_crossing(times, rec[:, 0, REC_VLAMP], DISCHARGE_V)
        if hit is not None:
            return hit if hit <= DISCHARGE_LIMIT_S else None
        t0 += c.period
        v_now = float(_lamp_side(c, state.caps)[0])
        slow = abs(v_now - v_before) < SLOW_FRACTION * v_now and not bool(state.led_on[0])
        if slow and k >= 2:  # noqa: PLR2004
            break
    v_now = float(_lamp_side(c, state.caps)[0])
    rest = integrate_time(env, v_now, DISCHARGE_V, c.period)
    total = t0 + rest
    return total if total <= DISCHARGE_LIMIT_S else None


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
    for _ in range(MAX_DIRECT_DISCHARGE_CYCLES):
        times = grid(t0, t0 + c.period, DISCHARGE_STEPS_PER_CYCLE)
        state, rec = solver.run(state, times, ctl, record=True)
        assert rec is not None  # noqa: S101
        on = rec[:, 0, REC_LEDON] > 0.5  # noqa: PLR2004
        v_lamp = rec[:, 0, REC_VLAMP]
        if started is None and on.any():
            k = int(np.argmax(on))
            started = float(times[k])
            peak = float(v_lamp[: k + 1].max())
        if started is not None and not bool(on[-1]):
            k_on = np.flatnonzero(on)
            stop_t = float(times[int(k_on[-1]) + 1]) if len(k_on) else float(times[0])
            return GhostCycle(peak, recharge + stop_t - started)
        t0 += c.period
    return GhostCycle(peak if started is not None else c.led_start, None)


def _inrush_grid(period: float, closings: F64, steps: int) -> F64:
    """Uniform grid over [0, period] with fine, then growing, steps after closings."""
    h = period / steps
    base = grid(0.0, period, steps)
    fine: list[F64] = []
    keep = np.ones(len(base), dtype=bool)
    for tc in closings:
        pts = [tc + FINE_STEP_S * j for j in range(FINE_STEPS + 1)]
        step = FINE_STEP_S
        while step * GROWTH < h:
            step *= GROWTH
            pts.append(pts[-1] + step)
        end = pts[-1]
        # Drop base points too close to the dense stretch, so that no step is
        # more than about twice its predecessor (BDF2's variable-step
        # stability).
        keep &= (base < tc - 0.5 * h) | (base > end + 0.5 * h)
        fine.append(np.array(pts))
    merged = np.concatenate((base[keep], *fine))
    merged = merged[(merged >= 0.0) & (merged <= period)]
    points = np.unique(np.concatenate((merged, [0.0, period])))
    # Points a nanosecond apart (a closing at phase 1e-100) would make
    # the capacitors' companion conductances overflow: keep the first.
    keep_pt = np.concatenate(([True], np.diff(points) > MIN_STEP_S))
    keep_pt[-1] = True
    points = points[keep_pt]
    if points[-2] > period - MIN_STEP_S:
        points = np.delete(points, -2)
    return points


@dataclass(frozen=True, slots=True)
class Inrush:
    """Peak current in Rf and excess energy, per closing phase."""

    phases: F64
    peak_a: F64
    excess_j: F64


def inrush(solver: Solver, phases: F64, steady: SteadyCycle) -> Inrush:
    """
    Close at each phase after two open cycles from zero; follow 10 cycles.

    A member whose capacitor voltages are back on the closed steady state at a
    cycle boundary contributes exactly the steady energy from then on, so the
    run stops once every member is there (or after the ten cycles).
    """
    c = solver.c
    period = c.period
    steps = STEPS_PER_CYCLE
    # Only the state at the closing matters here (a volt or so on the lamp
    # side), so the two open cycles take coarse steps.
    state, _ = solver.run(
        zero_state(1), grid(0.0, 2 * period, 2 * OPEN_STEPS_PER_CYCLE), flags(1, closed=False)
    )
    batch = len(phases)
    state = state.take(np.zeros(batch, dtype=np.intp))
    closings = phases / 360.0 * period
    times = _inrush_grid(period, closings, steps)
    # Each closing on its nearest grid point (they coincide but for merged
    # near-duplicates).
    close_index = np.abs(times[None, :] - closings[:, None]).argmin(axis=1)
    ctl = Controls(np.zeros(batch, dtype=bool), np.zeros(batch, dtype=bool), close_index)
    # The window moves back by a period per cycle run; keep closings intact.
    tally = Tally(
        closings.copy(), closings + INRUSH_CYCLES * period, np.zeros(batch), np.zeros(batch)
    )
    state, _ = solver.run(state, times, ctl, tally=tally)
    # Steady energy in Rf from phase 0 to each time of the cycle.
    i_steady = steady.rec[:, REC_ICAP]
    t_steady = grid(0.0, period, len(i_steady) - 1)
    e_cum = (
        np.concatenate(
            ([0.0], np.cumsum(0.5 * (i_steady[1:] ** 2 + i_steady[:-1] ** 2) * np.diff(t_steady)))
        )
        * c.r_fuse
    )
    e_cycle = float(e_cum[-1])
    ctl_closed = flags(batch, closed=True)
    uniform = grid(0.0, period, steps)
    done = 1
    tol = 1e-4 * c.v_peak
    while done < INRUSH_CYCLES + 1:
        if np.all(np.abs(state.caps - steady.state.caps) < tol):
            break
        tally.start -= period
        tally.stop -= period
        state, _ = solver.run(state, uniform, ctl_closed, tally=tally)
        done += 1
    # Energy the members would still take up to their window's end, at steady state.
    remaining = closings + INRUSH_CYCLES * period - done * period
    full = np.floor(remaining / period)
    partial = np.interp(remaining - full * period, t_steady, e_cum)
    total = tally.energy + np.where(remaining > 0.0, full * e_cycle + partial, 0.0)
    fuse_power = e_cycle / period
    return Inrush(phases, tally.peak, total - INRUSH_CYCLES * period * fuse_power)


def hysteresis(v_lamp: F64, start: float, stop: float, on0: BOOL) -> BOOL:
    """Driver state along a voltage trace (used for waveforms)."""
    on = bool(on0)
    out = np.empty(len(v_lamp), dtype=bool)
    for k, v in enumerate(v_lamp):
        on = v >= stop if on else v > start
        out[k] = on
    return out
