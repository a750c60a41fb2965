"""One steady mains cycle, relay closed and open, as arrays (for pictures)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .analysis import (
    DISCHARGE_V,
    STEPS_PER_CYCLE,
    closed_steady,
    envelope,
    flags,
    lamp_state,
)
from .elements import (
    CAP_BULK,
    F64,
    REC_ICAP,
    REC_VLAMP,
    Circuit,
)
from .params import parse_scenario
from .solver import (
    Solver,
    grid,
)


def waveforms(mapping: Mapping[str, Any]) -> dict[str, F64]:
    """
    Time, lamp voltage and capacitor-branch current over one steady cycle.

    Keys: time_s, closed_lamp_v, closed_cap_current_a, open_lamp_v,
    open_cap_current_a. The open cycle is the periodic state with the LED
    driver stopped (with ghost flashing, the cycle at the start threshold).
    """
    sc = parse_scenario(mapping)
    c = Circuit.from_scenario(sc)
    solver = Solver(c)
    steady = closed_steady(solver)
    bulk = float(steady.state.caps[0, CAP_BULK])
    env = envelope(solver, 2.05 * c.v_peak, bulk, np.array([DISCHARGE_V]))
    root = env.root()
    ghost = c.p_led > 0.0 and (root is None or root >= c.led_start)
    v_open = c.led_start if ghost or root is None else root
    times = grid(0.0, c.period, STEPS_PER_CYCLE)
    state = lamp_state(np.array([v_open]), bulk)
    state, _ = solver.run(state, times, flags(1, closed=False), led_enabled=False)
    _, rec = solver.run(state, times, flags(1, closed=False), record=True, led_enabled=False)
    assert rec is not None  # noqa: S101
    return {
        "time_s": times,
        # The closed cycle's points are not evenly spaced (quiet stretches).
        "closed_lamp_v": np.interp(times, steady.times, steady.rec[:, REC_VLAMP]),
        "closed_cap_current_a": np.interp(times, steady.times, steady.rec[:, REC_ICAP]),
        "open_lamp_v": rec[:, 0, REC_VLAMP].copy(),
        "open_cap_current_a": rec[:, 0, REC_ICAP].copy(),
    }
