"""
One simulation runner per Home Assistant: bounded, shared by every entry, cached.

Fifty adaptors on one server once started fifty simulations and fifty waveform
drawings at the same moment: the executor threads, each holding the GIL in
turn, starved the event loop for 16-18 s and the Matter server dropped Home
Assistant ("No PONG"). So every simulation and every waveform goes through
this runner:

- at most MAX_CONCURRENT jobs at a time (the others wait their turn on the
  loop, costing nothing), leaving the loop a core;
- the simulator's own functions run in its worker process (worker.py), which
  never holds this process's GIL; a function it does not know (a test's
  stand-in for the simulator) runs in the executor;
- one job per distinct scenario, however many entries ask for it at once;
- results (and the errors of a refused or unsolvable scenario) kept in a
  bounded LRU per kind, keyed by the canonical scenario JSON, so identical
  adaptors share one simulation.

The job runs in a task of its own: an entry that unloads while waiting
neither cancels the simulation another entry waits for nor loses the result.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, cast

from homeassistant.core import HomeAssistant, callback
from homeassistant.util.hass_dict import HassKey

from .circuit import ScenarioError
from .const import DOMAIN
from .worker import SimulatorWorker, worker_job

# One: the simulator is CPU-bound Python and numpy; a second job would not
# finish sooner on a small machine, and would take the core the loop needs
# (the worker process takes one request at a time anyway).
MAX_CONCURRENT: Final = 1
# Distinct results kept per kind. Figures are a few hundred bytes each; a
# waveform picture is about 100 kB.
CACHE_SIZES: Final = {"figures": 128, "picture": 8}
DEFAULT_CACHE_SIZE: Final = 16

# Failures of the scenario itself: cached like results (an unsolvable scenario
# is not retried every minute), raised to every caller.
SCENARIO_FAILURES: Final = (ScenarioError, ArithmeticError)

RUNNER: HassKey[SimulationRunner] = HassKey(f"{DOMAIN}_simulation_runner")


def scenario_key(scenario: Mapping[str, Any]) -> str:
    """Return the canonical JSON of a scenario (same circuit, same key)."""
    return json.dumps(scenario, sort_keys=True, separators=(",", ":"))


@dataclass
class RunnerStats:
    """What the runner did, for benchmarks and diagnostics."""

    runs: int = 0  # jobs started (in the worker process or the executor)
    in_worker: int = 0  # of runs, those run in the worker process
    hits: int = 0  # answered from the cache
    joined: int = 0  # waited for the same scenario's job already running
    longest_queue: int = 0  # most jobs waiting for a slot at once
    by_kind: dict[str, int] = field(default_factory=dict)


class SimulationRunner:
    """The shared, bounded runner; get it with `async_get_runner(hass)`."""

    def __init__(self, hass: HomeAssistant, max_concurrent: int = MAX_CONCURRENT) -> None:
        """Start empty; the worker process starts at its first job."""
        self.hass = hass
        self.worker = SimulatorWorker(hass)
        self._slots = asyncio.Semaphore(max_concurrent)
        self._caches: dict[str, OrderedDict[str, Any]] = {}
        self._running: dict[tuple[str, str], asyncio.Task[Any]] = {}
        self._waiting = 0
        self.stats = RunnerStats()

    def cached(self, kind: str, key: str) -> bool:
        """Return whether the result of `key` is at hand (no job needed)."""
        return key in self._caches.get(kind, {})

    async def async_run[T](
        self, kind: str, job: Callable[[dict[str, Any]], T], scenario: dict[str, Any]
    ) -> T:
        """
        Return `job(scenario)`, run unless cached or running already.

        `kind` names what the job computes ("figures", "picture"): the same
        scenario gives different results per kind. Raises the job's
        ScenarioError or ArithmeticError (cached too), and SimulatorFailed
        when the worker process failed under it (not cached).
        """
        key = scenario_key(scenario)
        cache = self._caches.setdefault(kind, OrderedDict())
        if key in cache:
            self.stats.hits += 1
            cache.move_to_end(key)
            outcome = cache[key]
        else:
            task = self._running.get((kind, key))
            if task is None:
                task = self.hass.async_create_background_task(
                    self._async_job(kind, key, job, dict(scenario)),
                    f"{DOMAIN} simulation ({kind})",
                    # Not eager: the task must be in _running before it can end.
                    eager_start=False,
                )
                self._running[(kind, key)] = task
            else:
                self.stats.joined += 1
            # Shielded: a caller that is cancelled leaves the job to the others.
            outcome = await asyncio.shield(task)
        if isinstance(outcome, SCENARIO_FAILURES):
            raise outcome
        result: T = outcome
        return result

    async def _async_job[T](
        self, kind: str, key: str, job: Callable[[dict[str, Any]], T], scenario: dict[str, Any]
    ) -> T | ScenarioError | ArithmeticError:
        outcome: T | ScenarioError | ArithmeticError
        try:
            self._waiting += 1
            self.stats.longest_queue = max(self.stats.longest_queue, self._waiting)
            try:
                await self._slots.acquire()
            finally:
                self._waiting -= 1
            try:
                self.stats.runs += 1
                self.stats.by_kind[kind] = self.stats.by_kind.get(kind, 0) + 1
                outcome = await self._async_compute(job, scenario)
            except SCENARIO_FAILURES as err:
                outcome = err
            finally:
                self._slots.release()
        finally:
            del self._running[(kind, key)]
        self._remember(kind, key, outcome)
        return outcome

    async def _async_compute[T](
        self, job: Callable[[dict[str, Any]], T], scenario: dict[str, Any]
    ) -> T:
        if (remote := worker_job(job)) is None:
            return await self.hass.async_add_executor_job(job, scenario)
        self.stats.in_worker += 1
        result = await self.worker.async_run(remote.name, scenario)
        if remote.finish is not None:
            result = await self.hass.async_add_executor_job(remote.finish, scenario, result)
        return cast("T", result)

    def _remember(self, kind: str, key: str, outcome: Any) -> None:
        cache = self._caches.setdefault(kind, OrderedDict())
        cache[key] = outcome
        size = CACHE_SIZES.get(kind, DEFAULT_CACHE_SIZE)
        while len(cache) > size:
            cache.popitem(last=False)


@callback
def async_get_runner(hass: HomeAssistant) -> SimulationRunner:
    """Return the runner every entry of this Home Assistant shares."""
    if (runner := hass.data.get(RUNNER)) is None:
        runner = hass.data[RUNNER] = SimulationRunner(hass)
    return runner


async def async_stop_simulator(hass: HomeAssistant) -> None:
    """Stop the worker process, if one runs (the last entry unloaded)."""
    if (runner := hass.data.get(RUNNER)) is not None:
        await runner.worker.async_stop()
