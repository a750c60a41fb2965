"""
Transient solver: nodal analysis, variable-step BDF2, Newton, batched runs.

Every run advances a batch of independent members on one common time grid,
so that tables over lamp voltages and the 36 closing phases cost one
vectorised run each instead of dozens of Python loops. The members may be
copies of one circuit or of different circuits (Many: simulate_many runs
the candidates of a sweep together); each carries its circuit's values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple, cast

import numpy as np
import numpy.typing as npt

from .elements import (
    BM,
    BOOL,
    BP,
    CAP_BULK,
    CAP_CABLE,
    CAP_LED,
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
    REC_PLAMP,
    REC_PSRC,
    REC_VBULK,
    REC_VCAP,
    REC_VLAMP,
    RECORDS,
    SWL,
    SWS,
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
    Matrices,
    MatrixValues,
    StepMatrices,
    bdf2,
    build_matrices,
    capacitors,
    junction_constants,
    quadratic_weights,
    switch_parts,
)

# A lamp node "held at 0 V" for the off-leakage figure.
HOLD_SIEMENS: Final = 1e4
LAMBERT_ITERATIONS: Final = 2
# A batch step's last unconverged members of a circuit iterate one at a time
# (single.py) once no more than this many of that circuit's are left.
STRAGGLERS: Final = 4


@dataclass(slots=True)
class State:
    """
    The batch's state at one time point; caps_prev/h_prev feed BDF2.

    fresh marks the members whose next step is backward Euler (caps_prev
    not valid for them); with caps_prev None every member's is. h_prev is
    one step size for all members, or one each.
    """

    x: F64
    caps: F64
    led_on: BOOL
    caps_prev: F64 | None = None
    h_prev: float | F64 = 0.0
    i_cap: F64 | None = None
    fresh: BOOL | None = None

    def take(self, index: npt.NDArray[np.intp]) -> State:
        """Return the members picked by index (copies)."""
        h_prev = self.h_prev if isinstance(self.h_prev, float) else self.h_prev[index].copy()
        return settled_state(
            self.x[index].copy(),
            self.caps[index].copy(),
            self.led_on[index].copy(),
            None if self.caps_prev is None else self.caps_prev[index].copy(),
            h_prev,
            None if self.i_cap is None else self.i_cap[index].copy(),
            None if self.fresh is None else self.fresh[index].copy(),
        )


def settled_state(  # noqa: PLR0917
    x: F64,
    caps: F64,
    led_on: BOOL,
    caps_prev: F64 | None,
    h_prev: float | F64,
    i_cap: F64 | None,
    fresh: BOOL | None,
) -> State:
    """
    Return a State in its simplest form: one h_prev where all agree, fresh only where mixed.

    A state whose members all restart has no caps_prev, as a single run's
    (single.py) after a restart, so a batch of one taken from it runs there.
    """
    if not isinstance(h_prev, float) and len(h_prev) and bool(np.all(h_prev == h_prev[0])):
        h_prev = float(h_prev[0])
    if fresh is not None and len(fresh):
        if bool(fresh.all()):
            caps_prev, fresh = None, None
        elif not fresh.any():
            fresh = None
    return State(x, caps, led_on, caps_prev, h_prev, i_cap, fresh)


def zero_state(batch: int) -> State:
    """Every node and capacitor at 0 V, LED driver stopped."""
    return State(np.zeros((batch, NODES)), np.zeros((batch, CAPS)), np.zeros(batch, dtype=bool))


# Per-member junction constants (Params.junction), by column.
J_NVT, J_INV_NVT, J_SCALE, J_ISAT, J_RS, J_Y0, J_VCRIT = range(7)
# Per-member circuit values (Params.values), by column.
(
    V_GSRC,
    V_VPEAK,
    V_OMEGA,
    V_PDEV_ON,
    V_PDEV_OFF,
    V_PLED,
    V_START,
    V_STOP,
    V_MEMORY,
    V_RBRANCH,
    V_RFUSE,
    V_DCSIGN,
    V_GDC,
    V_GLAMP,
) = range(14)


def _junction(c: Circuit) -> list[float]:
    y0, v_crit = junction_constants(c)
    return [c.n_vt, 1.0 / c.n_vt, c.n_vt / c.r_series, c.i_sat, c.r_series, y0, v_crit]


def _values(c: Circuit) -> list[float]:
    return [
        c.g_source,
        c.v_peak,
        c.omega,
        c.p_dev_on,
        c.p_dev_off,
        c.p_led,
        c.led_start,
        c.led_stop,
        c.smooth_memory,
        c.r_branch,
        c.r_fuse,
        c.dc_sign,
        c.g_dc_linear,
        c.g_lamp,
    ]


@dataclass(frozen=True, slots=True)
class Params:
    """
    Each member's circuit: its index in the run's circuits and its values.

    sign is each element's orientation (1, -1 reversed, 0 absent): a
    faulted member's element voltages are its sign times the designed
    ones, so one incidence matrix serves every member. None: all designed.
    """

    circuit: npt.NDArray[np.intp]
    one: bool
    junction: F64
    values: F64
    sign: F64 | None
    # The junction constants as floats where every member shares the circuit.
    shared: tuple[float, ...] | None = None

    def take(self, index: npt.NDArray[np.intp] | BOOL) -> Params:
        """Return the members picked by index."""
        return Params(
            self.circuit[index],
            self.one,
            self.junction[index],
            self.values[index],
            None if self.sign is None else self.sign[index],
            self.shared,
        )

    def col(self, k: int) -> F64:
        """Return one circuit value per member."""
        return self.values[:, k]

    def jc(self, k: int) -> F64 | float:
        """
        Return a junction constant: one float where every member shares the circuit, else a column.

        The same bits either way: numpy broadcasts the float to the same IEEE
        operations, without the column's cost on a small batch.
        """
        if self.shared is not None:
            return self.shared[k]
        return self.junction[:, k, None]


@dataclass(slots=True)
class _Walk:
    """Everything a run carries from one step to the next, per member."""

    x: F64
    x_prev: F64
    x_prev2: F64
    caps: F64
    caps_prev: F64
    fresh: BOOL
    h_prev: F64
    h_prev2: F64
    i_cap: F64
    i_dc: F64
    led_on: BOOL
    relay: BOOL
    hold: F64 | None
    led_active: BOOL
    offset: F64 | None
    p: Params
    # Every member known to share its step history (fresh, h_prev, h_prev2).
    alike: bool = False

    def take(self, index: npt.NDArray[np.intp]) -> _Walk:
        """Return the members picked by index (arrays copied by the indexing)."""
        return _Walk(
            self.x[index],
            self.x_prev[index],
            self.x_prev2[index],
            self.caps[index],
            self.caps_prev[index],
            self.fresh[index],
            self.h_prev[index],
            self.h_prev2[index],
            self.i_cap[index],
            self.i_dc[index],
            self.led_on[index],
            self.relay[index],
            None if self.hold is None else self.hold[index],
            self.led_active[index],
            None if self.offset is None else self.offset[index],
            self.p.take(index),
        )

    def put(self, index: npt.NDArray[np.intp], sub: _Walk) -> None:
        """Write a sub-walk's members back (arrays replaced, never mutated in place)."""
        for name in _MEMBER_FIELDS:
            arr = getattr(self, name).copy()
            arr[index] = getattr(sub, name)
            setattr(self, name, arr)
        self.alike = False

    def copy(self) -> _Walk:
        """Return a snapshot to step again from (arrays are replaced, not mutated)."""
        return _Walk(
            self.x,
            self.x_prev,
            self.x_prev2,
            self.caps,
            self.caps_prev,
            self.fresh,
            self.h_prev,
            self.h_prev2,
            self.i_cap,
            self.i_dc,
            self.led_on,
            self.relay,
            self.hold,
            self.led_active,
            self.offset,
            self.p,
            self.alike,
        )

    def restart(self, index: npt.NDArray[np.intp] | None = None) -> None:
        """Forget the history of these members (all: None): their next step is backward Euler."""
        if index is None:
            self.fresh = np.ones(len(self.x), dtype=bool)
            self.x_prev = self.x_prev2 = self.x
            self.h_prev2 = np.zeros(len(self.x))
            return
        self.alike = False
        for name, value in (("fresh", True), ("h_prev2", 0.0)):
            arr = getattr(self, name).copy()
            arr[index] = value
            setattr(self, name, arr)
        for name in ("x_prev", "x_prev2"):
            arr = getattr(self, name).copy()
            arr[index] = self.x[index]
            setattr(self, name, arr)


