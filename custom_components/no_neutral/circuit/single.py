"""
One member's run in plain floats: the closed steady cycle, the discharge, the ghost drain.

Solver.run advances a batch with numpy. With a batch of one, each numpy call
on eight numbers costs some forty times its arithmetic, and a step made of
dozens of them took ~220 us. This is the same method (BDF2 on the same grid,
the same predictor, Newton with the same junction limiting and knee chords,
driver switchings redone in sub-steps, steps cut in two where Newton fails),
with Python floats for everything but the 8x8 Newton system, whose matrix and
residual come out of one product with a per-step-size table.

run_stretched, for the closed steady cycle, also steps over the quiet parts of
a cycle (between the conduction pulses) several grid intervals at a time.
"""

from __future__ import annotations

import itertools
import math
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np

from .elements import (
    BM,
    BP,
    CAP_SMOOTH,
    CAPS,
    DC,
    DIODES,
    ELEMENTS,
    F64,
    NODES,
    REC_ICAP,
    REC_IDC,
    REC_LEDON,
    REC_NODES,
    REC_VBULK,
    REC_VCAP,
    RECORDS,
    Circuit,
    L,
    P,
)
from .pacing import pace
from .stepping import (
    FORWARD_V,
    MAX_SPLITS,
    NEWTON_MAX,
    NEWTON_TOL_V,
    SOLVE,
    StepMatrices,
    bdf2,
    capacitors,
    junction_constants,
    quadratic_weights,
    switch_parts,
)

# Below this (a junction reverse-biased or up to some 0.5 V forward) the
# Lambert form's root is s = y - W(e^y), W's series to its third term exact to
# double precision (the next term, 8/3 e^4y, is under 1e-15): no iteration.
_SMALL_Y: Final = -9.0
# Far reverse (about -2 V and below): the current is -Is to 1e-9 of it, the
# conductance under 1e-23 S.
_FAR_Y: Final = -60.0
_ELEMENT_COUNT: Final = len(ELEMENTS)
# A junction at 0.45 V carries some 100 uA (Is = 10 nA, n = 1.9): far above
# the leakage that biases the floating nodes, far below any conduction pulse.
QUIET_V: Final = 0.45
# A long step is kept when the lamp and bulk voltages it reaches are within
# LTE_ABS + LTE_REL * |v| of the cubic extrapolation (the gap estimates
# BDF2's local error): the slow sag of a lamp's capacitor under an LED
# driver takes eight grid intervals at a time, the fast exponential drain
# into a 500 W filament (1.8 ms) or a driver restarting do not.
LTE_ABS: Final = 2e-4
LTE_REL: Final = 1e-4
# Newton tables kept per SingleRun (one per step size, relay state and BDF2 ratio).
STEP_TABLES: Final = 24


def volts(x: list[float]) -> list[float]:
    """Voltages across the ten nonlinear elements, in ELEMENTS order (anode minus cathode)."""
    live, lo, dn, sws, swl, p, bp, bm = x
    return [live - bp, dn - bp, bm - live, bm - dn, dn - sws, sws - lo, swl, p - swl, bp - bm, -p]


def element_volts(c: Circuit) -> Callable[[list[float]], list[float]]:
    """Return the voltages function of a circuit: volts, or a generic one for a faulted topology."""
    if c.elements == ELEMENTS:
        return volts
    # Index NODES is the neutral's 0.0 appended to x: no test per element.
    pairs = [(a if a >= 0 else NODES, b if b >= 0 else NODES) for a, b in c.elements]
    ground = [0.0]

    def faulted(x: list[float]) -> list[float]:
        xg = x + ground
        return [xg[a] - xg[b] for a, b in pairs]

    return faulted


def _cubic_weights(steps: tuple[float, float, float, float]) -> tuple[float, ...]:
    """Lagrange weights extrapolating four points to h after the last (steps h, h1, h2, h3)."""
    h, h1, h2, h3 = steps
    t = (0.0, -h1, -h1 - h2, -h1 - h2 - h3)
    weights = []
    for j in range(4):
        w = 1.0
        for m in range(4):
            if m != j:
                w *= (h - t[m]) / (t[j] - t[m])
        weights.append(w)
    return tuple(weights)


