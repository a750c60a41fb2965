"""The floor of a sweep's time with numpy on this machine (scripts/bench --floor).

Part 1 times one batched solver step per member (CPU seconds, best of a few)
at growing batch sizes: the switch-on run's first cycle after the closing,
36 closing phases of the default circuit repeated, as one circuit (the
matrices shared) and as that many circuits (a matrix per member, as a sweep
batches them).

Part 2 counts the member-steps the fault finder's candidate set and the
recommender's whole stock take today (batched: members x steps of
solver.Many; single: the steps of the float runs of single.py), the whole
stock from a sample of its circuits, scaled.

Part 3 prints the implied lowest time of each sweep, every member-step at
the best per-member-step cost of part 1, beside the issue's targets: a sweep
cannot beat it by tuning the present solver, only by needing fewer
member-steps.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from custom_components.no_neutral.circuit import parse_scenario
from custom_components.no_neutral.circuit.analysis import (
    STEPS_PER_CYCLE,
    InrushJob,
    _after_closing_grid,
    _closing_state,
    closed_steady,
    join_states,
)
from custom_components.no_neutral.circuit.diagnosis import batched_runs
from custom_components.no_neutral.circuit.elements import Circuit
from custom_components.no_neutral.circuit.figures import MEAN_PHASES, solve_many
from custom_components.no_neutral.circuit.recommend import (
    BATCH,
    Demands,
    Stock,
    batched_figures,
    circuit_scenario,
)
from custom_components.no_neutral.circuit.single import SingleRun
from custom_components.no_neutral.circuit.solver import Controls, Many, Solver, Tally

SIZES = (36, 576, 1152, 1728, 2304, 9216)
REPEATS = 3
# Larger batches are timed once (a run takes tens of seconds).
TIMED_ONCE_ABOVE = 2304
# The batch stepper's step, counted by wrapping it.
MANY_STEP = "_step"
# Circuits of the whole stock counted (every k-th), then scaled to all of them.
STOCK_SAMPLE = 64
TARGETS = {"fault finder": 2.0, "recommender, whole stock": 5.0}


def _cpu(fn: Callable[[], Any], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def step_cost(size: int, *, shared: bool) -> float:
    """CPU seconds per member-step of the first cycle after the closing, `size` members."""
    sc = parse_scenario({})
    c = Circuit.from_scenario(sc)
    solver = Solver(c)
    phases = np.array(sorted({*MEAN_PHASES, sc.relay.close_phase_deg}))
    job = InrushJob(solver, phases, closed_steady(solver))
    state, offset = _closing_state(job)
    copies = size // len(phases)
    solvers = [solver] if shared else [Solver(c) for _ in range(copies)]
    many = Many(solvers)
    members = (
        np.zeros(size, dtype=np.intp)
        if shared
        else np.repeat(np.arange(copies, dtype=np.intp), len(phases))
    )
    times = _after_closing_grid(c.period, STEPS_PER_CYCLE)
    ctl = Controls(
        np.ones(size, dtype=bool), np.zeros(size, dtype=bool), offset=np.tile(offset, copies)
    )
    start = join_states([state] * copies)

    def run() -> None:
        tally = Tally(np.zeros(size), np.full(size, c.period), np.zeros(size), np.zeros(size))
        many.run(start, times, ctl, members, tally=tally)

    run()  # the step matrices built once, as in a sweep
    return _cpu(run, 1 if size > TIMED_ONCE_ABOVE else REPEATS) / (size * (len(times) - 1))


@dataclass
class Count:
    """Member-steps taken: batched (solver.Many) and single (single.py)."""

    batched: int = 0
    single: int = 0

    @property
    def total(self) -> int:
        """Return every member-step."""
        return self.batched + self.single


@contextmanager
def counting() -> Iterator[Count]:
    """Count the member-steps of whatever runs inside (attempts, retries and sub-steps too)."""
    count = Count()
    many_step, single_step = getattr(Many, MANY_STEP), SingleRun.step

    def batched(self: Many, w: Any, *args: Any) -> Any:
        count.batched += len(w.x)
        return many_step(self, w, *args)

    def single(self: SingleRun, *args: Any, **kwargs: Any) -> Any:
        count.single += 1
        return single_step(self, *args, **kwargs)

    setattr(Many, MANY_STEP, batched)
    SingleRun.step = single  # type: ignore[method-assign]
    try:
        yield count
    finally:
        setattr(Many, MANY_STEP, many_step)
        SingleRun.step = single_step  # type: ignore[method-assign]


def sweep_counts() -> dict[str, tuple[Count, float]]:
    """Count each sweep's member-steps and time it (CPU s, once; the whole stock scaled)."""
    out = {}
    with counting() as count:
        t0 = time.process_time()
        batched_runs({})
        out["fault finder"] = (count, time.process_time() - t0)
    base = {"lamp": {"type": "led", "power_w": 10.0}}
    stock = Stock()
    circuits = list(stock.circuits())
    sample = circuits[:: max(1, len(circuits) // STOCK_SAMPLE)][:STOCK_SAMPLE]
    scale = len(circuits) / len(sample)
    with counting() as count:
        t0 = time.process_time()
        for _ in batched_figures(
            (circuit_scenario(base, *parts) for parts in sample), stock, Demands()
        ):
            pass
        spent = (time.process_time() - t0) * scale
    whole = Count(round(count.batched * scale), round(count.single * scale))
    out[f"recommender, whole stock ({len(sample)} of {len(circuits)} circuits, scaled)"] = (
        whole,
        spent,
    )
    # The same circuits with no switch-on run at all: the part of the sweep
    # that no choice of where to run the inrush can save.
    scenarios = [parse_scenario(circuit_scenario(base, *parts)) for parts in sample]
    with counting() as count:
        t0 = time.process_time()
        for k in range(0, len(scenarios), BATCH):
            solve_many(scenarios[k : k + BATCH], inrush_wanted=lambda *_: False)
        spent = (time.process_time() - t0) * scale
    bare = Count(round(count.batched * scale), round(count.single * scale))
    out["recommender, whole stock without any switch-on run (scaled)"] = (bare, spent)
    return out


def main() -> int:
    """Print the per-member-step costs, the sweeps' member-steps and their floors."""
    print("one batched solver step, CPU us per member (first cycle after the closing):")
    best = float("inf")
    for size in SIZES:
        shared = step_cost(size, shared=True)
        apart = step_cost(size, shared=False)
        best = min(best, shared, apart)
        print(
            f"  {size:6d} members: one circuit {shared * 1e6:6.2f} us   "
            f"{size // 36} circuits {apart * 1e6:6.2f} us",
            flush=True,
        )
    print(f"  best: {best * 1e6:.2f} us per member-step")
    for name, (count, spent) in sweep_counts().items():
        target = next(t for key, t in TARGETS.items() if name.startswith(key))
        print(
            f"{name}: {count.batched:,} batched + {count.single:,} single member-steps; "
            f"today {spent:.1f} s CPU; floor {count.total * best:.1f} s at {best * 1e6:.2f} us "
            f"each (target < {target:.0f} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
