"""Time simulate() and ngspice on the same figures (called by scripts/bench).

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
from custom_components.no_neutral.circuit.elements import (
    Circuit,
)
from custom_components.no_neutral.circuit.figures import _closed_figures
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