def _drift(x: list[float], predicted: list[float]) -> float:
    """Return the gap between solved and extrapolated lamp and bulk voltages, in tolerances."""
    lamp = abs(x[P] - predicted[P]) / (LTE_ABS + LTE_REL * abs(x[P]))
    v_bulk = x[BP] - x[BM]
    bulk = abs(v_bulk - predicted[BP] + predicted[BM]) / (LTE_ABS + LTE_REL * abs(v_bulk))
    return max(lamp, bulk)


@dataclass(slots=True)
class OneWalk:
    """Everything a single run carries from one step to the next."""

    x: list[float]
    x_prev: list[float]
    x_prev2: list[float]
    caps: list[float]
    caps_prev: list[float] | None
    h_prev: float
    h_prev2: float
    i_cap: float
    i_dc: float
    led_on: bool
    relay: bool
    x_prev3: list[float] | None = None
    h_prev3: float = 0.0

    def copy(self) -> OneWalk:
        """Return a snapshot to step again from (lists are replaced, never mutated)."""
        # Positional: dataclasses.replace took 4 % of a closed cycle.
        return OneWalk(
            self.x,
            self.x_prev,
            self.x_prev2,
            self.caps,
            self.caps_prev,
            self.h_prev,
            self.h_prev2,
            self.i_cap,
            self.i_dc,
            self.led_on,
            self.relay,
            self.x_prev3,
            self.h_prev3,
        )

    def put(self, other: OneWalk) -> None:
        """Take every field of another walk (the caller keeps this object)."""
        for name in self.__slots__:
            setattr(self, name, getattr(other, name))

    def restart(self) -> None:
        """Forget the history: the next step is backward Euler from here."""
        self.caps_prev = None
        self.x_prev = self.x_prev2 = self.x
        self.h_prev2 = self.h_prev3 = 0.0


def _newton_table(c: Circuit, g: F64, tail_rows: int) -> F64:
    """
    Build the table of SingleRun.newton for conductance matrix g, tail rows zero.

    Rows for q = [g_e, i_e, x] give [vec(A^T diag(g_e) A), G x + A^T i_e]; the
    last of the tail rows (q's trailing 1) adds vec(G) to the Jacobian part.
    """
    n_el, n2 = _ELEMENT_COUNT, NODES * NODES
    table = np.zeros((2 * n_el + NODES + tail_rows, n2 + NODES))
    table[:n_el, :n2] = c.outer
    table[n_el : 2 * n_el, n2:] = c.a_matrix
    table[2 * n_el : 2 * n_el + NODES, n2:] = g.T
    table[-1, :n2] = g.reshape(-1)
    return table


class _Step:
    """Per step size and relay state: the Newton system as one table."""

    __slots__ = ("g_rc", "table")

    def __init__(
        self, c: Circuit, matrices: StepMatrices, h: float, a0: float, *, relay: bool
    ) -> None:
        g_open, g_closed, hmap, g_rc = matrices(h, a0)
        g = g_closed if relay else g_open
        # For q = [g_e, i_e, x, hist, sin(wt), 1], q @ table is
        # [vec(G + A^T diag(g_e) A), G x + A^T i_e - b]: the Jacobian and the
        # residual of a Newton iteration in one product.
        n2 = NODES * NODES
        table = _newton_table(c, g, CAPS + 2)
        table[-2 - CAPS : -2, n2:] = -hmap
        table[-2, n2 + L] = -c.g_source * c.v_peak
        self.table = table
        self.g_rc = g_rc


