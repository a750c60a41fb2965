"""simulate(), the command line, and the physics of the steady cycle."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import custom_components
from custom_components.no_neutral.circuit import (
    RESULT_KEYS,
    WARNING_CODES,
    ScenarioError,
    parse_scenario,
    simulate,
    waveforms,
)
from custom_components.no_neutral.circuit.analysis import SteadyCycle, closed_steady
from custom_components.no_neutral.circuit.elements import (
    BM,
    BP,
    DIODES,
    DN,
    ELEMENTS,
    LO,
    NODES,
    REC_ICAP,
    REC_NODES,
    REC_PLAMP,
    REC_PSRC,
    REC_VLAMP,
    SWL,
    SWS,
    Circuit,
    L,
)
from custom_components.no_neutral.circuit.figures import _closed_figures
from custom_components.no_neutral.circuit.solver import (
    Solver,
)

MODULE = "custom_components.no_neutral.circuit"


@pytest.fixture(scope="module")
def default_result() -> dict[str, Any]:
    return simulate({})


def test_keys_types_and_order(default_result: dict[str, Any]) -> None:
    assert tuple(default_result) == RESULT_KEYS
    for key, value in default_result.items():
        if key == "warnings":
            assert isinstance(value, list)
            assert all(code in WARNING_CODES for code in value)
        elif key in {"led_dropout", "device_supply_ok", "ghost_flash", "breaker_trip"}:
            assert type(value) is bool
        elif value is not None:
            assert type(value) is float, key
            assert math.isfinite(value)
    json.dumps(default_result)


def test_default_figures_plausible(default_result: dict[str, Any]) -> None:
    r = default_result
    assert 280 < r["lamp_v_mean"] < 325
    assert r["lamp_v_min"] < r["lamp_v_mean"] < r["lamp_v_max"]
    assert r["lamp_power_ratio"] == pytest.approx(1.0, abs=1e-6)
    assert r["ghost_flash"] is False
    assert r["ghost_flash_period_s"] is None
    assert r["inrush_peak_a"] > 10
    assert 0.5 < r["discharge_time_s"] < 5
    assert r["warnings"] == []


def test_deterministic(default_result: dict[str, Any]) -> None:
    assert simulate({}) == default_result


def test_fuse_blown_zeroes_branch_figures() -> None:
    r = simulate({"smoothing": {"fuse_blown": True}, "lamp": {"type": "resistive"}})
    for key in (
        "cap_ripple_current_rms_a",
        "cap_esr_power_w",
        "cap_voltage_max_v",
        "fuse_power_w",
        "inrush_peak_a",
        "inrush_fuse_energy_j",
        "inrush_fuse_energy_mean_j",
    ):
        assert r[key] == 0.0


def test_open_capacitor_zeroes_branch_figures_as_a_blown_fuse() -> None:
    scenario = {"lamp": {"type": "resistive"}}
    opened = simulate({**scenario, "faults": {"capacitor": "open"}})
    blown = simulate({**scenario, "smoothing": {"fuse_blown": True}})
    assert opened == blown


@pytest.mark.parametrize(
    "faults",
    [{"Db": "reversed"}, {"Dd": "reversed"}, {"Db": "shorted"}, {"Da": "shorted", "Dd": "shorted"}],
)
def test_a_short_through_the_adaptor_trips_the_breaker(faults: dict[str, str]) -> None:
    """Each gives the mains a path through the closed relay and the SW wire: hundreds of amperes."""
    r = simulate({"faults": faults})
    assert r["source_current_rms_a"] > 100.0
    assert r["source_current_peak_a"] > r["source_current_rms_a"]
    assert r["breaker_trip"] is True
    assert "short_circuit" in r["warnings"]
    # The relay open, the short is not there: the standby draw is the relay's own.
    assert r["off_source_current_rms_a"] < 0.1


def test_shorted_capacitor_blows_the_fusible_resistor() -> None:
    r = simulate({"faults": {"capacitor": "shorted"}})
    # Rf, ESR and 0.01 ohm straight across the rectified half-wave.
    assert r["fuse_power_w"] >= 20 * 2.0
    assert r["cap_voltage_max_v"] < 1.0
    assert r["warnings"][-1] == "fuse_blows"


# Drawn by the simulator fuzz (tests/reliability): with a circuit's last
# unconverged members iterating in the batch, Newton did not converge here and
# the step split ten times deep into an ArithmeticError; single.py's float
# Newton finishes them.
CONVERGENCE_CASES = [
    {
        "faults": {"Db": "open", "Dc": "ok"},
        "diode": {"series_resistance_ohm": 0.6756868871377528},
        "lamp": {"type": "none", "led_start_v": 943.2591961423229},
        "device": {"bulk_capacitance_uf": 752.3687209328309},
        "smoothing": {"bleed_resistance_ohm": None},
    },
]


@pytest.mark.parametrize("scenario", CONVERGENCE_CASES)
def test_hard_cases_converge(scenario: dict[str, Any]) -> None:
    result = simulate(scenario)
    assert all(math.isfinite(v) for v in result.values() if isinstance(v, float))
    # No lamp, no bleed resistor: nothing drains the socket.
    assert result["warnings"] == ["no_load", "slow_discharge"]


def test_smaller_breaker_trips_at_a_smaller_load() -> None:
    lamp = {"type": "resistive", "power_w": 1000, "count": 4}
    big = simulate({"lamp": lamp, "mains": {"breaker_a": 10}})
    small = simulate({"lamp": lamp, "mains": {"breaker_a": 6}})
    # 4 kW of filament on a half-wave: some 12 A RMS (under 1.45 * 10 A, over 1.45 * 6 A).
    assert big["source_current_rms_a"] == small["source_current_rms_a"]
    assert big["breaker_trip"] is False
    assert small["breaker_trip"] is True


def test_default_source_figures(default_result: dict[str, Any]) -> None:
    r = default_result
    # Into L: the lamp's 10 W, the relay's 0.9 W and the adaptor's losses.
    assert 10.9 < r["source_power_w"] < 12.0
    assert 0.6 < r["off_source_power_w"] < 0.7
    assert r["off_device_supply_min_v"] >= r["device_supply_min_v"]
    assert r["breaker_trip"] is False


def test_capacitor_rated_below_the_peak_is_warned_not_refused() -> None:
    r = simulate({"smoothing": {"voltage_rating_v": 250}})
    assert r["cap_voltage_max_v"] > 250.0
    assert r["warnings"] == ["cap_overvoltage"]


def test_invalid_raises_scenario_error() -> None:
    with pytest.raises(ScenarioError, match=r"^smoothing\.capacitance_uf: "):
        simulate({"smoothing": {"capacitance_uf": -1}})


@pytest.fixture(scope="module")
def numpy_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A module path holding numpy and this repository's custom_components, nothing else."""
    site = tmp_path_factory.mktemp("numpy_only")
    numpy_dir = Path(np.__file__).parent
    for source in (
        numpy_dir,
        numpy_dir.with_name("numpy.libs"),
        Path(custom_components.__file__).parent,
    ):
        if source.exists():
            (site / source.name).symlink_to(source, target_is_directory=True)
    return site


