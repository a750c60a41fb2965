"""The parts recommender: each recommendation re-simulated and checked against every criterion."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest

from custom_components.no_neutral.circuit import ScenarioError, simulate
from custom_components.no_neutral.circuit.__main__ import main
from custom_components.no_neutral.circuit.figures import INRUSH_KEYS
from custom_components.no_neutral.circuit.recommend import (
    CRITERIA,
    Demands,
    Stock,
    circuit_figures,
    circuit_scenario,
    recommend,
)

TEN_W_230: dict[str, Any] = {}
THREE_7W_230: dict[str, Any] = {"lamp": {"count": 3, "power_w": 7}}
FIVE_W_120_60: dict[str, Any] = {
    "mains": {"voltage_rms": 120, "frequency_hz": 60},
    "lamp": {"power_w": 5, "rated_voltage_v": 120},
}
# A few stocked values, to keep the default suite cheap (4 circuits).
SMALL = Stock(
    capacitances_uf=(22.0,),
    fuse_resistances_ohm=(4.7, 10.0),
    bleed_resistances_ohm=(220e3, None),
)
PART_KEYS = (
    "capacitance_uf",
    "voltage_rating_v",
    "fuse_resistance_ohm",
    "fuse_power_rating_w",
    "bleed_resistance_ohm",
)
TEN_YEARS_H = 10 * 8766.0


def _with_parts(base: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    scenario = copy.deepcopy(base)
    scenario.setdefault("smoothing", {}).update({key: entry[key] for key in PART_KEYS})
    return scenario


def assert_meets_every_criterion(base: dict[str, Any], entry: dict[str, Any]) -> None:
    """Simulate the recommended parts at their own ratings and check the issue's numbers."""
    r = simulate(_with_parts(base, entry))
    # At its own ratings: no warning at all, the rating ones included.
    assert r["warnings"] == []
    assert r["lamp_power_ratio"] >= 0.95
    assert r["cap_voltage_max_v"] <= 0.8 * entry["voltage_rating_v"]
    assert r["fuse_power_w"] <= 0.25 * entry["fuse_power_rating_w"]
    # Ten closings a minute, 30 s thermal time constant: the periodic peak
    # heat against half of what 20x the rating reaches in a minute.
    tau = 30.0
    heat = r["fuse_power_w"] * tau + r["inrush_fuse_energy_mean_j"] / (1 - math.exp(-6 / tau))
    opening = 20 * entry["fuse_power_rating_w"] * tau * (1 - math.exp(-60 / tau))
    assert heat <= 0.5 * opening
    assert r["discharge_time_s"] is not None
    assert r["discharge_time_s"] <= 5.0
    # 2000 h at 105 degC; the rated 0.15 A ripple heats the core by 5 K.
    esr = base.get("smoothing", {}).get("esr_ohm", 3.0)
    core = 40.0 + 5.0 / (0.15**2 * esr) * r["cap_esr_power_w"]
    assert 2000.0 * 2 ** ((105.0 - core) / 10) >= TEN_YEARS_H
    # The figures shown are those of this simulation (deterministic).
    for key, value in entry["figures"].items():
        assert r[key] == value, key
    # An LED driver's margin: the lamp voltage's low point over its stop voltage.
    stop = base.get("lamp", {}).get("led_stop_v", 70.0)
    assert entry["margins"]["lamp_power"] == pytest.approx(r["lamp_v_min"] / stop - 1, rel=1e-12)
    assert entry["margins"]["cap_voltage"] == pytest.approx(
        1 - r["cap_voltage_max_v"] / (0.8 * entry["voltage_rating_v"]), rel=1e-12
    )