_MEMBER_FIELDS: Final = (
    "x",
    "x_prev",
    "x_prev2",
    "caps",
    "caps_prev",
    "fresh",
    "h_prev",
    "h_prev2",
    "i_cap",
    "i_dc",
    "led_on",
    "relay",
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

    def take(self, index: npt.NDArray[np.intp]) -> Controls:
        """Return the members picked by index."""
        return Controls(
            self.relay_closed[index],
            self.hold[index],
            None if self.close_index is None else self.close_index[index],
            None if self.offset is None else self.offset[index],
        )


@dataclass(slots=True)
class Tally:
    """Running figures of the capacitor-branch current over a time window."""

    start: F64
    stop: F64
    energy: F64
    peak: F64

    def take(self, index: npt.NDArray[np.intp]) -> Tally:
        """Return the members picked by index."""
        return Tally(self.start[index], self.stop[index], self.energy[index], self.peak[index])

    def put(self, index: npt.NDArray[np.intp], sub: Tally) -> None:
        """Write a sub-tally's members back (arrays replaced)."""
        for name in ("start", "stop", "energy", "peak"):
            arr = getattr(self, name).copy()
            arr[index] = getattr(sub, name)
            setattr(self, name, arr)


class Solver:
    """Steps one circuit: a single member in floats (single.py), a batch with numpy (Many)."""

    def __init__(self, circuit: Circuit) -> None:
        """Keep the circuit and the per-step-size matrices built on demand."""
        self.c = circuit
        self.matrices = StepMatrices(circuit)
        self._single: SingleRun | None = None
        self._many: Many | None = None

    @property
    def many(self) -> Many:
        """Return the batch stepper of this circuit alone."""
        if self._many is None:
            self._many = Many((self,))
        return self._many

    def _elements(self, v: F64, p_nl: F64) -> tuple[F64, F64]:
        """Currents and conductances of the ten nonlinear elements at voltages v (tests)."""
        p = self.many.params(np.zeros(len(v), dtype=np.intp))
        return self.many.elements(v, p_nl, p)

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
        batch = state.x.shape[0]
        if (
            batch == 1
            and tally is None
            and ctl.offset is None
            and ctl.close_index is None
            and not ctl.hold.any()
            and state.fresh is None
            and isinstance(state.h_prev, float)
        ):
            return self._run_single(
                state,
                times,
                relay=bool(ctl.relay_closed[0]),
                record=record,
                led_enabled=led_enabled,
            )
        return self.many.run(
            state,
            times,
            ctl,
            np.zeros(batch, dtype=np.intp),
            record=record,
            tally=tally,
            led_enabled=led_enabled,
        )

    def single_run(self) -> SingleRun:
        """Return this circuit's single-member runner (made once)."""
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
            h_prev=float(np.asarray(state.h_prev).reshape(-1)[0]),
            h_prev2=0.0,
            i_cap=0.0 if state.i_cap is None else float(state.i_cap[0]),
            i_dc=0.0,
            led_on=bool(state.led_on[0]),
            relay=relay,
        )
        return self.single_run(), walk

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
            self.many.derive(out, times, None, self.many.params(np.zeros(1, dtype=np.intp)))
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
        self.many.derive(out, at, None, self.many.params(np.zeros(1, dtype=np.intp)))
        return self._single_state(walk), out, at

    def dc_current(self, x: F64) -> F64:
        """Return the current through Dc (junction plus leakage) at node voltages x."""
        return self.many.dc_current(x, self.many.params(np.zeros(len(x), dtype=np.intp)))


