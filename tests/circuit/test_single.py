"""The single-member path (single.py) gives what the batch solver gives, to rounding."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from custom_components.no_neutral.circuit import parse_scenario
from custom_components.no_neutral.circuit.analysis import flags, lamp_state
from custom_components.no_neutral.circuit.elements import (
    ELEMENTS,
    NODES,
    REC_LEDON,
    REC_VLAMP,
    Circuit,
)
from custom_components.no_neutral.circuit.single import SingleRun, volts
from custom_components.no_neutral.circuit.solver import Controls, Solver, State, grid, zero_state


def _twice(state: State) -> State:
    """The same member twice: a batch of two takes the batch solver's path."""
    two = state.take(np.array([0, 0]))
    two.h_prev = state.h_prev
    return two


def _runs(
    scenario: dict[str, Any], state: State, *, closed: bool, cycles: int
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], State, State]:
    c = Circuit.from_scenario(parse_scenario(scenario))
    times = grid(0.0, cycles * c.period, cycles * 400)
    one_state, one = Solver(c).run(state, times, flags(1, closed=closed), record=True)
    ctl = Controls(np.full(2, closed), np.zeros(2, dtype=bool))
    two_state, two = Solver(c).run(_twice(state), times, ctl, record=True)
    assert one is not None
    assert two is not None
    return one[:, 0, :], two[:, 0, :], one_state, two_state


@pytest.mark.parametrize(
    ("scenario", "closed"),
    [
        ({}, True),  # LED, the closed cycles from zero
        ({"lamp": {"power_w": 60}, "smoothing": {"capacitance_uf": 2}}, True),  # driver drops out
        ({"lamp": {"type": "resistive", "power_w": 500}}, True),
        ({"lamp": {"type": "none"}}, True),
        ({}, False),  # the relay open from zero
    ],
)
def test_single_member_matches_batch(scenario: dict[str, Any], *, closed: bool) -> None:
    one, two, one_state, two_state = _runs(scenario, zero_state(1), closed=closed, cycles=3)
    scale = np.abs(two).max(axis=0) + 1e-12
    assert np.abs(one - two).max(axis=0) / scale == pytest.approx(0.0, abs=1e-8)
    assert np.array_equal(one[:, REC_LEDON], two[:, REC_LEDON])
    assert one_state.caps[0] == pytest.approx(two_state.caps[0], rel=1e-8, abs=1e-6)
    assert one_state.h_prev == two_state.h_prev


def test_single_member_ghost_drain_matches_batch() -> None:
    """The driver starting and stopping with the relay open (no bleed)."""
    scenario = {"smoothing": {"bleed_resistance_ohm": None, "capacitance_uf": 2.2}}
    one, two, _, _ = _runs(scenario, lamp_state(np.array([101.0]), 300.0), closed=False, cycles=2)
    assert one[:, REC_LEDON].max() == 1.0  # it started
    assert one[-1, REC_LEDON] == 0.0  # and stopped
    assert np.array_equal(one[:, REC_LEDON], two[:, REC_LEDON])
    assert one[:, REC_VLAMP] == pytest.approx(two[:, REC_VLAMP], rel=1e-8, abs=1e-8)


def test_element_voltages_follow_the_incidence_matrix() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=NODES)
    a = Circuit.from_scenario(parse_scenario({})).a_matrix
    assert len(ELEMENTS) == len(a)
    assert volts(x.tolist()) == pytest.approx((a @ x).tolist(), abs=1e-12)


def test_element_currents_match_the_batch_solver() -> None:
    """The single path's closed forms for reverse and slightly forward junctions are exact."""
    c = Circuit.from_scenario(parse_scenario({}))
    solver = Solver(c)
    single = SingleRun(c, solver.matrices)
    for volt in np.concatenate((np.linspace(-400.0, 2.0, 4001), np.linspace(0.3, 0.8, 501))):
        v = np.full(len(ELEMENTS), volt)
        # Two members: the batch solver's numpy path (one member goes to single.py).
        i_batch, g_batch = solver._elements(np.array([v, v]), np.array([[0.9, 10.0]] * 2))
        i_one, g_one = single.elements(v.tolist(), 0.9, 10.0)
        assert i_one == pytest.approx(i_batch[0].tolist(), rel=1e-12, abs=1e-22), volt
        assert g_one == pytest.approx(g_batch[0].tolist(), rel=1e-12, abs=1e-22), volt
