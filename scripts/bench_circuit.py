"""Time simulate() and ngspice on the same figures (called by scripts/bench).

Then the sweeps, batched (simulate_many) against one at a time and ngspice:
the fault finder's whole candidate set for the default adaptor, and the
parts recommender's sweep for 10 W LED / 230 V (a 300-combination stock and
the whole stock). Where one at a time or ngspice would take minutes, a timed
sample is scaled to the whole, and the line says so.

ngspice runs the model's netlist of tests/circuit/spice.py serially (one
process at a time, like simulate(), which is single-threaded). For the steady
closed cycle ngspice is given only as many cycles from zero as its own
figures need to settle within 0.1 % (found from a longer run first), which is
the least any user of ngspice could get away with.
"""

from __future__ import annotations

import json
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from custom_components.no_neutral.circuit import parse_scenario, simulate
from custom_components.no_neutral.circuit.analysis import closed_steady
from custom_components.no_neutral.circuit.diagnosis import batched_runs, first_scenarios, follow_up
from custom_components.no_neutral.circuit.elements import (
    Circuit,
)
from custom_components.no_neutral.circuit.figures import _closed_figures, simulate_many
from custom_components.no_neutral.circuit.recommend import (
    Demands,
    Stock,
    circuit_figures,
    circuit_scenario,
    recommend,
)
from custom_components.no_neutral.circuit.solver import (
    Solver,
)
from tests.circuit.spice import (
    Plan,
    Run,
    _closed_and_open,
    ngspice_run,
    reference,
)

REPEATS = 3
# The recommender's stock with at least 300 combinations: 5 x 5 circuits x 12 ratings.
STOCK_300 = Stock(
    capacitances_uf=(6.8, 10.0, 15.0, 22.0, 33.0),
    fuse_resistances_ohm=(2.2, 3.3, 4.7, 6.8, 10.0),
    bleed_resistances_ohm=(470e3,),
)
# Circuits timed one at a time (and by ngspice) to scale to a whole sweep.
SAMPLE = 6
SPICE_SAMPLE = 1


def _closed_ours(scenario: dict[str, Any]) -> dict[str, Any]:
    sc = parse_scenario(scenario)
    c = Circuit.from_scenario(sc)
    return _closed_figures(sc, c, closed_steady(Solver(c)))


CLOSED_KEYS = (
    "lamp_v_mean",
    "lamp_v_min",
    "lamp_v_max",
    "lamp_power_w",
    "cap_ripple_current_rms_a",
    "cap_voltage_max_v",
    "fuse_power_w",
    "device_supply_min_v",
)


def _closed_spice(scenario: dict[str, Any], cycles: int) -> dict[str, Any]:
    sc = parse_scenario(scenario)
    period = 1.0 / sc.mains.frequency_hz
    run = Run(cycles * period, period / Plan().fine_points_per_cycle, relay_closed_at_start=True)
    v = ngspice_run(sc, run)
    # The open-state part of this helper needs a time after the last point.
    v["time"] = np.append(v["time"], v["time"][-1] + period)
    for k in v:
        if k != "time":
            v[k] = np.append(v[k], v[k][-1])
    return _closed_and_open(sc, v, cycles * period, period)


def _settled_cycles(scenario: dict[str, Any]) -> int:
    final = _closed_spice(scenario, 20)
    for cycles in range(2, 20):
        f = _closed_spice(scenario, cycles)
        if all(abs(f[k] - final[k]) <= 1e-3 * abs(final[k]) for k in CLOSED_KEYS):
            return cycles
    return 20


