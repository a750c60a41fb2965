"""
One time step's formulas, shared by the batch solver and the single run.

solver.py advances a batch with numpy, single.py one member in plain floats
(for speed): the same method, variable-step BDF2 with a predictor and Newton.
Its constants and scalar formulas live here once, below both: BDF2's
coefficients, the predictor's weights, the step's conductance matrices, the
capacitor voltages after a step and the cuts of a step around a driver
switching.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

from .elements import (
    BM,
    BP,
    CAP_BULK,
    CAP_CABLE,
    CAP_LED,
    CAP_SMOOTH,
    CAPS,
    F64,
    LO,
    NODES,
    RELAY_CLOSED_OHM,
    SWS,
    Circuit,
    L,
    P,
    stamp,
)

NEWTON_TOL_V: Final = 1e-2
NEWTON_MAX: Final = 100
# A predicted junction voltage above this, and rising, starts Newton from the
# last point instead.
FORWARD_V: Final = 0.3
SUBSTEPS: Final = 20
MAX_SPLITS: Final = 12

type Matrices = tuple[F64, F64, F64, F64]


def _solve_wrapped(a: F64, b: F64) -> F64:  # pragma: no cover - fallback only
    return np.asarray(np.linalg.solve(a, b[..., None])[..., 0], dtype=np.float64)


def _solve_batched() -> Callable[[F64, F64], F64]:
    # numpy's batched LAPACK gufunc without np.linalg.solve's Python wrapper,
    # which costs three times the solve itself for an 8x8 system.
    try:
        from numpy.linalg import _umath_linalg  # noqa: PLC0415
    except ImportError:  # pragma: no cover - older or newer numpy layouts
        return _solve_wrapped
    solve1: Callable[[F64, F64], F64] = _umath_linalg.solve1
    return solve1


SOLVE: Final = _solve_batched()


def junction_constants(c: Circuit) -> tuple[float, float]:
    """
    Return y0, the Lambert form's offset at 0 V, and SPICE's critical voltage.

    With u = i + Is, s = ln(u*Rs/(n*Vt)) solves s + exp(s) = y0 + v/(n*Vt);
    above the critical voltage Newton limits a junction's step (pnjlim).
    """
    y0 = math.log(c.i_sat * c.r_series / c.n_vt) + c.i_sat * c.r_series / c.n_vt
    v_crit = c.n_vt * math.log(c.n_vt / (math.sqrt(2.0) * c.i_sat))
    return y0, v_crit


class MatrixValues(NamedTuple):
    """The values behind a step's matrices: one circuit's (floats) or one per row (arrays)."""

    g_static: F64
    c_cable: F64
    c_bulk: F64
    c_led: F64
    c_smooth: F64
    r_branch: F64
    smooth_memory: F64
    has_branch: npt.NDArray[np.bool_]
    cap_shorted: npt.NDArray[np.bool_]
    g_relay_open: F64

    @classmethod
    def of(cls, circuits: Sequence[Circuit]) -> MatrixValues:
        """Stack the circuits' values, one row each."""

        def col(name: str) -> F64:
            return np.array([float(getattr(c, name)) for c in circuits])

        return cls(
            np.array([c.g_static for c in circuits]),
            col("c_cable"),
            col("c_bulk"),
            col("c_led"),
            col("c_smooth"),
            col("r_branch"),
            col("smooth_memory"),
            np.array([c.has_branch for c in circuits]),
            np.array([c.cap_shorted for c in circuits]),
            col("g_relay_open"),
        )

    def take(self, index: npt.NDArray[np.intp]) -> MatrixValues:
        """Return the rows picked by index."""
        return MatrixValues._make(value[index] for value in self)


def build_matrices(v: MatrixValues, h: F64 | float, a0: F64 | float) -> Matrices:
    """
    Conductance matrices (relay open, closed), history map and branch conductance, per row.

    h and a0 are one value or one per row of v. One formula for a circuit's
    cached matrices and for a batch whose members step differently, so that
    both give the same bits.
    """
    n = len(v.c_cable)
    h = np.broadcast_to(h, (n,))
    a0 = np.broadcast_to(a0, (n,))
    with np.errstate(divide="ignore"):
        reactance = np.where(v.cap_shorted, 0.0, h / (a0 * v.c_smooth))
        g_rc = np.where(v.has_branch, 1.0 / (v.r_branch + reactance), 0.0)
    return (*_stamped(v, h, a0, g_rc), g_rc)