# Per-circuit matrices stacked over the circuits of a Many, kept for this many step sizes.
STACKED_STEPS: Final = 8


class Many:
    """
    Steps a batch whose members may belong to different circuits.

    Each member carries its circuit's values (Params); its matrices are its
    circuit's for its step. Every decision is per member: Newton's
    convergence, a retry from the last point, a step cut in two, the
    sub-steps around a driver switching. So a member's result does not
    depend on which other members share its batch.
    """

    def __init__(self, solvers: Sequence[Solver]) -> None:
        """Stack the circuits' values; matrices are built per step size on demand."""
        self.solvers = tuple(solvers)
        circuits = [s.c for s in self.solvers]
        self._junction = np.array([_junction(c) for c in circuits])
        self._values = np.array([_values(c) for c in circuits])
        self._signs = np.array([c.signs for c in circuits])
        self._designed = np.array([c.nominal and c.elements == ELEMENTS for c in circuits])
        self._matrix_values = MatrixValues.of(circuits)
        self._stacked: dict[tuple[float, float], Matrices] = {}

    def params(self, members: npt.NDArray[np.intp]) -> Params:
        """Gather the values of each member's circuit."""
        one = bool(np.all(members == members[0])) if len(members) else True
        designed = bool(np.all(self._designed[members]))
        return Params(
            members,
            one,
            self._junction[members],
            self._values[members],
            None if designed else self._signs[members],
            tuple(self._junction[members[0]].tolist()) if one and len(members) else None,
        )

    def elements(self, v: F64, p_nl: F64, p: Params) -> tuple[F64, F64]:
        """
        Currents and conductances of the ten nonlinear elements at voltages v.

        Diode with series resistance, solved exactly: with u = i + Is, the
        quantity s = ln(u*Rs/(n*Vt)) solves s + exp(s) = y (Lambert W in log
        form), so the current grows only linearly at large forward voltage and
        Newton needs no junction limiting.
        """
        y = p.jc(J_Y0) + v[:, :DIODES] * p.jc(J_INV_NVT)
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
        u = np.exp(s) * p.jc(J_SCALE)
        i_e = np.empty_like(v)
        g_e = np.empty_like(v)
        i_e[:, :DIODES] = u - p.jc(J_ISAT)
        g_e[:, :DIODES] = u / (p.jc(J_NVT) + u * p.jc(J_RS))
        vp = v[:, DIODES:]
        vv = np.maximum(vp, 1.0)
        i_p = p_nl / vv
        i_e[:, DIODES:] = i_p
        g_e[:, DIODES:] = np.where(vp > 1.0, -i_p / vv, 0.0)
        return i_e, g_e

    @staticmethod
    def volts(x: F64, p: Params) -> F64:
        """Voltages across the ten elements of each member (its faults' orientation)."""
        v = cast("F64", x @ _A_T)
        return v if p.sign is None else v * p.sign

    def run(
        self,
        state: State,
        times: F64,
        ctl: Controls,
        members: npt.NDArray[np.intp],
        *,
        record: bool = False,
        tally: Tally | None = None,
        led_enabled: bool = True,
    ) -> tuple[State, F64 | None]:
        """Advance state over times[0] -> times[-1] (members: each one's circuit index)."""
        batch = state.x.shape[0]
        p = self.params(members)
        fresh = (
            np.ones(batch, dtype=bool)
            if state.caps_prev is None
            else (np.zeros(batch, dtype=bool) if state.fresh is None else state.fresh.copy())
        )
        walk = _Walk(
            x=state.x.copy(),
            x_prev=state.x.copy(),
            x_prev2=state.x.copy(),
            caps=state.caps.copy(),
            caps_prev=state.caps.copy() if state.caps_prev is None else state.caps_prev.copy(),
            fresh=fresh,
            h_prev=np.broadcast_to(np.asarray(state.h_prev, dtype=float), (batch,)).copy(),
            h_prev2=np.zeros(batch),
            i_cap=np.zeros(batch) if state.i_cap is None else state.i_cap.copy(),
            i_dc=np.zeros(batch),
            led_on=state.led_on.copy(),
            relay=ctl.relay_closed.copy(),
            hold=np.where(ctl.hold, HOLD_SIEMENS, 0.0) if ctl.hold.any() else None,
            led_active=led_enabled & (p.col(V_PLED) > 0.0),
            offset=ctl.offset,
            p=p,
        )
        any_led = bool(walk.led_active.any())
        steps = len(times) - 1
        out = np.empty((steps + 1, batch, RECORDS)) if record else None
        if out is not None:
            walk.i_dc = self.elements(self.volts(walk.x, p), np.zeros((batch, 2)), p)[0][:, DC]
            _store(out[0], walk, led_enabled)
        for n in range(steps):
            if ctl.close_index is not None:
                walk.relay = walk.relay | (ctl.close_index == n)
            t0, t1 = float(times[n]), float(times[n + 1])
            saved = walk.copy() if any_led else None
            # The tally's arrays are replaced, never changed in place: these
            # are its values before this step.
            before = (
                Tally(tally.start, tally.stop, tally.energy, tally.peak)
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
                    self._substeps(walk, saved, switched, (t0, t1), tally=tally, before=before)
            if out is not None:
                _store(out[n + 1], walk, led_enabled)
            pace()
        if out is not None:
            self.derive(out, times, walk.offset, p)
        final = settled_state(
            walk.x, walk.caps, walk.led_on, walk.caps_prev, walk.h_prev, walk.i_cap, walk.fresh
        )
        return final, out

    def _substeps(
        self,
        walk: _Walk,
        saved: _Walk,
        switched: npt.NDArray[np.intp],
        span: tuple[float, float],
        *,
        tally: Tally | None,
        before: Tally | None,
    ) -> None:
        """Redo one step in parts around each switched member's own switching."""
        t0, t1 = span
        sub = saved.take(switched)
        # From the tally as it was before the first attempt of this step.
        sub_tally = None if tally is None or before is None else before.take(switched)
        parts = self._switch_parts(saved, walk, switched)
        for k in range(max(len(member) for member in parts)):
            have = np.array([j for j, member in enumerate(parts) if len(member) > k], dtype=np.intp)
            a = np.array([parts[j][k][0] for j in have.tolist()])
            b = np.array([parts[j][k][1] for j in have.tolist()])
            every = len(have) == len(parts)
            part = sub if every else sub.take(have)
            part_tally = sub_tally if every or sub_tally is None else sub_tally.take(have)
            led_before = part.led_on
            self._step_or_split(part, t0 + (t1 - t0) * a, t0 + (t1 - t0) * b, part_tally, 0)
            # BDF2 would carry the slope from before the switching into the
            # next part: restart with a backward-Euler step.
            flipped = np.flatnonzero(part.led_on != led_before)
            if len(flipped):
                part.restart(flipped)
            if not every:
                sub.put(have, part)
                if sub_tally is not None and part_tally is not None:
                    sub_tally.put(have, part_tally)
        # The full step's size stays the last one (as single.py's substeps).
        full_h = walk.h_prev
        walk.put(switched, sub)
        walk.h_prev = full_h
        if tally is not None and sub_tally is not None:
            tally.put(switched, sub_tally)
        # Back to the full step: one backward-Euler step restarts BDF2.
        walk.restart(switched)

    @staticmethod
    def _switch_parts(
        saved: _Walk, walk: _Walk, switched: npt.NDArray[np.intp]
    ) -> list[list[tuple[float, float]]]:
        """
        Split each switched member's step around its driver switching, located on the lamp voltage.

        Each threshold crossing is interpolated between the step's ends.
        """
        p = saved.p
        v0 = -saved.x[switched, P]
        v1 = -walk.x[switched, P]
        level = np.where(
            saved.led_on[switched], p.values[switched, V_STOP], p.values[switched, V_START]
        )
        span = v1 - v0
        safe = np.where(np.abs(span) > 0.0, span, 1.0)
        theta = np.clip((level - v0) / safe, 0.0, 1.0)
        return [switch_parts((t,)) for t in theta.tolist()]

    def _step_or_split(
        self, w: _Walk, t0: F64 | float, t1: F64 | float, tally: Tally | None, depth: int
    ) -> None:
        """Step; members whose Newton fails take the step as two halves (SPICE's step cut)."""
        saved = w.copy()
        failed = self._step(w, t0, t1, tally)
        if not len(failed):
            return
        if depth >= MAX_SPLITS:
            msg = "the circuit equations did not converge"
            raise ArithmeticError(msg)
        sub = saved.take(failed)
        # _step left the failed members' tally alone.
        sub_tally = None if tally is None else tally.take(failed)
        size = (len(w.x),)
        a, b = np.broadcast_to(t0, size)[failed], np.broadcast_to(t1, size)[failed]
        mid = 0.5 * (a + b)
        self._step_or_split(sub, a, mid, sub_tally, depth + 1)
        self._step_or_split(sub, mid, b, sub_tally, depth + 1)
        sub.restart()
        w.put(failed, sub)
        if tally is not None and sub_tally is not None:
            tally.put(failed, sub_tally)

    def _matrices(self, p: Params, h: F64, a0: F64, relay: BOOL) -> tuple[F64, F64, F64]:
        """Each member's matrix G (its relay's), history map and branch conductance for its step."""
        h0, a00 = float(h[0]), float(a0[0])
        if bool(np.all(h == h0)) and bool(np.all(a0 == a00)):
            return self._matrices_at(p, h0, a00, relay)
        g_open, g_closed, hmap, g_rc = build_matrices(self._matrix_values.take(p.circuit), h, a0)
        return _by_relay(relay, g_open, g_closed, None), hmap, g_rc

    def _matrices_at(self, p: Params, h: float, a0: float, relay: BOOL) -> tuple[F64, F64, F64]:
        """Return the members' matrices for one step size: their circuit's, or stacked."""
        if p.one:
            own = self.solvers[int(p.circuit[0])].matrices(h, a0)
            # Its branch conductance is one float, which numpy broadcasts as the column.
            return _by_relay(relay, own[0], own[1], None), own[2], cast("F64", own[3])
        key = (h, a0)
        stacked = self._stacked.get(key)
        if stacked is None:
            if len(self._stacked) >= STACKED_STEPS:
                del self._stacked[next(iter(self._stacked))]
            stacked = self._stacked[key] = build_matrices(self._matrix_values, h, a0)
        g_open, g_closed, hmap, g_rc = stacked
        index = p.circuit
        # Only the relay state's rows are gathered: a stack of 8x8 matrices
        # per member is most of a large batch step's memory traffic.
        return _by_relay(relay, g_open, g_closed, index), hmap[index], g_rc[index]

    def _predict_alike(self, w: _Walk, h: float, h1: float, h2: float) -> F64:
        """_predict where every member has the same step history (the same bits)."""
        x = w.x
        if h1 <= 0.0:
            return x
        if h2 > 0.0:
            l0, l1, l2 = quadratic_weights(h, h1, h2)
            guess = l0 * x + l1 * w.x_prev + l2 * w.x_prev2
        else:
            guess = x + (x - w.x_prev) * (h / h1)
        return self._forward_check(w, guess)

    def _step(
        self, w: _Walk, t0: F64 | float, t1: F64 | float, tally: Tally | None
    ) -> npt.NDArray[np.intp]:
        """One implicit step of every member from t0 to t1, in place; return the failed members."""
        p = w.p
        if isinstance(t0, float) and isinstance(t1, float) and (w.alike or _same_history(w)):
            # Every member steps alike (the common grid): scalar coefficients,
            # the same bits as the per-member ones below.
            step = t1 - t0
            h1 = float(w.h_prev[0])
            a_0 = 1.0
            hist = -w.caps
            if not bool(w.fresh[0]):
                a_0, k1, k2 = bdf2(step, h1)
                hist = k1 * w.caps + k2 * w.caps_prev
            g, hmap, g_rc = self._matrices_at(p, step, a_0, w.relay)
            guess = self._predict_alike(w, step, h1, float(w.h_prev2[0]))
            h: F64 | float = step
            a0: F64 | float = a_0
            alike = True
        else:
            alike = False
            t0 = np.broadcast_to(t0, (len(w.x),))
            t1 = np.broadcast_to(t1, (len(w.x),))
            h = t1 - t0
            a0, hist = _history(w, h)
            g, hmap, g_rc = self._matrices(p, h, np.broadcast_to(a0, h.shape), w.relay)
            guess = self._predict(w, h)
        if w.hold is not None:
            g = g + w.hold[:, None, None] * _HOLD_STAMP
        b = _injected(hist, hmap)
        phase = t1 if w.offset is None else t1 + w.offset
        b[:, L] += p.col(V_GSRC) * p.col(V_VPEAK) * np.sin(p.col(V_OMEGA) * phase)
        failed = self._solve(w, guess, g, b)
        i_cap_prev = w.i_cap
        w.i_cap, caps = capacitors(
            w.x.T,
            hist[:, CAP_SMOOTH] * p.col(V_MEMORY),
            cast("F64", a0),
            g_rc,
            p.col(V_RBRANCH),
        )
        w.caps = np.array(caps).T.copy()
        w.h_prev = np.full(len(w.x), h) if isinstance(h, float) else h
        w.alike = alike
        v_lamp = -w.x[:, P]
        w.led_on = np.where(
            w.led_active,
            np.where(w.led_on, v_lamp >= p.col(V_STOP), v_lamp > p.col(V_START)),
            w.led_on,
        )
        if tally is not None:
            inside = (t0 >= tally.start) & (t1 <= tally.stop + 1e-12)
            if len(failed):
                inside[failed] = False
            # Trapezoid rule: the charging current decays over a few steps.
            i2 = 0.5 * (w.i_cap * w.i_cap + i_cap_prev * i_cap_prev)
            tally.energy = tally.energy + np.where(inside, i2 * (p.col(V_RFUSE) * h), 0.0)
            tally.peak = np.where(inside, np.maximum(tally.peak, np.abs(w.i_cap)), tally.peak)
        return failed

    def _solve(self, w: _Walk, guess: F64, g: F64, b: F64) -> npt.NDArray[np.intp]:
        """Solve the step's node voltages into w (history moved on); return the failed members."""
        p = w.p
        p_nl = np.empty((len(w.x), 2))
        p_nl[:, 0] = np.where(w.relay, p.col(V_PDEV_ON), p.col(V_PDEV_OFF))
        p_nl[:, 1] = np.where(w.led_active & w.led_on, p.col(V_PLED), 0.0)
        x_new, i_dc, failed = self._newton(guess, g, b, p_nl, p)
        if len(failed):
            # An extrapolation across a switching (relay, driver) can start
            # Newton too far away; the last point is always a safe start.
            sub_g = g[failed] if g.ndim == 3 else g  # noqa: PLR2004
            x_re, i_re, still = self._newton(
                w.x[failed], sub_g, b[failed], p_nl[failed], p.take(failed)
            )
            x_new[failed] = x_re
            i_dc[failed] = i_re
            failed = failed[still]
        w.x_prev2 = w.x_prev
        w.h_prev2 = w.h_prev
        w.x_prev = w.x
        w.x, w.i_dc = x_new, i_dc
        w.caps_prev = w.caps
        w.fresh = np.zeros(len(w.x), dtype=bool)
        return failed

    def _predict(self, w: _Walk, h: F64) -> F64:
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
        started = h1 > 0.0
        if not started.any():
            return x
        quad = h2 > 0.0
        safe1 = np.where(started, h1, 1.0)
        if quad.any():
            safe2 = np.where(quad, h2, 1.0)
            l0, l1, l2 = quadratic_weights(h, safe1, safe2)
            guess = l0[:, None] * x + l1[:, None] * w.x_prev + l2[:, None] * w.x_prev2
            if not quad.all():
                linear = x + (x - w.x_prev) * (h / safe1)[:, None]
                guess = np.where(quad[:, None], guess, linear)
        else:
            guess = x + (x - w.x_prev) * (h / safe1)[:, None]
        if not started.all():
            guess = np.where(started[:, None], guess, x)
        return self._forward_check(w, guess)

    def _forward_check(self, w: _Walk, guess: F64) -> F64:
        """Start from the last point the members whose guess drives a junction further on."""
        x = w.x
        v_new = self.volts(guess, w.p)[:, :DIODES]
        v_old = self.volts(x, w.p)[:, :DIODES]
        two_a = 2.0 * w.p.jc(J_NVT)
        bad = ((v_new > FORWARD_V) & (v_new > v_old + two_a)).any(axis=1)
        if bad.any():
            guess[bad] = x[bad]
        return guess

    def _linearise(self, v: F64, v_eval: F64, p_nl: F64, p: Params) -> tuple[F64, F64, F64, BOOL]:
        """Return the evaluation point, currents, conductances and the limited members."""
        a = p.jc(J_NVT)
        vd, vo = v[:, :DIODES], v_eval[:, :DIODES]
        jump = vd - vo
        limit = (vd > p.jc(J_VCRIT)) & (jump > 2.0 * a)
        limited: BOOL = np.asarray(limit.any(axis=1), dtype=bool)
        if limited.any():
            with np.errstate(divide="ignore", invalid="ignore"):
                soft = np.where(
                    vo > 0.0,
                    vo + a * np.log1p(np.maximum(jump, 0.0) / a),
                    a * np.log(np.maximum(vd, a) / a),
                )
            v_eval = v.copy()
            v_eval[:, :DIODES] = np.where(limit, soft, vd)
            i_e, g_e = self.elements(v_eval, p_nl, p)
            return v_eval, i_e + g_e * (v - v_eval), g_e, limited
        i_e, g_e = self.elements(v, p_nl, p)
        return v, i_e, g_e, limited

    def _newton(
        self, guess: F64, g: F64, b: F64, p_nl: F64, p: Params
    ) -> tuple[F64, F64, npt.NDArray[np.intp]]:
        """
        Newton with SPICE's junction limiting (pnjlim) on the eight diodes.

        Elements are linearised at the limited voltages v_eval; a step that
        would push a junction far up its exponential is shortened to a
        logarithmic one, so Newton never has to walk back down by n*Vt per
        iteration. Returns the solution, Dc's junction current and the
        members that did not converge.
        """
        x = guess
        v = v_eval = self.volts(x, p)
        # Members leave the iteration as they converge: in a batch some member
        # is nearly always switching, and the others need not iterate with it.
        x_out = guess.copy()
        i_dc = np.zeros(len(guess))
        active = np.arange(len(x))
        failed: list[npt.NDArray[np.intp]] = []
        v_last: F64 | None = None
        v_last2: F64 | None = None
        for _ in range(NEWTON_MAX):
            v_eval, i_e, g_e, limited = self._linearise(v, v_eval, p_nl, p)
            if v_last is not None and v_last2 is not None:
                g_e = _knee_chords(v, v_last, v_last2, i_e, g_e, p_nl)
            v_last, v_last2 = v, v_last
            # Dc's junction current at the last linearisation point, for the
            # recorded waveforms (Dc's own, whichever way round it is fitted).
            i_dc_now = i_e[:, DC]
            if p.sign is not None:
                i_e = i_e * p.sign
                g_e = g_e * np.abs(p.sign)
            f = (g @ x[..., None])[..., 0] - b + i_e @ _A
            jac = g + (g_e @ _OUTER).reshape(len(x), NODES, NODES)
            with np.errstate(invalid="ignore", over="ignore"):
                dx = SOLVE(jac, f)
                x = x - dx
                step = np.abs(dx).max(axis=1)
            # Newton converges quadratically here: after a 10 mV correction
            # the remaining error is about a millivolt, which changed no
            # figure by more than 1e-5 against a 1 mV tolerance (the
            # off-leakage is evaluated at the converged point instead).
            done = (step < NEWTON_TOL_V) & ~limited
            lost = ~np.isfinite(step)
            if done.all():
                x_out[active] = x
                i_dc[active] = i_dc_now
                return x_out, i_dc, np.concatenate((*failed, np.empty(0, dtype=np.intp)))
            leave = done | lost
            if leave.any():
                # Integer rows: each boolean mask would be searched again per array.
                left = np.flatnonzero(done)
                x_out[active[left]] = x[left]
                i_dc[active[left]] = i_dc_now[left]
                if lost.any():
                    failed.append(active[lost])
                keep = np.flatnonzero(~leave)
                active = active[keep]
                it = _Iterate(x, v_eval, b, p_nl, v, v_last2, g, p).take(keep)
                alone = self._stragglers(it.p.circuit, left=p.circuit[leave])
                if alone.any():
                    out = (x_out, i_dc, active[alone], it.p.take(alone))
                    lone = it.take(np.flatnonzero(alone))
                    failed.append(self._finish_singly(lone.x, lone.g, lone.b, lone.p_nl, out))
                    active = active[~alone]
                    it = it.take(np.flatnonzero(~alone))
                if not len(active):
                    break
                x, v_eval, b, p_nl, v_last, v_last2, g, p = it
            v = self.volts(x, p)
        else:
            failed.append(active)
        return x_out, i_dc, np.sort(np.concatenate((*failed, np.empty(0, dtype=np.intp))))

    def _stragglers(self, circuit: npt.NDArray[np.intp], *, left: npt.NDArray[np.intp]) -> BOOL:
        """
        Pick the members to finish one at a time: a circuit's last few, counted per circuit.

        Per circuit, and only where one of its own members just converged, as
        the batch of one circuit alone would: so a member takes the same path
        (the same bits) whichever other circuits share its batch.
        """
        size = len(self.solvers)
        remain = np.bincount(circuit, minlength=size)
        gone = np.bincount(left, minlength=size)
        pick = (gone > 0) & (remain <= STRAGGLERS)
        return np.asarray(pick[circuit], dtype=bool)

    def _finish_singly(
        self,
        x: F64,
        g: F64,
        b: F64,
        p_nl: F64,
        out: tuple[F64, F64, npt.NDArray[np.intp], Params],
    ) -> npt.NDArray[np.intp]:
        """Iterate the last unconverged members one at a time (single.py), into out."""
        x_out, i_dc, active, p = out
        lost = []
        for j, member in enumerate(active.tolist()):
            single = self.solvers[int(p.circuit[j])].single_run()
            g_j = g[j] if g.ndim == 3 else g  # noqa: PLR2004
            try:
                x_j, i_j = single.newton_matrix(
                    x[j].tolist(), g_j, b[j], (float(p_nl[j, 0]), float(p_nl[j, 1]))
                )
            except ArithmeticError:
                lost.append(member)
                continue
            x_out[member] = x_j
            i_dc[member] = i_j
        return np.array(lost, dtype=np.intp)

    def dc_current(self, x: F64, p: Params) -> F64:
        """Return the current through Dc (junction plus leakage) at node voltages x."""
        i_e, _ = self.elements(self.volts(x, p), np.zeros((len(x), 2)), p)
        return np.asarray(
            p.col(V_DCSIGN) * i_e[:, DC] + p.col(V_GDC) * (x[:, P] - x[:, SWL]), dtype=np.float64
        )

    @staticmethod
    def derive(out: F64, times: F64, offset: F64 | None, p: Params) -> None:
        """Turn stored raw states into the recorded quantities, all time points at once."""
        x = out[:, :, REC_NODES:]
        v_lamp = -x[:, :, P]
        led = out[:, :, REC_LEDON] > 0.5  # noqa: PLR2004
        p_lamp = np.where(led, p.col(V_PLED) * v_lamp / np.maximum(v_lamp, 1.0), 0.0)
        p_lamp += p.col(V_GLAMP) * v_lamp * v_lamp
        phase = times[:, None] if offset is None else times[:, None] + offset[None, :]
        v_src = p.col(V_VPEAK) * np.sin(p.col(V_OMEGA) * phase)
        out[:, :, REC_VLAMP] = v_lamp
        out[:, :, REC_ICAP] *= -1.0
        out[:, :, REC_VCAP] *= -1.0
        out[:, :, REC_PLAMP] = p_lamp
        out[:, :, REC_IDC] *= p.col(V_DCSIGN)
        out[:, :, REC_IDC] += p.col(V_GDC) * (x[:, :, P] - x[:, :, SWL])
        out[:, :, REC_PSRC] = v_src * (v_src - x[:, :, L]) * p.col(V_GSRC)


class _Iterate(NamedTuple):
    """What Newton carries per unconverged member from one iteration to the next."""

    x: F64
    v_eval: F64
    b: F64
    p_nl: F64
    v_last: F64
    v_last2: F64 | None
    g: F64
    p: Params

    def take(self, keep: npt.NDArray[np.intp]) -> _Iterate:
        """Return the members kept (g stays whole where they share it)."""
        return _Iterate(
            self.x[keep],
            self.v_eval[keep],
            self.b[keep],
            self.p_nl[keep],
            self.v_last[keep],
            None if self.v_last2 is None else self.v_last2[keep],
            _rows(self.g, keep),
            self.p.take(keep),
        )


def _same_history(w: _Walk) -> bool:
    """Whether every member has the same step history (sizes, and restarted or not)."""
    return (
        bool(np.all(w.fresh == w.fresh[0]))
        and bool(np.all(w.h_prev == w.h_prev[0]))
        and bool(np.all(w.h_prev2 == w.h_prev2[0]))
    )


def _history(w: _Walk, h: F64) -> tuple[F64, F64]:
    """Return each member's BDF2 a0 and capacitor history (backward Euler where fresh)."""
    fresh = w.fresh
    if not fresh.any():
        a0, k1, k2 = bdf2(h, w.h_prev)
        return a0, k1[:, None] * w.caps + k2[:, None] * w.caps_prev
    if fresh.all():
        return np.ones(len(h)), -w.caps
    a0, k1, k2 = bdf2(h, np.where(fresh, h, w.h_prev))
    hist = np.where(fresh[:, None], -w.caps, k1[:, None] * w.caps + k2[:, None] * w.caps_prev)
    return np.where(fresh, 1.0, a0), hist


def _injected(hist: F64, hmap: F64) -> F64:
    """
    Currents injected by the capacitors' history, hist @ hmap, per member.

    Written out over hmap's six entries, so that a map shared by all members
    and one per member give the same bits (a matrix product sums in an order
    of its own).
    """
    b = np.zeros((len(hist), NODES))
    cable, bulk = hist[:, CAP_CABLE], hist[:, CAP_BULK]
    b[:, L] = cable * hmap[..., CAP_CABLE, L]
    b[:, SWS] = cable * hmap[..., CAP_CABLE, SWS]
    b[:, BP] = bulk * hmap[..., CAP_BULK, BP]
    b[:, BM] = bulk * hmap[..., CAP_BULK, BM]
    b[:, P] = (
        hist[:, CAP_LED] * hmap[..., CAP_LED, P] + hist[:, CAP_SMOOTH] * hmap[..., CAP_SMOOTH, P]
    )
    return b


def _by_relay(relay: BOOL, g_open: F64, g_closed: F64, index: npt.NDArray[np.intp] | None) -> F64:
    """Return each member's G for its relay state (rows index of stacks, or all of them)."""
    if relay.all():
        return g_closed if index is None else g_closed[index]
    if not relay.any():
        return g_open if index is None else g_open[index]
    if index is not None:
        g_open, g_closed = g_open[index], g_closed[index]
    return np.where(relay[:, None, None], g_closed, g_open)


def _rows(g: F64, index: npt.NDArray[np.intp] | BOOL) -> F64:
    """Return the members' rows of a stack of matrices, or the one matrix they share."""
    return g[index] if g.ndim == 3 else g  # noqa: PLR2004


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


def _store(row: F64, w: _Walk, led_enabled: bool) -> None:  # noqa: FBT001
    """Keep one time point's raw state; derive fills in the rest after the run."""
    row[:, REC_NODES:] = w.x
    row[:, REC_ICAP] = w.i_cap
    row[:, REC_VCAP] = w.caps[:, CAP_SMOOTH]
    row[:, REC_VBULK] = w.caps[:, CAP_BULK]
    row[:, REC_LEDON] = w.led_on & led_enabled
    row[:, REC_IDC] = w.i_dc


_A: Final = np.array([[0.0] * NODES] * len(ELEMENTS))
for _k, (_pos, _neg) in enumerate(ELEMENTS):
    if _pos >= 0:
        _A[_k, _pos] += 1.0
    if _neg >= 0:
        _A[_k, _neg] -= 1.0
_A_T: Final = _A.T.copy()
_OUTER: Final = np.einsum("ki,kj->kij", _A, _A).reshape(len(ELEMENTS), -1)


_HOLD_STAMP: Final = np.zeros((NODES, NODES))
_HOLD_STAMP[P, P] = 1.0


def grid(t0: float, t1: float, steps: int) -> F64:
    """Uniform time points from t0 to t1."""
    return np.linspace(t0, t1, steps + 1)