def _check_answer(base: dict[str, Any], result: dict[str, Any]) -> None:
    assert 1 <= len(result["best"]) <= 3
    assert result["advice"] == []
    for entry in result["best"]:
        assert entry["failed"] == []
        assert_meets_every_criterion(base, entry)
    # Three different circuits, each with the lowest ratings that pass.
    circuits = {
        (e["capacitance_uf"], e["fuse_resistance_ohm"], e["bleed_resistance_ohm"])
        for e in result["best"]
    }
    assert len(circuits) == len(result["best"])
    # Every criterion but the warnings (pass or fail) has a margin. Ranked by
    # the weakest margin, then the next weakest, and so on, in steps of 0.05:
    # each entry's margins, weakest first, are never below the next entry's.
    for entry in result["best"]:
        assert set(entry["margins"]) == set(CRITERIA) - {"warnings"}
    steps = [sorted(math.floor(m / 0.05) for m in e["margins"].values()) for e in result["best"]]
    assert steps == sorted(steps, reverse=True)
    for loser in result["best_losers"]:
        assert loser["failed"]
        assert set(loser["failed"]) <= set(CRITERIA)
    assert sum(result["lost"].values()) >= result["combinations"] - result["qualifying"]


def test_small_stock_ten_watt_led() -> None:
    result = recommend(TEN_W_230, stock=SMALL)
    assert result["combinations"] == 3 * 2 * 4 * 2
    # The ratings are only checks: one simulation per circuit.
    assert result["circuits_simulated"] == 4
    # The two circuits without a bleed resistor flash at every rating: no inrush run.
    assert result["inrush_runs"] == 2
    _check_answer(TEN_W_230, result)
    # At 230 V the peak (about 323 V) is over 80 % of a 400 V part.
    assert {e["voltage_rating_v"] for e in result["best"]} == {450.0}
    assert result["lost"]["cap_voltage"] >= 4 * 4
    # Without a bleed resistor the LED flashes while off.
    assert result["lost_warnings"]["ghost_flash"] == result["combinations"] // 2
    assert result["best_losers"][0]["failed"] == ["cap_voltage"]


def test_ratings_do_not_change_the_figures() -> None:
    """The separation the sweep relies on: ratings move the warnings only."""
    low = simulate({"smoothing": {"voltage_rating_v": 250, "fuse_power_rating_w": 0.001}})
    high = simulate({"smoothing": {"voltage_rating_v": 630, "fuse_power_rating_w": 5}})
    assert {k: v for k, v in low.items() if k != "warnings"} == {
        k: v for k, v in high.items() if k != "warnings"
    }
    assert "cap_overvoltage" in low["warnings"]
    assert "fuse_blows" in low["warnings"]
    assert high["warnings"] == []


@pytest.mark.parametrize(
    ("lamp", "change"),
    [
        ({"type": "none"}, "another_lamp_type"),
        ({"type": "capacitive_dropper"}, "another_lamp_type"),
        ({"type": "led", "power_w": 2}, "more_lamp_power"),
    ],
)
def test_no_load_lamp_needs_no_simulation(lamp: dict[str, Any], change: str) -> None:
    result = recommend({"lamp": lamp})
    assert result["circuits_simulated"] == 0
    assert result["qualifying"] == 0
    assert result["best"] == []
    assert result["lost"]["warnings"] == result["combinations"] == 7 * 3 * 17 * 4 * 14
    assert result["advice"] == [{"change": change, "because": ["no_load"]}]


def test_nothing_qualifies_on_400_volt_mains() -> None:
    """A 566 V peak is over 80 % of a 630 V part: lower mains is the only cure."""
    stock = Stock(
        capacitances_uf=(22.0,), fuse_resistances_ohm=(10.0,), bleed_resistances_ohm=(220e3,)
    )
    base = {"mains": {"voltage_rms": 400}, "lamp": {"rated_voltage_v": 400}}
    result = recommend(base, stock=stock)
    assert result["qualifying"] == 0
    assert result["lost"]["cap_voltage"] == result["combinations"] == 12
    assert {"change": "lower_mains", "because": ["cap_voltage"]} in result["advice"]
    assert result["best_losers"][0]["figures"]["cap_voltage_max_v"] > 0.8 * 630


@pytest.mark.parametrize(
    ("base", "demands", "key"),
    [
        ({"lamp": {"power_w": -1}}, Demands(), "lamp.power_w"),
        ({"mains": {"voltage": 230}}, Demands(), "mains.voltage"),
        ({}, Demands(ambient_c=math.nan), "ambient_c"),
        ({}, Demands(life_years=0), "life_years"),
    ],
)
def test_bad_input_names_the_field(base: dict[str, Any], demands: Demands, key: str) -> None:
    with pytest.raises(ScenarioError) as err:
        recommend(base, demands=demands, stock=SMALL)
    assert err.value.key == key