def _python(site: Path, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    """
    Run Python where only numpy and this repository's packages can be imported.

    -S leaves out every site-packages directory (Home Assistant's among
    them); the environment's own PYTHON* settings are dropped.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return subprocess.run(
        [sys.executable, "-S", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        cwd=site,
        env={**env, "PYTHONPATH": str(site)},
    )


def _cli(site: Path, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the documented command (without importing Home Assistant, which is not there)."""
    return _python(site, stdin, "-m", MODULE, *args)


def test_cli_needs_only_numpy(numpy_only: Path) -> None:
    """The command prints a scenario's figures where Home Assistant cannot be imported."""
    absent = _python(numpy_only, "", "-c", "import homeassistant")
    assert "No module named 'homeassistant'" in absent.stderr
    scenario = {"lamp": {"type": "resistive", "power_w": 50}}
    proc = _cli(numpy_only, json.dumps(scenario))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert json.loads(proc.stdout) == simulate(scenario)


def test_cli_invalid_exits_2(numpy_only: Path) -> None:
    proc = _cli(numpy_only, '{"smoothing": {"capacitance_uf": 0}}')
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "smoothing.capacitance_uf" in proc.stderr
    proc = _cli(numpy_only, '{"faults": {"Dc": "melted"}}')
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("faults.Dc: unknown fault state 'melted'")
    proc = _cli(numpy_only, "not json", "-")
    assert proc.returncode == 2
    assert proc.stdout == ""


def test_cli_file(numpy_only: Path, tmp_path: Path, default_result: dict[str, Any]) -> None:
    path = tmp_path / "s.json"
    path.write_text("{}")
    proc = _cli(numpy_only, "", str(path))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == default_result


def test_waveforms_shapes() -> None:
    w = waveforms({})
    n = len(w["time_s"])
    assert all(len(v) == n for v in w.values())
    assert w["closed_lamp_v"].min() > 250
    assert w["open_lamp_v"].max() < 20


def _steady(scenario: dict[str, Any]) -> tuple[Circuit, Solver, SteadyCycle]:
    c = Circuit.from_scenario(parse_scenario(scenario))
    solver = Solver(c)
    return c, solver, closed_steady(solver)


@pytest.mark.parametrize(
    "scenario",
    [{}, {"lamp": {"type": "resistive", "power_w": 60}}, {"mains": {"voltage_rms": 120}}],
)
def test_energy_balance(scenario: dict[str, Any]) -> None:
    """Source energy over a steady cycle = lamp + every loss (stored energy returns)."""
    c, solver, steady = _steady(scenario)
    rec = steady.rec
    x = rec[:, REC_NODES : REC_NODES + NODES]
    v_src = c.v_peak * np.sin(c.omega * steady.times)
    i_src = (v_src - x[:, L]) * c.g_source
    v_el = x @ c.a_matrix.T
    i_el, _ = solver._elements(v_el, np.zeros((len(x), 2)))
    diode_loss = (v_el[:, :DIODES] * (i_el[:, :DIODES] + c.g_leak * v_el[:, :DIODES])).sum(axis=1)
    v_bulk = x[:, BP] - x[:, BM]
    device = np.where(v_bulk > 1.0, c.p_dev_on, c.p_dev_on * v_bulk)
    v_lamp = rec[:, REC_VLAMP]
    losses = (
        i_src**2 / c.g_source
        + (x[:, L] - x[:, LO]) ** 2 * 100.0
        + (x[:, SWS] - x[:, SWL]) ** 2 / c.r_wire
        + diode_loss
        + device
        + v_lamp**2 * c.g_bleed
        + rec[:, REC_PLAMP]
        + rec[:, REC_ICAP] ** 2 * c.r_branch
    )
    source = steady.mean(rec[:, REC_PSRC])
    assert steady.mean(v_src * i_src) == pytest.approx(source)
    assert steady.mean(losses) == pytest.approx(source, rel=5e-3)
    assert ELEMENTS[0] == (L, BP)
    assert DN != SWS


def test_capacitor_charge_balance() -> None:
    _, _, steady = _steady({})
    i = steady.rec[:, REC_ICAP]
    net = steady.mean(i)
    assert abs(net) < 1e-3 * steady.mean(np.abs(i))


def _figures(scenario: dict[str, Any]) -> dict[str, Any]:
    sc = parse_scenario(scenario)
    c, _, steady = _steady(scenario)
    return _closed_figures(sc, c, steady)


def test_120v_scaling() -> None:
    """Same filament resistance at 120 V: voltages scale by 120/230, power by its square."""
    k = 120 / 230
    f230 = _figures({"lamp": {"type": "resistive", "power_w": 40}})
    f120 = _figures(
        {
            "mains": {"voltage_rms": 120},
            "lamp": {"type": "resistive", "power_w": 40 * k * k, "rated_voltage_v": 120},
            "smoothing": {"voltage_rating_v": 200},
        }
    )
    # Only the diode drops (about a volt) do not scale.
    assert f120["lamp_v_mean"] / f230["lamp_v_mean"] == pytest.approx(k, rel=0.01)
    assert f120["lamp_power_w"] / f230["lamp_power_w"] == pytest.approx(k * k, rel=0.02)
    assert f120["lamp_ripple_pct"] == pytest.approx(f230["lamp_ripple_pct"], rel=0.02)
    # At 60 Hz the capacitor is recharged sooner: less ripple.
    f60 = _figures(
        {
            "mains": {"voltage_rms": 120, "frequency_hz": 60},
            "lamp": {"type": "resistive", "power_w": 40 * k * k, "rated_voltage_v": 120},
            "smoothing": {"voltage_rating_v": 200},
        }
    )
    assert f60["lamp_ripple_pct"] < f120["lamp_ripple_pct"]


def test_more_load_more_ripple() -> None:
    ripple = [
        _figures({"lamp": {"type": "resistive", "power_w": p}})["lamp_ripple_pct"]
        for p in (10, 40, 100)
    ]
    assert ripple[0] < ripple[1] < ripple[2]


def test_larger_capacitor_less_ripple() -> None:
    ripple = [
        _figures({"smoothing": {"capacitance_uf": cap}})["lamp_ripple_pct"] for cap in (4.7, 10, 22)
    ]
    assert ripple[0] > ripple[1] > ripple[2]


def test_driver_asking_more_than_the_supply_can_give() -> None:
    """A 300 W driver behind 70 ohm of source: it pulls the lamp node to its 1 V knee."""
    scenario = {
        "smoothing": {"fuse_blown": True, "capacitance_uf": 154.8},
        "mains": {"voltage_rms": 174, "source_resistance_ohm": 69.9},
        "lamp": {"power_w": 300},
    }
    figures = simulate(scenario)
    # 174 V behind 69.9 ohm delivers at most V^2/4R = 108 W into any load.
    assert 0.0 < figures["lamp_power_w"] < 174.0**2 / (4 * 69.9)
    assert figures["led_dropout"] is True
    assert all(math.isfinite(v) for v in figures.values() if isinstance(v, float))
