"""simulate_many(): scenarios of different circuits in one batch, the same figures as simulate()."""

from __future__ import annotations

import math
from typing import Any

import pytest

from custom_components.no_neutral.circuit import simulate
from custom_components.no_neutral.circuit.figures import simulate_many

from .scenarios import SCENARIOS

REL = 1e-9

# Every lamp type, a blown fuse, no bleed, 120 V 60 Hz (SCENARIOS), with
# fault states (reversed, shorted, open, a bypass without its splitter), a
# 250 V capacitor, no lamp and a resistive lamp with faults.
MIXED: dict[str, dict[str, Any]] = {
    **{name: scenario for name, (scenario, _) in SCENARIOS.items()},
    "Db_reversed": {"faults": {"Db": "reversed"}},
    "Dc_shorted": {"faults": {"Dc": "shorted"}},
    "Da_open": {"faults": {"Da": "open"}},
    "no_splitter": {"faults": {"Da": "shorted", "Dd": "shorted"}},
    "capacitor_shorted": {"faults": {"capacitor": "shorted"}},
    "capacitor_250v": {"smoothing": {"voltage_rating_v": 250}},
    "no_lamp_Dd_reversed": {"lamp": {"type": "none"}, "faults": {"Dd": "reversed"}},
    "resistive_capacitor_open": {
        "lamp": {"type": "resistive", "power_w": 60},
        "faults": {"capacitor": "open"},
    },
    "us_Da_reversed": {
        "mains": {"voltage_rms": 120, "frequency_hz": 60},
        "lamp": {"power_w": 9, "rated_voltage_v": 120, "led_start_v": 60, "led_stop_v": 40},
        "smoothing": {"voltage_rating_v": 200},
        "faults": {"Da": "reversed"},
    },
}


def _assert_same(name: str, one: dict[str, Any], batched: dict[str, Any]) -> None:
    assert list(batched) == list(one), name
    for key, value in one.items():
        got = batched[key]
        if isinstance(value, float):
            assert isinstance(got, float), (name, key)
            assert math.isclose(got, value, rel_tol=REL, abs_tol=1e-300), (name, key, value, got)
        else:
            assert got == value, (name, key)


@pytest.fixture(scope="module")
def alone() -> dict[str, dict[str, Any]]:
    return {name: simulate(scenario) for name, scenario in MIXED.items()}


def test_batch_equals_one_at_a_time(alone: dict[str, dict[str, Any]]) -> None:
    batched = simulate_many(list(MIXED.values()))
    assert len(batched) == len(MIXED)
    for name, figures in zip(MIXED, batched, strict=True):
        assert isinstance(figures, dict), name
        _assert_same(name, alone[name], figures)


def test_results_do_not_depend_on_the_other_members(alone: dict[str, dict[str, Any]]) -> None:
    """The same scenarios in other company and order: the same figures."""
    names = ["Dc_shorted", "default", "us_Da_reversed", "led_dropout", "capacitor_shorted"]
    batched = simulate_many([MIXED[name] for name in names])
    for name, figures in zip(names, batched, strict=True):
        assert isinstance(figures, dict), name
        _assert_same(name, alone[name], figures)
    # A scenario twice in one batch, beside a 60 Hz one: both copies alike.
    twice = simulate_many([MIXED["ghost_no_bleed"], MIXED["us_120v_60hz"], MIXED["ghost_no_bleed"]])
    for figures in (twice[0], twice[2]):
        assert isinstance(figures, dict)
        _assert_same("ghost_no_bleed", alone["ghost_no_bleed"], figures)


def test_bad_scenario_names_the_field() -> None:
    from custom_components.no_neutral.circuit import ScenarioError  # noqa: PLC0415

    with pytest.raises(ScenarioError, match="length_m"):
        simulate_many([{}, {"cable": {"length_m": -1}}])