def _timed(fn: Any, repeats: int) -> tuple[float, Any]:
    best = float("inf")
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> int:
    """Print both timings and their ratios."""
    scenario = json.loads(Path(sys.argv[1]).read_text()) if len(sys.argv) > 1 else {}
    simulate(scenario)  # warm-up: imports, numpy caches
    cycles = _settled_cycles(scenario)
    t_ours_closed, _ = _timed(lambda: _closed_ours(scenario), REPEATS)
    t_spice_closed, _ = _timed(lambda: _closed_spice(scenario, cycles), REPEATS)
    t_ours_all, ours = _timed(lambda: simulate(scenario), REPEATS)
    sc = parse_scenario(scenario)
    t0 = time.perf_counter()
    reference(sc, Plan(), workers=1)
    t_spice_all = time.perf_counter() - t0
    tracemalloc.start()
    simulate(scenario)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"steady closed cycle: simulate {t_ours_closed * 1e3:8.1f} ms   "
        f"ngspice ({cycles} cycles from zero) {t_spice_closed * 1e3:8.1f} ms   "
        f"ratio {t_spice_closed / t_ours_closed:6.2f}x (target >= 3x)"
    )
    print(
        f"all figures:         simulate {t_ours_all:8.3f} s    "
        f"ngspice (serial)             {t_spice_all:8.3f} s    "
        f"ratio {t_spice_all / t_ours_all:6.2f}x (target >= 20x)"
    )
    print(f"simulate() peak traced memory: {peak / 1e6:.2f} MB")
    print(json.dumps(ours, indent=None))
    _sweeps(scenario)
    return 0


def _spice_each(scenarios: list[dict[str, Any]]) -> float:
    """Seconds ngspice takes (serially) for every figure of each scenario."""
    t0 = time.perf_counter()
    for mapping in scenarios:
        reference(parse_scenario(mapping), Plan(), workers=1)
    return time.perf_counter() - t0


def _sweeps(scenario: dict[str, Any]) -> None:
    """Print the fault finder's and the recommender's sweeps: batched, one at a time, ngspice."""
    firsts = first_scenarios(scenario)
    t0 = time.perf_counter()
    lookup = batched_runs(scenario)
    t_batched = time.perf_counter() - t0
    follow = [a for m in firsts if (a := follow_up(m, lookup(m))) is not None]
    runs = firsts + follow
    t0 = time.perf_counter()
    for mapping in runs:
        simulate(mapping)
    t_one = time.perf_counter() - t0
    t_spice = _spice_each(runs[:SPICE_SAMPLE]) * len(runs) / SPICE_SAMPLE
    print(
        f"fault finder, {len(runs)} runs: batched {t_batched:7.2f} s   "
        f"one at a time {t_one:7.2f} s   ratio {t_one / t_batched:5.2f}x   "
        f"ngspice (serial, {SPICE_SAMPLE} run timed, scaled) {t_spice:8.1f} s   (target < 2 s)"
    )
    base = {**scenario, "lamp": {"type": "led", "power_w": 10.0}}
    demands = Demands()
    for name, stock in (("300-combination stock", STOCK_300), ("whole stock", Stock())):
        circuits = list(stock.circuits())
        t0 = time.perf_counter()
        result = recommend(base, stock=stock)
        t_batched = time.perf_counter() - t0
        sample = [
            circuit_scenario(base, *parts) for parts in circuits[:: max(1, len(circuits) // SAMPLE)]
        ][:SAMPLE]
        t0 = time.perf_counter()
        for mapping in sample:
            circuit_figures(mapping, stock, demands)
        t_one = (time.perf_counter() - t0) * len(circuits) / len(sample)
        t_spice = _spice_each(sample[:SPICE_SAMPLE]) * len(circuits) / SPICE_SAMPLE
        print(
            f"recommender 10 W LED / 230 V, {name} ({stock.combinations} combinations, "
            f"{len(circuits)} circuits, {result['inrush_runs']} inrush runs): "
            f"batched {t_batched:7.2f} s   one at a time ({len(sample)} timed, scaled) "
            f"{t_one:7.1f} s   ngspice (serial, {SPICE_SAMPLE} circuit timed, scaled) "
            f"{t_spice:8.0f} s   (target < 5 s)"
        )
    if simulate_many(firsts[:3]) != [simulate(m) for m in firsts[:3]]:
        print("simulate_many differs from simulate() on the fault finder's first runs")


if __name__ == "__main__":
    sys.exit(main())