class SingleRun:
    """Runs one member of a circuit; the Solver hands its single runs here."""

    def __init__(self, c: Circuit, matrices: StepMatrices) -> None:
        """Keep the circuit and the step matrices (the Solver's, which shares them)."""
        self.c = c
        self.matrices = matrices
        self._steps: dict[tuple[int, int, bool], _Step] = {}
        self._per_second = 1e12 / c.period
        # Stretched runs predict with a cubic: over four grid intervals the
        # quadratic misses the source's curvature by some 13 mV at 230 V,
        # more than Newton's tolerance, and every step took a second iteration.
        self.cubic = False
        self._weights: dict[tuple[int, int, int, int], tuple[float, ...]] = {}
        y0, self._v_crit = junction_constants(c)
        self.volts = element_volts(c)
        self._consts = (c.n_vt, c.r_series, c.i_sat, y0, 1.0 / c.n_vt, c.n_vt / c.r_series)
        self._matrix_key = b""
        self._matrix_table = np.empty(0)

    def _table(self, h: float, a0: float, *, relay: bool) -> _Step:
        # Steps over the same number of grid intervals differ in the last
        # bits only: one table each (a relative 1e-12 changes no figure).
        key = (round(h * self._per_second), round(a0 * 1e12), relay)
        found = self._steps.get(key)
        if found is None:
            if len(self._steps) >= STEP_TABLES:
                # An uneven grid (the closings before the inrush) would keep
                # one 20 kB table per step.
                del self._steps[next(iter(self._steps))]
            found = self._steps[key] = _Step(self.c, self.matrices, h, a0, relay=relay)
        return found

    def _quiet(self, x: list[float]) -> bool:
        """Return whether no junction conducts more than some 100 uA."""
        return max(self.volts(x)[:DIODES]) < QUIET_V

    # Elements ---------------------------------------------------------------

    def elements(
        self, v: list[float], p_dev: float, p_led: float
    ) -> tuple[list[float], list[float]]:
        """Currents and conductances at voltages v (as Solver._elements, in floats)."""
        n_vt, r_s, i_sat, y0, inv_nvt, scale = self._consts
        exp, log, log1p = math.exp, math.log, math.log1p
        i_out: list[float] = []
        g_out: list[float] = []
        add_i, add_g = i_out.append, g_out.append
        for vk in v[:DIODES]:
            y = y0 + vk * inv_nvt
            if y < _FAR_Y:
                add_i(-i_sat)
                add_g(0.0)
                continue
            if y < _SMALL_Y:
                e = exp(y)
                u = exp(y - e * (1.0 - e * (1.0 - 1.5 * e))) * scale
            else:
                big_l = y + log1p(exp(-y)) if y > 0.0 else log1p(exp(y))
                big_l = max(big_l, 1e-300)
                s = log(big_l) + log1p(-log1p(big_l) / (2.0 + big_l))
                e = exp(s)
                s -= (s + e - y) / (1.0 + e)
                e = exp(s)
                s -= (s + e - y) / (1.0 + e)
                u = exp(s) * scale
            add_i(u - i_sat)
            add_g(u / (n_vt + u * r_s))
        # Constant power: i = P / max(v, 1 V).
        for power, vp in ((p_dev, v[DIODES]), (p_led, v[DIODES + 1])):
            if vp > 1.0:
                add_i(power / vp)
                add_g(-power / (vp * vp))
            else:
                add_i(power)
                add_g(0.0)
        return i_out, g_out

    # Newton -----------------------------------------------------------------

    def newton_matrix(
        self, guess: list[float], g: F64, b: F64, p_nl: tuple[float, float]
    ) -> tuple[list[float], float]:
        """
        Newton for one member of a batch step: its matrix G and source vector b given.

        The batch solver hands over its last few (STRAGGLERS) unconverged members:
        iterating them one numpy call at a time costs a seventh of a batch
        iteration.
        """
        # A circuit's stragglers mostly share their step's G: its table is
        # built again only when G's bits change.
        key = g.tobytes()
        if key != self._matrix_key:
            self._matrix_table = _newton_table(self.c, g, 1)
            self._matrix_key = key
        table = self._matrix_table
        table[-1, NODES * NODES :] = -b
        return self.newton(guess, table, [1.0], p_nl)

    def newton(
        self, guess: list[float], table: F64, tail: list[float], p_nl: tuple[float, float]
    ) -> tuple[list[float], float]:
        """
        Newton with junction limiting and knee chords (Solver._newton for one member).

        q @ table, for q = [g_e, i_e, x, *tail], is the Jacobian (first 64
        entries) followed by the residual.
        """
        a = self.c.n_vt
        v_crit = self._v_crit
        p_dev, p_led = p_nl
        n2 = NODES * NODES
        x = guess
        v = v_eval = self.volts(x)
        v_last: list[float] | None = None
        v_last2: list[float] | None = None
        for _ in range(NEWTON_MAX):
            limited = False
            for k in range(DIODES) if max(v[:DIODES]) > v_crit else ():
                vd = v[k]
                jump = vd - v_eval[k]
                if vd > v_crit and jump > 2.0 * a:
                    if not limited:
                        limited = True
                        new_eval = list(v)
                    vo = v_eval[k]
                    new_eval[k] = (
                        vo + a * math.log1p(max(jump, 0.0) / a)
                        if vo > 0.0
                        else a * math.log(max(vd, a) / a)
                    )
            if limited:
                v_eval = new_eval
                i_e, g_e = self.elements(v_eval, p_dev, p_led)
                i_e = [i + g * (vv - ve) for i, g, vv, ve in zip(i_e, g_e, v, v_eval, strict=True)]
            else:
                v_eval = v
                i_e, g_e = self.elements(v, p_dev, p_led)
            if v_last is not None and v_last2 is not None:
                self._knee_chords(v, v_last, v_last2, i_e, g_e, p_nl)
            v_last, v_last2 = v, v_last
            # array('d') into numpy costs half of np.asarray on a list.
            r = np.frombuffer(array("d", g_e + i_e + x + tail)).dot(table)
            dx = SOLVE(r[:n2].reshape(NODES, NODES), r[n2:]).tolist()
            x = [xi - di for xi, di in zip(x, dx, strict=True)]
            worst = max(map(abs, dx))
            if not math.isfinite(worst):
                break
            if worst < NEWTON_TOL_V and not limited:
                return x, i_e[DC]
            v = self.volts(x)
        msg = "the circuit equations did not converge"
        raise ArithmeticError(msg)

    @staticmethod
    def _knee_chords(  # noqa: PLR0917
        v: list[float],
        v_last: list[float],
        v_last2: list[float],
        i_e: list[float],
        g_e: list[float],
        p_nl: tuple[float, float],
    ) -> None:
        """Solver._knee_chords for one member, in place on g_e."""
        for j in range(2):
            k = DIODES + j
            now, before = v[k], v_last[k]
            crossed = (now - 1.0) * (before - 1.0) < 0.0
            if j == 1:
                crossed = crossed and (before - 1.0) * (v_last2[k] - 1.0) < 0.0
            if crossed:
                g_e[k] = (i_e[k] - p_nl[j] / max(before, 1.0)) / (now - before)

    # Steps ------------------------------------------------------------------

    def _extrapolate(self, w: OneWalk, h: float) -> list[float]:
        """Extrapolate the node voltages to h after the last point."""
        h1, h2, h3 = w.h_prev, w.h_prev2, w.h_prev3
        x = w.x
        if h1 <= 0.0:
            return x
        if self.cubic and h2 > 0.0 and h3 > 0.0 and w.x_prev3 is not None:
            # Steps over the same grid intervals differ in their last bits only.
            scale = self._per_second
            key = (round(h * scale), round(h1 * scale), round(h2 * scale), round(h3 * scale))
            weights = self._weights.get(key)
            if weights is None:
                weights = self._weights[key] = _cubic_weights((h, h1, h2, h3))
            l0, l1, l2, l3 = weights
            return [
                l0 * a + l1 * b + l2 * c + l3 * d
                for a, b, c, d in zip(x, w.x_prev, w.x_prev2, w.x_prev3, strict=True)
            ]
        if h2 > 0.0:
            l0, l1, l2 = quadratic_weights(h, h1, h2)
            return [
                l0 * a + l1 * b + l2 * d for a, b, d in zip(x, w.x_prev, w.x_prev2, strict=True)
            ]
        f = h / h1
        return [a + (a - b) * f for a, b in zip(x, w.x_prev, strict=True)]

    def _predict(
        self, w: OneWalk, h: float, extrapolated: list[float] | None = None
    ) -> list[float]:
        """Solver._predict for one member: the extrapolation, unless it drives a junction on."""
        x = w.x
        guess = self._extrapolate(w, h) if extrapolated is None else extrapolated
        if guess is x:
            return guess
        v_new = self.volts(guess)
        v_old = self.volts(x)
        two_a = 2.0 * self.c.n_vt
        for k in range(DIODES):
            if v_new[k] > FORWARD_V and v_new[k] > v_old[k] + two_a:
                return x
        return guess

    def step(
        self,
        w: OneWalk,
        t0: float,
        t1: float,
        *,
        led_active: bool,
        extrapolated: list[float] | None = None,
    ) -> None:
        """One implicit step from t0 to t1, in place (Solver._step for one member)."""
        c = self.c
        h = t1 - t0
        caps = w.caps
        if w.caps_prev is None:
            a0 = 1.0
            hist = [-v for v in caps]
        else:
            a0, k1, k2 = bdf2(h, w.h_prev)
            hist = [k1 * a + k2 * b for a, b in zip(caps, w.caps_prev, strict=True)]
        step = self._table(h, a0, relay=w.relay)
        tail = [*hist, math.sin(c.omega * t1), 1.0]
        p_nl = (
            c.p_dev_on if w.relay else c.p_dev_off,
            c.p_led if led_active and w.led_on else 0.0,
        )
        guess = self._predict(w, h, extrapolated)
        try:
            x_new, i_dc = self.newton(guess, step.table, tail, p_nl)
        except ArithmeticError:
            if guess is w.x:
                raise
            # An extrapolation across a switching can start Newton too far away.
            x_new, i_dc = self.newton(w.x, step.table, tail, p_nl)
        w.x_prev3, w.h_prev3 = w.x_prev2, w.h_prev2
        w.x_prev2, w.h_prev2 = w.x_prev, w.h_prev
        w.x_prev = w.x
        w.x, w.i_dc = x_new, i_dc
        w.caps_prev = caps
        w.i_cap, w.caps = capacitors(
            x_new, hist[CAP_SMOOTH] * c.smooth_memory, a0, step.g_rc, c.r_branch
        )
        w.h_prev = h
        if led_active:
            v_lamp = -x_new[P]
            w.led_on = v_lamp >= c.led_stop if w.led_on else v_lamp > c.led_start

    def step_or_split(
        self,
        w: OneWalk,
        t0: float,
        t1: float,
        depth: int,
        *,
        led_active: bool,
        extrapolated: list[float] | None = None,
    ) -> None:
        """Step; where Newton fails, take the step as two halves."""
        try:
            self.step(w, t0, t1, led_active=led_active, extrapolated=extrapolated)
        except ArithmeticError:
            if depth >= MAX_SPLITS:
                raise
            mid = 0.5 * (t0 + t1)
            self.step_or_split(w, t0, mid, depth + 1, led_active=led_active)
            self.step_or_split(w, mid, t1, depth + 1, led_active=led_active)
            w.restart()

    def substeps(self, walk: OneWalk, saved: OneWalk, t0: float, t1: float) -> OneWalk:
        """Redo a step in which the driver switched, cut around the switching."""
        c = self.c
        v0, v1 = -saved.x[P], -walk.x[P]
        level = c.led_stop if saved.led_on else c.led_start
        span = v1 - v0
        theta = min(max((level - v0) / (span if abs(span) > 0.0 else 1.0), 0.0), 1.0)
        sub = saved.copy()
        for a, b in switch_parts((theta,)):
            led_before = sub.led_on
            self.step_or_split(sub, t0 + (t1 - t0) * a, t0 + (t1 - t0) * b, 0, led_active=True)
            if sub.led_on != led_before:
                sub.restart()
        walk.x, walk.i_cap, walk.i_dc = sub.x, sub.i_cap, sub.i_dc
        walk.led_on, walk.caps = sub.led_on, sub.caps
        walk.restart()
        return walk

    def run(
        self, walk: OneWalk, times: F64, *, record: bool, led_enabled: bool
    ) -> list[list[float]] | None:
        """Advance walk over times, in place; return one row per time point if record."""
        c = self.c
        led_active = led_enabled and c.p_led > 0.0
        rows: list[list[float]] | None = None
        if record:
            i_e, _ = self.elements(self.volts(walk.x), 0.0, 0.0)
            walk.i_dc = i_e[DC]
            rows = [self._row(walk, led_enabled=led_enabled)]
        points = times.tolist()
        for t0, t1 in itertools.pairwise(points):
            saved = walk.copy() if led_active else None
            self.step_or_split(walk, t0, t1, 0, led_active=led_active)
            if saved is not None and walk.led_on != saved.led_on:
                # The driver started or stopped inside this step: redo it in
                # parts so that the switching lags by h/SUBSTEPS only.
                walk = self.substeps(walk, saved, t0, t1)
            if rows is not None:
                rows.append(self._row(walk, led_enabled=led_enabled))
            pace()
        return rows

    def run_stretched(
        self, walk: OneWalk, times: F64, stretch: int, *, led_enabled: bool = True
    ) -> tuple[list[list[float]], list[int]]:
        """
        Advance walk over times, stepping over up to `stretch` intervals where quiet.

        Quiet: no junction forward-biased past QUIET_V (some 100 uA) at either
        end of a step, the driver neither starting nor stopping in it, and the
        lamp and bulk voltages within LTE_ABS + LTE_REL * |v| of their cubic
        extrapolation (an estimate of the step's local error).
        Between the conduction pulses each capacitor only feeds its load, and
        the waveforms are smooth; the pulses themselves (the fuse current, the
        bulk capacitor's top-up) take every step of the grid. A long step that
        ends in a pulse is taken again in single steps from its start, so a
        pulse starts on the grid as it would without stretching. Returns the
        rows and the indices of the time points they belong to.
        """
        c = self.c
        led_active = led_enabled and c.p_led > 0.0
        self.cubic = True
        try:
            return self._stretched(walk, times, stretch, led_active=led_active)
        finally:
            self.cubic = False

    def _stretched(
        self, walk: OneWalk, times: F64, stretch: int, *, led_active: bool
    ) -> tuple[list[list[float]], list[int]]:
        i_e, _ = self.elements(self.volts(walk.x), 0.0, 0.0)
        walk.i_dc = i_e[DC]
        rows = [self._row(walk, led_enabled=True)]
        visited = [0]
        points = times.tolist()
        last = len(points) - 1
        n = 0
        span = 1
        was_quiet = self._quiet(walk.x)
        while n < last:
            span = min(span, last - n)
            predicted = self._extrapolate(walk, points[n + span] - points[n])
            if span > 1 and not self._quiet(predicted):
                # A pulse is coming: do not take a long step into it only
                # to throw it away.
                span = 1
                predicted = self._extrapolate(walk, points[n + 1] - points[n])
            t0, t1 = points[n], points[n + span]
            saved = walk.copy()
            self.step_or_split(walk, t0, t1, 0, led_active=led_active, extrapolated=predicted)
            pace()
            is_quiet = self._quiet(walk.x)
            if span > 1 and (walk.led_on != saved.led_on or not is_quiet):
                walk.put(saved)
                span = 1
                continue
            drift = _drift(walk.x, predicted)
            if span > 1 and drift > 1.0:
                # Too long for the local error: again, half as long.
                walk.put(saved)
                span //= 2
                continue
            if walk.led_on != saved.led_on:
                walk = self.substeps(walk, saved, t0, t1)
                is_quiet = self._quiet(walk.x)
            n += span
            rows.append(self._row(walk, led_enabled=True))
            visited.append(n)
            # Grow by doubling (BDF2 with variable steps stays stable for
            # step ratios under 1 + sqrt(2)), where the doubled step's local
            # error, some eight times this one's, stays within tolerance.
            if not (was_quiet and is_quiet):
                span = 1
            elif drift < 1.0 / 8.0:
                span = min(2 * span, stretch)
            was_quiet = is_quiet
        return rows, visited

    @staticmethod
    def _row(w: OneWalk, *, led_enabled: bool) -> list[float]:
        row = [0.0] * RECORDS
        row[REC_NODES:] = w.x
        row[REC_ICAP] = w.i_cap
        row[REC_VCAP] = w.caps[3]
        row[REC_VBULK] = w.caps[1]
        row[REC_LEDON] = 1.0 if (w.led_on and led_enabled) else 0.0
        row[REC_IDC] = w.i_dc
        return row
