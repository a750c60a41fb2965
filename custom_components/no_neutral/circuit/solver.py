"""
Transient solver: nodal analysis, variable-step BDF2, Newton, batched runs.

Every run advances a batch of independent copies of the circuit on one common
time grid, so that tables over lamp voltages and the 36 closing phases cost
one vectorised run each instead of dozens of Python loops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from .elements import (
    BOOL,
    CAP_BULK,
    CAP_SMOOTH,
    CAPS,
    DC,
    DIODES,
    F64,
    NODES,
    REC_ICAP,
    REC_IDC,
    REC_LEDON,
    REC_NODES,
    REC_PLAMP,
    REC_PSRC,
    REC_VBULK,
    REC_VCAP,
    REC_VLAMP,
    RECORDS,
    SWL,
    Circuit,
    L,
    P,
)
from .pacing import pace
from .single import OneWalk, SingleRun
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

# A lamp node "held at 0 V" for the off-leakage figure.
HOLD_SIEMENS: Final = 1e4
LAMBERT_ITERATIONS: Final = 2
# A batch step's last unconverged members iterate one at a time (single.py)
# once no more than this many are left.
STRAGGLERS: Final = 4


@dataclass(slots=True)
class State:
    """The batch's state at one time point; caps_prev/h_prev feed BDF2."""

    x: F64
    caps: F64
    led_on: BOOL
    caps_prev: F64 | None = None
    h_prev: float = 0.0
    i_cap: F64 | None = None

    def take(self, index: npt.NDArray[np.intp]) -> State:
        """Return the members picked by index (copies)."""
        return State(
            self.x[index].copy(),
            self.caps[index].copy(),
            self.led_on[index].copy(),
            None if self.caps_prev is None else self.caps_prev[index].copy(),
            self.h_prev,
            None if self.i_cap is None else self.i_cap[index].copy(),
        )


def zero_state(batch: int) -> State:
    """Every node and capacitor at 0 V, LED driver stopped."""
    return State(np.zeros((batch, NODES)), np.zeros((batch, CAPS)), np.zeros(batch, dtype=bool))


@dataclass(slots=True)
class _Walk:
    """Everything a run carries from one step to the next."""

    x: F64
    x_prev: F64
    x_prev2: F64
    caps: F64
    caps_prev: F64 | None
    h_prev: float
    h_prev2: float
    i_cap: F64
    i_dc: F64
    led_on: BOOL
    relay: BOOL
    hold: F64 | None
    led_active: bool
    offset: F64 | None = None

    def take(self, index: npt.NDArray[np.intp]) -> _Walk:
        """Return the members picked by index (arrays copied by the indexing)."""
        return _Walk(
            self.x[index],
            self.x_prev[index],
            self.x_prev2[index],
            self.caps[index],
            None if self.caps_prev is None else self.caps_prev[index],
            self.h_prev,
            self.h_prev2,
            self.i_cap[index],
            self.i_dc[index],
            self.led_on[index],
            self.relay[index],
            None if self.hold is None else self.hold[index],
            self.led_active,
            None if self.offset is None else self.offset[index],
        )

    def put(self, index: npt.NDArray[np.intp], sub: _Walk) -> None:
        """Write a sub-walk's members back (arrays replaced, never mutated in place)."""
        for name in ("x", "i_cap", "i_dc", "led_on", "relay", "caps"):
            arr = getattr(self, name).copy()
            arr[index] = getattr(sub, name)
            setattr(self, name, arr)

    def copy(self) -> _Walk:
        """Return a snapshot to step again from (arrays are replaced, not mutated)."""
        return _Walk(
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
            self.relay.copy(),
            self.hold,
            self.led_active,
            self.offset,
        )