def _stamped(
    v: Circuit | MatrixValues, h: F64 | float, a0: F64 | float, g_rc: F64 | float
) -> tuple[F64, F64, F64]:
    """Stamp a step's capacitors and relay: one circuit's (floats) or one per row (arrays)."""
    g = v.g_static.copy()
    gc, gb, gl = v.c_cable * a0 / h, v.c_bulk * a0 / h, v.c_led * a0 / h
    stamp(g, L, SWS, gc)
    stamp(g, BP, BM, gb)
    stamp(g, P, -1, gl + g_rc)
    g_open = g.copy()
    stamp(g_open, L, LO, v.g_relay_open)
    g_closed = g
    stamp(g_closed, L, LO, 1.0 / RELAY_CLOSED_OHM)
    # Injected currents = hist @ hmap, hist being a1*v_n + a2*v_(n-1) per capacitor.
    hmap = np.zeros((*g.shape[:-2], CAPS, NODES))
    hmap[..., CAP_CABLE, L] = -v.c_cable / h
    hmap[..., CAP_CABLE, SWS] = v.c_cable / h
    hmap[..., CAP_BULK, BP] = -v.c_bulk / h
    hmap[..., CAP_BULK, BM] = v.c_bulk / h
    # The LED capacitor sits N-P, so its current enters P with the other sign.
    hmap[..., CAP_LED, P] = v.c_led / h
    hmap[..., CAP_SMOOTH, P] = -g_rc / a0 * v.smooth_memory
    return g_open, g_closed, hmap


class StepMatrices:
    """One circuit's conductance matrices per step size, built on demand and kept."""

    def __init__(self, circuit: Circuit) -> None:
        """Keep the circuit; no matrix is built yet."""
        self.c = circuit
        self._cache: dict[tuple[float, float], tuple[F64, F64, F64, float]] = {}

    def __call__(self, h: float, a0: float) -> tuple[F64, F64, F64, float]:
        """
        Conductance matrices (relay open, closed) and history map for one step.

        build_matrices in floats (a tenth of its numpy calls' cost on one
        circuit), operation for operation: the same bits.
        """
        key = (h, a0)
        found = self._cache.get(key)
        if found is not None:
            return found
        c = self.c
        reactance = 0.0 if c.cap_shorted else h / (a0 * c.c_smooth)
        g_rc = 1.0 / (c.r_branch + reactance) if c.has_branch else 0.0
        g_open, g_closed, hmap = _stamped(c, h, a0, g_rc)
        found = (g_open, g_closed, hmap, g_rc)
        self._cache[key] = found
        return found


def bdf2[V: (float, F64)](h: V, h_prev: V) -> tuple[V, V, V]:
    """
    Variable-step BDF2 for a step h after h_prev: a0 and the history weights k1, k2.

    A capacitor's current is C*a0/h * (v_new + hist/a0), hist = k1*v_n + k2*v_(n-1).
    """
    r = h / h_prev
    return (1.0 + 2.0 * r) / (1.0 + r), -(1.0 + r), r * r / (1.0 + r)


def quadratic_weights[V: (float, F64)](h: V, h1: V, h2: V) -> tuple[V, V, V]:
    """Lagrange weights extrapolating the last three points (steps h1, h2) to h after the last."""
    l0 = (h + h1) * (h + h1 + h2) / (h1 * (h1 + h2))
    l1 = -h * (h + h1 + h2) / (h1 * h2)
    l2 = h * (h + h1) / ((h1 + h2) * h2)
    return l0, l1, l2


def capacitors[V: (float, F64)](
    x: Sequence[V] | F64, hist_smooth: V, a0: V, g_rc: V, r_branch: V
) -> tuple[V, list[V]]:
    """
    Return the smoothing branch's current and the capacitor voltages (CAP_* order) after a step.

    x holds the solved node voltages by node number: a float each, or over a
    batch a row each (the transposed batch).
    """
    i_cap = g_rc * (x[P] + hist_smooth / a0)
    return i_cap, [x[L] - x[SWS], x[BP] - x[BM], -x[P], x[P] - r_branch * i_cap]


def switch_parts(thetas: Iterable[float]) -> list[tuple[float, float]]:
    """
    Split a step around driver switchings at fractions thetas of it.

    Stepping to just before and just after each switching makes it lag by
    about h/SUBSTEPS, as SUBSTEPS equal sub-steps would, in a few steps.
    """
    half = 0.5 / SUBSTEPS
    cuts = [0.0]
    for x in sorted({edge for theta in thetas for edge in (theta - half, theta + half)}):
        if cuts[-1] + half <= x <= 1.0 - half:
            cuts.append(x)
    cuts.append(1.0)
    return list(itertools.pairwise(cuts))