# Minutes each (1,666 circuits, batched: 259 s of CPU for the 10 W LED):
# outside CI's long set (issue 14's target, under 5 s, is out of this solver's
# reach: scripts/bench --floor).
@pytest.mark.sweep
@pytest.mark.parametrize(
    "base", [TEN_W_230, THREE_7W_230, FIVE_W_120_60], ids=["10W", "3x7W", "5W-120V"]
)
def test_whole_sweep(base: dict[str, Any]) -> None:
    result = recommend(base)
    assert result["combinations"] == 7 * 3 * 17 * 4 * 14
    assert result["circuits_simulated"] == 7 * 17 * 14
    assert len(result["best"]) == 3
    _check_answer(base, result)


def test_command_line_no_lamp(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recommend", "--lamp-type", "none"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert json.loads(out)["advice"] == [{"change": "another_lamp_type", "because": ["no_load"]}]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--lamp-power", "-5"], "--lamp-power (lamp.power_w): must be positive"),
        (["--lamp-type", "neon"], "--lamp-type (lamp.type): unknown lamp type 'neon'"),
        (["--mains-voltage", "5"], "--mains-voltage (mains.voltage_rms): must be at least 10"),
        (["--ambient", "nan"], "--ambient: must be finite"),
        (["--life-years", "0"], "--life-years: must be positive"),
        (["--jobs", "0"], "--jobs: must be at least 1"),
    ],
)
def test_command_line_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str], args: list[str], named: str
) -> None:
    assert main(["recommend", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(named)


def test_command_line_unparsable_number_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["recommend", "--lamp-power", "ten"])
    assert done.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "--lamp-power: invalid float value: 'ten'" in err


def test_filament_lamp_gets_the_best_available_power() -> None:
    """
    A filament lamp has no 0.95 floor: the ratio nearest 1 among the otherwise fit ones.

    With 47 uF a 40 W lamp on half-wave smoothed DC runs at about 1.5 times
    its power (nearer 1 than 4.7 uF's 0.63 by 1/ratio), but overloads the
    fusible resistor and the capacitor: 4.7 uF is the best available.
    """
    base = {"lamp": {"type": "resistive", "power_w": 40}}
    stock = Stock(
        capacitances_uf=(4.7, 47.0), fuse_resistances_ohm=(10.0,), bleed_resistances_ohm=(220e3,)
    )
    result = recommend(base, stock=stock)
    (best,) = result["best"]
    assert (best["capacitance_uf"], best["voltage_rating_v"], best["fuse_power_rating_w"]) == (
        4.7,
        450.0,
        2.0,
    )
    big = next(e for e in result["best_losers"] if e["capacitance_uf"] == 47.0)
    assert big["figures"]["lamp_power_ratio"] > 1.0
    assert 1 / big["figures"]["lamp_power_ratio"] > best["figures"]["lamp_power_ratio"]
    assert set(big["failed"]) >= {"fuse_steady", "capacitor_life"}
    assert "lamp_power" not in big["failed"]
    assert result["lost"]["lamp_power"] == 0
    r = simulate(_with_parts(base, best))
    assert r["warnings"] == []
    assert r["lamp_power_ratio"] == best["figures"]["lamp_power_ratio"]


def test_circuit_figures_are_simulates() -> None:
    """The sweep's runs give simulate()'s figures; the inrush is left out where it cannot decide."""
    stock, demands = Stock(), Demands()
    fit = circuit_scenario({}, 22.0, 10.0, 220e3)
    assert circuit_figures(fit, stock, demands) == simulate(fit)
    # Without a bleed resistor the LED flashes while off at every rating.
    ghost = circuit_scenario({}, 22.0, 10.0, None)
    sweep = circuit_figures(ghost, stock, demands)
    full = simulate(ghost)
    assert "ghost_flash" in full["warnings"]
    for key in INRUSH_KEYS:
        assert sweep[key] is None
        assert full[key] > 0.0
    # The open cycle runs without the inrush before it: the same figures
    # to the last bits that the solver's cached step matrices can move.
    for key, value in full.items():
        if key in INRUSH_KEYS:
            continue
        if isinstance(value, float):
            assert sweep[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
        else:
            assert sweep[key] == value, key
