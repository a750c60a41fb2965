"""The open relay's slow figures where the LED driver drains the lamp side slowly.

The slow-manifold shortcut (the per-cycle change D(V) minus the running
driver's pull) is checked against stepping the same circuit cycle by cycle.
"""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.no_neutral.circuit import parse_scenario, simulate
from custom_components.no_neutral.circuit.analysis import closed_steady, first_crossing, flags
from custom_components.no_neutral.circuit.elements import REC_VLAMP, Circuit
from custom_components.no_neutral.circuit.solver import Solver, grid

# A small driver that stops only below 50 V: the lamp side falls past 50 V
# while it still runs, over dozens of mains cycles.
LOW_STOP = {"lamp": {"led_stop_v": 30, "led_start_v": 60, "power_w": 0.5}}
# No bleed resistor and a long cable: the off state charges the lamp side
# until the driver starts (ghost flashing); a 20 mW driver then takes seconds
# to drain it back to its stop voltage.
SLOW_GHOST = {
    "smoothing": {"bleed_resistance_ohm": None},
    "cable": {"length_m": 30, "capacitance_pf_per_m": 100},
    "lamp": {"power_w": 0.02},
}


def _stepped_discharge(scenario: dict[str, Any]) -> float:
    """Open at phase 0 from the closed steady state; step until v_lamp < 50 V."""
    c = Circuit.from_scenario(parse_scenario(scenario))
    solver = Solver(c)
    state = closed_steady(solver).state
    state.caps_prev = None
    t0 = 0.0
    for _ in range(1500):
        times = grid(t0, t0 + c.period, 100)
        state, rec = solver.run(state, times, flags(1, closed=False), record=True)
        assert rec is not None
        hit = first_crossing(times, rec[:, 0, REC_VLAMP], 50.0)
        if hit is not None:
            return hit
        t0 += c.period
    pytest.fail("no discharge within 30 s")


def test_discharge_with_the_driver_running_below_50_v() -> None:
    figures = simulate(LOW_STOP)
    stepped = _stepped_discharge(LOW_STOP)
    # A second or so: dozens of cycles, well past what is stepped directly.
    assert stepped > 0.5
    assert figures["discharge_time_s"] == pytest.approx(stepped, rel=0.05)


def test_ghost_flash_period_with_a_slow_drain() -> None:
    figures = simulate(SLOW_GHOST)
    assert figures["ghost_flash"] is True
    period = figures["ghost_flash_period_s"]
    assert isinstance(period, float)
    # The driver alone cannot drain the lamp side (15 uF + 2.2 uF) from its
    # start to its stop voltage faster than its 20 mW allow; the recharge
    # comes on top.
    drain = 17.2e-6 * (100.0**2 - 70.0**2) / 2.0 / 0.02
    assert drain < period < 30.0
    assert "ghost_flash" in figures["warnings"]