@dataclass(slots=True)
class Controls:
    """
    Per-member switches: relay, lamp node held at 0 V, closing instant.

    offset shifts each member's source: member k sees the EMF at time
    t + offset[k], so members closing at different phases can share one
    time grid (time since the closing).
    """

    relay_closed: BOOL
    hold: BOOL
    close_index: npt.NDArray[np.intp] | None = None
    offset: F64 | None = None


@dataclass(slots=True)
class Tally:
    """Running figures of the capacitor-branch current over a time window."""

    start: F64
    stop: F64
    energy: F64
    peak: F64


class Solver:
    """Steps a batch of copies of one circuit."""

    def __init__(self, circuit: Circuit) -> None:
        """Keep the circuit and the per-step-size matrices built on demand."""
        self.c = circuit
        self.matrices = StepMatrices(circuit)
        self.y0, self.v_crit = junction_constants(circuit)
        self._s_start = 1.0
        self._single: SingleRun | None = None

    def _elements(self, v: F64, p_nl: F64) -> tuple[F64, F64]:
        """
        Currents and conductances of the ten nonlinear elements at voltages v.

        Diode with series resistance, solved exactly: with u = i + Is, the
        quantity s = ln(u*Rs/(n*Vt)) solves s + exp(s) = y (Lambert W in log
        form), so the current grows only linearly at large forward voltage and
        Newton needs no junction limiting.
        """
        c = self.c
        if len(v) == 1:
            # Per numpy call, the overhead on ten numbers is some forty times
            # the arithmetic: one member's elements in plain floats (single.py).
            i_one, g_one = self._single_run().elements(
                v[0].tolist(), float(p_nl[0, 0]), float(p_nl[0, 1])
            )
            return np.array([i_one]), np.array([g_one])
        y = self.y0 + v[:, :DIODES] * (1.0 / c.n_vt)
        # Start from Winitzki's approximation W(z) ~ L*(1 - ln(1+L)/(2+L)),
        # L = ln(1+z), within a few per cent everywhere, so that three Newton
        # steps reach machine precision.
        # Where L underflows (far reverse bias) the first Newton step lands on
        # s = y, which is exact there (W(z) = z).
        big_l = np.maximum(np.logaddexp(0.0, y), 1e-300)
        s = np.log(big_l) + np.log1p(-np.log1p(big_l) / (2.0 + big_l))
        for _ in range(LAMBERT_ITERATIONS):
            e = np.exp(s)
            s -= (s + e - y) / (1.0 + e)
        u = np.exp(s) * (c.n_vt / c.r_series)
        i_e = np.empty_like(v)
        g_e = np.empty_like(v)
        i_e[:, :DIODES] = u - c.i_sat
        g_e[:, :DIODES] = u / (c.n_vt + u * c.r_series)
        vp = v[:, DIODES:]
        vv = np.maximum(vp, 1.0)
        i_p = p_nl / vv
        i_e[:, DIODES:] = i_p
        g_e[:, DIODES:] = np.where(vp > 1.0, -i_p / vv, 0.0)
        return i_e, g_e

    def run(
        self,
        state: State,
        times: F64,
        ctl: Controls,
        *,
        record: bool = False,
        tally: Tally | None = None,
        led_enabled: bool = True,
    ) -> tuple[State, F64 | None]:
        """Advance state over times[0] -> times[-1]; optionally record each point."""
        c = self.c
        batch = state.x.shape[0]
        if (
            batch == 1
            and tally is None
            and ctl.offset is None
            and ctl.close_index is None
            and not ctl.hold.any()
        ):
            return self._run_single(
                state,
                times,
                relay=bool(ctl.relay_closed[0]),
                record=record,
                led_enabled=led_enabled,
            )
        walk = _Walk(
            x=state.x.copy(),
            x_prev=state.x.copy(),
            x_prev2=state.x.copy(),
            caps=state.caps.copy(),
            caps_prev=None if state.caps_prev is None else state.caps_prev.copy(),
            h_prev=state.h_prev,
            h_prev2=0.0,
            i_cap=np.zeros(batch) if state.i_cap is None else state.i_cap.copy(),
            i_dc=np.zeros(batch),
            led_on=state.led_on.copy(),
            relay=ctl.relay_closed.copy(),
            hold=np.where(ctl.hold, HOLD_SIEMENS, 0.0) if ctl.hold.any() else None,
            led_active=led_enabled and c.p_led > 0.0,
            offset=ctl.offset,
        )
        steps = len(times) - 1
        out = np.empty((steps + 1, batch, RECORDS)) if record else None
        if out is not None:
            walk.i_dc = self._elements(walk.x @ c.a_matrix.T, np.zeros((batch, 2)))[0][:, DC]
            self._store(out[0], walk, led_enabled)
        for n in range(steps):
            if ctl.close_index is not None:
                walk.relay |= ctl.close_index == n
            t0, t1 = float(times[n]), float(times[n + 1])
            saved = walk.copy() if walk.led_active else None
            before = (
                (tally.energy.copy(), tally.peak.copy())
                if saved is not None and tally is not None
                else None
            )
            self._step_or_split(walk, t0, t1, tally, 0)
            if saved is not None:
                switched = np.flatnonzero(walk.led_on != saved.led_on)
                if len(switched):
                    # The LED driver started or stopped inside this step: redo
                    # it for those members in sub-steps so that the switching
                    # lags by h/SUBSTEPS only (the driver's power dominates the
                    # lamp node's slope).
                    walk = self._substeps(
                        walk, saved, switched, (t0, t1), tally=tally, before=before
                    )
            if out is not None:
                self._store(out[n + 1], walk, led_enabled)
            pace()
        if out is not None:
            self._derive(out, times, walk.offset)
        final = State(walk.x, walk.caps, walk.led_on, walk.caps_prev, walk.h_prev, walk.i_cap)
        return final, out

    def _single_run(self) -> SingleRun:
        if self._single is None:
            self._single = SingleRun(self.c, self.matrices)
        return self._single

    def _single_walk(self, state: State, *, relay: bool) -> tuple[SingleRun, OneWalk]:
        x = state.x[0].tolist()
        walk = OneWalk(
            x=x,
            x_prev=x,
            x_prev2=x,
            caps=state.caps[0].tolist(),
            caps_prev=None if state.caps_prev is None else state.caps_prev[0].tolist(),
            h_prev=state.h_prev,
            h_prev2=0.0,
            i_cap=0.0 if state.i_cap is None else float(state.i_cap[0]),
            i_dc=0.0,
            led_on=bool(state.led_on[0]),
            relay=relay,
        )
        return self._single_run(), walk

    @staticmethod
    def _single_state(walk: OneWalk) -> State:
        return State(
            np.array([walk.x]),
            np.array([walk.caps]),
            np.array([walk.led_on]),
            None if walk.caps_prev is None else np.array([walk.caps_prev]),
            walk.h_prev,
            np.array([walk.i_cap]),
        )

    def _run_single(
        self, state: State, times: F64, *, relay: bool, record: bool, led_enabled: bool
    ) -> tuple[State, F64 | None]:
        """Run a single member in plain floats (single.py): same method, ~5x faster."""
        single, walk = self._single_walk(state, relay=relay)
        rows = single.run(walk, times, record=record, led_enabled=led_enabled)
        out = None
        if rows is not None:
            out = np.array(rows)[:, None, :]
            self._derive(out, times, None)
        return self._single_state(walk), out

    def run_stretched(
        self, state: State, times: F64, *, relay: bool, stretch: int, led_enabled: bool = True
    ) -> tuple[State, F64, F64]:
        """
        Run one member over times, stepping over up to `stretch` intervals where quiet.

        See SingleRun.run_stretched. Returns the final state, the records
        (points, 1, RECORDS) and the time points they were taken at.
        """
        single, walk = self._single_walk(state, relay=relay)
        rows, visited = single.run_stretched(walk, times, stretch, led_enabled=led_enabled)
        at = times[np.array(visited)]
        out = np.array(rows)[:, None, :]
        self._derive(out, at, None)
        return self._single_state(walk), out, at

    def _substeps(
        self,
        walk: _Walk,
        saved: _Walk,
        switched: npt.NDArray[np.intp],
        span: tuple[float, float],
        *,
        tally: Tally | None,
        before: tuple[F64, F64] | None,
    ) -> _Walk:
        """Redo one step in SUBSTEPS parts for the switched members only."""
        t0, t1 = span
        sub = saved.take(switched)
        sub_tally = None
        if tally is not None and before is not None:
            # From the tally as it was before the first attempt of this step.
            sub_tally = Tally(
                tally.start[switched],
                tally.stop[switched],
                before[0][switched],
                before[1][switched],
            )
        for a, b in self._switch_parts(saved, walk, switched):
            led_before = sub.led_on
            self._step_or_split(sub, t0 + (t1 - t0) * a, t0 + (t1 - t0) * b, sub_tally, 0)
            if bool(np.any(sub.led_on != led_before)):
                # BDF2 would carry the slope from before the switching into
                # the next part: restart with a backward-Euler step.
                sub.caps_prev = None
                sub.x_prev = sub.x_prev2 = sub.x
                sub.h_prev2 = 0.0
        walk.put(switched, sub)
        if tally is not None and sub_tally is not None:
            energy = tally.energy.copy()
            energy[switched] = sub_tally.energy
            peak = tally.peak.copy()
            peak[switched] = sub_tally.peak
            tally.energy, tally.peak = energy, peak
        # Back to the full step: one backward-Euler step restarts BDF2.
        walk.caps_prev = None
        walk.x_prev = walk.x_prev2 = walk.x
        walk.h_prev2 = 0.0
        return walk

    def _switch_parts(
        self, saved: _Walk, walk: _Walk, switched: npt.NDArray[np.intp]
    ) -> list[tuple[float, float]]:
        """
        Split a step around the driver switchings, located on the lamp voltage.

        Each threshold crossing is interpolated between the step's ends.
        """
        c = self.c
        v0 = -saved.x[switched, P]
        v1 = -walk.x[switched, P]
        level = np.where(saved.led_on[switched], c.led_stop, c.led_start)
        span = v1 - v0
        safe = np.where(np.abs(span) > 0.0, span, 1.0)
        theta = np.clip((level - v0) / safe, 0.0, 1.0)
        return switch_parts(theta.tolist())

    def _step_or_split(
        self, w: _Walk, t0: float, t1: float, tally: Tally | None, depth: int
    ) -> None:
        """Step; where Newton fails, take the step as two halves (SPICE's step cut)."""
        try:
            self._step(w, t0, t1, tally)
        except ArithmeticError:
            if depth >= MAX_SPLITS:
                raise
            mid = 0.5 * (t0 + t1)
            self._step_or_split(w, t0, mid, tally, depth + 1)
            self._step_or_split(w, mid, t1, tally, depth + 1)
            w.caps_prev = None
            w.x_prev = w.x_prev2 = w.x
            w.h_prev2 = 0.0

    def _step(self, w: _Walk, t0: float, t1: float, tally: Tally | None) -> None:
        """One implicit step of every member from t0 to t1, in place."""
        c = self.c
        a_t = c.a_matrix.T
        h = t1 - t0
        if w.caps_prev is None:
            a0 = 1.0
            hist = -w.caps
        else:
            a0, k1, k2 = bdf2(h, w.h_prev)
            hist = k1 * w.caps + k2 * w.caps_prev
        g_open, g_closed, hmap, g_rc = self.matrices(h, a0)
        if w.relay.all():
            g = g_closed
        elif not w.relay.any():
            g = g_open
        else:
            g = np.where(w.relay[:, None, None], g_closed, g_open)
        if w.hold is not None:
            g = g + w.hold[:, None, None] * _HOLD_STAMP
        b = hist @ hmap
        if w.offset is None:
            b[:, L] += c.g_source * c.v_peak * math.sin(c.omega * t1)
        else:
            b[:, L] += c.g_source * c.v_peak * np.sin(c.omega * (t1 + w.offset))
        p_nl = np.empty((len(w.x), 2))
        p_nl[:, 0] = np.where(w.relay, c.p_dev_on, c.p_dev_off)
        p_nl[:, 1] = np.where(w.led_on, c.p_led, 0.0) if w.led_active else 0.0
        guess = self._predict(w, h, a_t)
        x_last = w.x
        try:
            x_new, i_dc = self._newton(guess, g, b, p_nl, a_t)
        except ArithmeticError:
            # An extrapolation across a switching (relay, driver) can start
            # Newton too far away; the last point is always a safe start.
            x_new, i_dc = self._newton(w.x, g, b, p_nl, a_t)
        w.x_prev2 = w.x_prev
        w.h_prev2 = w.h_prev
        w.x_prev = x_last
        w.x, w.i_dc = x_new, i_dc
        i_cap_prev = w.i_cap
        w.caps_prev = w.caps
        w.i_cap, caps = capacitors(
            w.x.T, hist[:, CAP_SMOOTH] * c.smooth_memory, a0, g_rc, c.r_branch
        )
        w.caps = np.array(caps).T.copy()
        w.h_prev = h
        if w.led_active:
            v_lamp = -w.x[:, P]
            w.led_on = np.where(w.led_on, v_lamp >= c.led_stop, v_lamp > c.led_start)
        if tally is not None:
            inside = (t0 >= tally.start) & (t1 <= tally.stop + 1e-12)
            # Trapezoid rule: the charging current decays over a few steps.
            i2 = 0.5 * (w.i_cap * w.i_cap + i_cap_prev * i_cap_prev)
            tally.energy += np.where(inside, i2 * (c.r_fuse * h), 0.0)
            tally.peak = np.where(inside, np.maximum(tally.peak, np.abs(w.i_cap)), tally.peak)

    def _predict(self, w: _Walk, h: float, a_t: F64) -> F64:
        """
        Quadratic extrapolation, except where it drives a diode further forward.

        With a quadratic predictor the first Newton correction on the smooth
        stretches of a cycle is well under the tolerance, so one iteration
        does. Newton walks down an exponential by only n*Vt per iteration,
        so members whose guess overshoots a conducting junction start from
        the last point instead.
        """
        h1, h2 = w.h_prev, w.h_prev2
        x = w.x
        if h1 <= 0.0:
            return x
        if h2 > 0.0:
            l0, l1, l2 = quadratic_weights(h, h1, h2)
            guess = l0 * x + l1 * w.x_prev + l2 * w.x_prev2
        else:
            guess = x + (x - w.x_prev) * (h / h1)
        v_new = (guess @ a_t)[:, :DIODES]
        v_old = (x @ a_t)[:, :DIODES]
        bad = ((v_new > FORWARD_V) & (v_new > v_old + 2.0 * self.c.n_vt)).any(axis=1)
        if bad.any():
            guess[bad] = x[bad]
        return guess

    def _linearise(self, v: F64, v_eval: F64, p_nl: F64) -> tuple[F64, F64, F64, BOOL]:
        """Return the evaluation point, currents, conductances and the limited members."""
        a = self.c.n_vt
        vd, vo = v[:, :DIODES], v_eval[:, :DIODES]
        jump = vd - vo
        limit = (vd > self.v_crit) & (jump > 2.0 * a)
        limited: BOOL = np.asarray(limit.any(axis=1), dtype=bool)
        if limited.any():
            soft = np.where(
                vo > 0.0,
                vo + a * np.log1p(np.maximum(jump, 0.0) / a),
                a * np.log(np.maximum(vd, a) / a),
            )
            v_eval = v.copy()
            v_eval[:, :DIODES] = np.where(limit, soft, vd)
            i_e, g_e = self._elements(v_eval, p_nl)
            return v_eval, i_e + g_e * (v - v_eval), g_e, limited
        i_e, g_e = self._elements(v, p_nl)
        return v, i_e, g_e, limited

    def _newton(self, guess: F64, g: F64, b: F64, p_nl: F64, a_t: F64) -> tuple[F64, F64]:
        """
        Newton with SPICE's junction limiting (pnjlim) on the eight diodes.

        Elements are linearised at the limited voltages v_eval; a step that
        would push a junction far up its exponential is shortened to a
        logarithmic one, so Newton never has to walk back down by n*Vt per
        iteration.
        """
        c = self.c
        outer = c.outer
        a_m = c.a_matrix
        x = guess
        v_eval = x @ a_t
        # Members leave the iteration as they converge: in a batch some member
        # is nearly always switching, and the others need not iterate with it.
        x_out = np.empty_like(guess)
        i_dc = np.empty(len(guess))
        active: npt.NDArray[np.intp] | None = None
        v_last: F64 | None = None
        v_last2: F64 | None = None
        for _ in range(NEWTON_MAX):
            v = x @ a_t
            v_eval, i_e, g_e, limited = self._linearise(v, v_eval, p_nl)
            if v_last is not None and v_last2 is not None:
                g_e = self._knee_chords(v, v_last, v_last2, i_e, g_e, p_nl)
            v_last, v_last2 = v, v_last
            f = (g @ x[..., None])[..., 0] - b + i_e @ a_m
            jac = g + (g_e @ outer).reshape(len(x), NODES, NODES)
            dx = SOLVE(jac, f)
            x = x - dx
            step = np.abs(dx).max(axis=1)
            if not np.all(np.isfinite(step)):
                break
            # Newton converges quadratically here: after a 10 mV correction
            # the remaining error is about a millivolt, which changed no
            # figure by more than 1e-5 against a 1 mV tolerance (the
            # off-leakage is evaluated at the converged point instead).
            done = (step < NEWTON_TOL_V) & ~limited
            if done.all():
                # Dc's junction current at the last linearisation point, for
                # the recorded waveforms.
                if active is None:
                    return x, i_e[:, DC]
                x_out[active] = x
                i_dc[active] = i_e[:, DC]
                return x_out, i_dc
            if done.any():
                if active is None:
                    active = np.arange(len(x))
                x_out[active[done]] = x[done]
                i_dc[active[done]] = i_e[done, DC]
                keep = ~done
                active = active[keep]
                x, v_eval, b, p_nl = x[keep], v_eval[keep], b[keep], p_nl[keep]
                v_last = v_last[keep]
                v_last2 = None if v_last2 is None else v_last2[keep]
                if g.ndim == 3:  # noqa: PLR2004
                    g = g[keep]
                if len(active) <= STRAGGLERS:
                    self._finish_singly(x, g, b, p_nl, (x_out, i_dc, active))
                    return x_out, i_dc
        msg = "the circuit equations did not converge"
        raise ArithmeticError(msg)

    def _finish_singly(
        self, x: F64, g: F64, b: F64, p_nl: F64, out: tuple[F64, F64, npt.NDArray[np.intp]]
    ) -> None:
        """Iterate the last unconverged members one at a time (single.py), into out."""
        single = self._single_run()
        x_out, i_dc, active = out
        for j, member in enumerate(active.tolist()):
            g_j = g[j] if g.ndim == 3 else g  # noqa: PLR2004
            x_j, i_j = single.newton_matrix(
                x[j].tolist(), g_j, b[j], (float(p_nl[j, 0]), float(p_nl[j, 1]))
            )
            x_out[member] = x_j
            i_dc[member] = i_j

    @staticmethod
    def _knee_chords(  # noqa: PLR0917
        v: F64, v_last: F64, v_last2: F64, i_e: F64, g_e: F64, p_nl: F64
    ) -> F64:
        """
        Chord conductances for constant-power loads jumping across their 1 V knee.

        i = P / max(v, 1 V) has slope 0 below the knee and -P/v^2 above it;
        where the solution sits at the knee, tangent steps jump from one side
        to the other for ever, while the chord through both iterates closes
        in on it (regula falsi). Only where the last two steps both crossed
        the knee: a single crossing is ordinary progress, and chords there
        slowed Newton down.
        """
        now, before, earlier = v[:, DIODES:], v_last[:, DIODES:], v_last2[:, DIODES:]
        crossed = (now - 1.0) * (before - 1.0) < 0.0
        # The driver's knee needs the stricter test (a 300 W driver starting
        # on a weak supply crosses it on its way); the device's does not.
        crossed[:, 1] &= (before[:, 1] - 1.0) * (earlier[:, 1] - 1.0) < 0.0
        if not crossed.any():
            return g_e
        i_before = p_nl / np.maximum(before, 1.0)
        span = np.where(crossed, now - before, 1.0)
        out = g_e.copy()
        out[:, DIODES:] = np.where(crossed, (i_e[:, DIODES:] - i_before) / span, g_e[:, DIODES:])
        return out

    def dc_current(self, x: F64) -> F64:
        """Return the current through Dc (junction plus leakage) at node voltages x."""
        c = self.c
        i_e, _ = self._elements(x @ c.a_matrix.T, np.zeros((len(x), 2)))
        return np.asarray(
            c.dc_sign * i_e[:, DC] + c.g_dc_linear * (x[:, P] - x[:, SWL]), dtype=np.float64
        )

    @staticmethod
    def _store(row: F64, w: _Walk, led_enabled: bool) -> None:  # noqa: FBT001
        """Keep one time point's raw state; _derive fills in the rest after the run."""
        row[:, REC_NODES:] = w.x
        row[:, REC_ICAP] = w.i_cap
        row[:, REC_VCAP] = w.caps[:, CAP_SMOOTH]
        row[:, REC_VBULK] = w.caps[:, CAP_BULK]
        row[:, REC_LEDON] = w.led_on & led_enabled
        row[:, REC_IDC] = w.i_dc

    def _derive(self, out: F64, times: F64, offset: F64 | None) -> None:
        """Turn stored raw states into the recorded quantities, all time points at once."""
        c = self.c
        x = out[:, :, REC_NODES:]
        v_lamp = -x[:, :, P]
        led = out[:, :, REC_LEDON] > 0.5  # noqa: PLR2004
        p_lamp = np.where(led, c.p_led * v_lamp / np.maximum(v_lamp, 1.0), 0.0)
        p_lamp += c.g_lamp * v_lamp * v_lamp
        phase = times[:, None] if offset is None else times[:, None] + offset[None, :]
        v_src = c.v_peak * np.sin(c.omega * phase)
        out[:, :, REC_VLAMP] = v_lamp
        out[:, :, REC_ICAP] *= -1.0
        out[:, :, REC_VCAP] *= -1.0
        out[:, :, REC_PLAMP] = p_lamp
        out[:, :, REC_IDC] *= c.dc_sign
        out[:, :, REC_IDC] += c.g_dc_linear * (x[:, :, P] - x[:, :, SWL])
        out[:, :, REC_PSRC] = v_src * (v_src - x[:, :, L]) * c.g_source


_HOLD_STAMP: Final = np.zeros((NODES, NODES))
_HOLD_STAMP[P, P] = 1.0


def grid(t0: float, t1: float, steps: int) -> F64:
    """Uniform time points from t0 to t1."""
    return np.linspace(t0, t1, steps + 1)
