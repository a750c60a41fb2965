"""
The simulator client: one per Home Assistant, shared by every entry.

The simulator runs in Home Assistant's executor, one run at a time (a second
run would not finish sooner on a small machine and would take the core the
event loop needs), paced: its solver hands the GIL over about every half
millisecond, so the loop is never kept waiting for it, and stops once the run
is past DEADLINE_S (circuit/pacing.py).

Results are cached per kind ("figures", "picture", a parts sweep's circuits)
under the canonical JSON of the scenario: identical adaptors share one simulation, and askers of a
scenario being simulated wait for that run. A scenario the simulator refuses
or cannot solve is cached as its error, raised to every asker (an unsolvable
scenario is not retried every minute); a run stopped at its deadline is not
cached: the next ask simulates again.

Each run is a task of its own: an asker that is cancelled (an entry that
unloads) neither cancels the run others wait for nor loses its result.

A batch (async_run_many) is one run of several scenarios, solved together
(circuit.simulate_many: the same figures, in about half the time of one run
each): its members already cached are not simulated again, those another
asker is running are joined, and each of the rest is cached as its own
outcome, joined by its own askers meanwhile. Its deadline is DEADLINE_S per
member it simulates: the members share the solver's steps, so a batch takes
at most what its members would one by one.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util.hass_dict import HassKey

from .circuit import Pacer, ScenarioError, SimulationTimeoutError, parse_scenario
from .circuit.figures import simulate_many
from .const import DOMAIN

# A run's longest time. The longest accepted scenario took about 21 s on the
# 2-core test machine; a Raspberry Pi is a few times slower.
DEADLINE_S: Final = 60.0
# Distinct results kept per kind: figures are a few hundred bytes each, a
# waveform picture about 100 kB.
CACHE_SIZES: Final = {"figures": 128, "picture": 8}
DEFAULT_CACHE_SIZE: Final = 16

# Failures of the scenario itself: cached like results, raised to every asker.
SCENARIO_FAILURES: Final = (ScenarioError, ArithmeticError)

SIMULATOR: HassKey[SimulatorClient] = HassKey(f"{DOMAIN}_simulator")

type Outcome = Any  # a job's result, or its ScenarioError or ArithmeticError


class SimulatorTimeoutError(HomeAssistantError):
    """A run went past the deadline and was stopped (translated; not cached)."""

    def __init__(self, deadline_s: float) -> None:
        """Say how long the run was given."""
        super().__init__(
            translation_domain=DOMAIN,
            translation_key="simulation_timeout",
            translation_placeholders={"seconds": f"{deadline_s:g}"},
        )
        self.deadline_s = deadline_s


def scenario_key(scenario: Mapping[str, Any]) -> str:
    """Return the canonical JSON of a scenario (same circuit, same key)."""
    return json.dumps(scenario, sort_keys=True, separators=(",", ":"))


def figures_many(scenarios: Sequence[Mapping[str, Any]]) -> list[Outcome]:
    """
    simulate() of each scenario, in one batch: its figures, or its error in its place.

    A scenario the simulator refuses has its ScenarioError in its place (the
    batch would otherwise fail as a whole), one it cannot solve its
    ArithmeticError.
    """
    outcomes: list[Outcome] = []
    valid: list[int] = []
    for index, scenario in enumerate(scenarios):
        try:
            parse_scenario(scenario)
        except ScenarioError as err:
            outcomes.append(err)
        else:
            outcomes.append(None)
            valid.append(index)
    if valid:
        try:
            solved = simulate_many([scenarios[i] for i in valid], errors=True)
        except ArithmeticError as err:  # a batch of one raises its error
            solved = [err]
        for index, outcome in zip(valid, solved, strict=True):
            outcomes[index] = outcome
    return outcomes


def _paced[A, T](pacer: Pacer, job: Callable[[A], T], arg: A) -> T:
    """Run `job(arg)` with the solver's steps paced (in an executor thread)."""
    with pacer:
        return job(arg)


class SimulatorClient:
    """Runs the simulator for every entry; get it with `async_get_simulator(hass)`."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Start with nothing cached and nothing running."""
        self.hass = hass
        self._turn = asyncio.Lock()  # one run at a time
        self._caches: dict[str, OrderedDict[str, Outcome]] = {}
        self._running: dict[tuple[str, str], asyncio.Task[Outcome]] = {}

    async def async_run[T](
        self, kind: str, job: Callable[[dict[str, Any]], T], scenario: dict[str, Any]
    ) -> T:
        """
        Return `job(scenario)`: cached, joined if running, else run in the executor.

        `kind` names what the job computes ("figures", "picture"): the same
        scenario gives different results per kind. Raises the job's
        ScenarioError or ArithmeticError (cached too), and SimulatorTimeoutError
        when the run went past DEADLINE_S (not cached).
        """
        key = scenario_key(scenario)
        cache = self._caches.setdefault(kind, OrderedDict())
        if key in cache:
            cache.move_to_end(key)
            outcome = cache[key]
        else:
            task = self._running.get((kind, key))
            if task is None:
                task = self._start(
                    kind, [key], self._async_run(kind, key, job, dict(scenario)), kind
                )
            # Shielded: an asker that is cancelled leaves the run to the others.
            outcome = await asyncio.shield(task)
        if isinstance(outcome, SCENARIO_FAILURES):
            # Without the tracebacks of earlier raises (they would pile up on it).
            raise outcome.with_traceback(None)
        result: T = outcome
        return result

    async def async_run_many(
        self,
        kind: str,
        job_many: Callable[[list[dict[str, Any]]], list[Outcome]],
        scenarios: Sequence[Mapping[str, Any]],
    ) -> list[Outcome]:
        """
        Return each scenario's outcome: cached, joined if running, the rest run as one batch.

        `job_many` takes a list of scenarios and returns, in their order, each
        one's result or its ScenarioError or ArithmeticError (figures_many).
        Those errors come back in their scenario's place, cached like results;
        SimulatorTimeoutError is raised when the batch (or a run joined) went
        past its deadline (nothing of it cached).
        """
        keys = [scenario_key(scenario) for scenario in scenarios]
        cache = self._caches.setdefault(kind, OrderedDict())
        known: dict[str, Outcome] = {}
        waits: dict[str, asyncio.Future[Outcome]] = {}
        todo: dict[str, dict[str, Any]] = {}
        for key, scenario in zip(keys, scenarios, strict=True):
            if key in known or key in waits or key in todo:
                continue
            if key in cache:
                cache.move_to_end(key)
                known[key] = cache[key]
            elif (task := self._running.get((kind, key))) is not None:
                waits[key] = task
            else:
                todo[key] = dict(scenario)
        if todo:
            batch = self._start(
                kind, [], self._async_run_batch(kind, job_many, todo), f"{kind} batch"
            )
            for key in todo:
                # Each member a task of its own, for askers of that scenario to join.
                waits[key] = self._start(kind, [key], _member(batch, key), kind)
        for key, wait in waits.items():
            # Shielded: an asker that is cancelled leaves the runs to the others.
            known[key] = await asyncio.shield(wait)
        return [known[key] for key in keys]

    def _start(
        self, kind: str, keys: list[str], run: Coroutine[Any, Any, Outcome], name: str
    ) -> asyncio.Task[Outcome]:
        task = self.hass.async_create_background_task(
            run,
            f"{DOMAIN} simulation ({name})",
            # Not eager: the task must be in _running before it can end.
            eager_start=False,
        )
        for key in keys:
            self._running[(kind, key)] = task
        return task

    async def _async_run[T](
        self, kind: str, key: str, job: Callable[[dict[str, Any]], T], scenario: dict[str, Any]
    ) -> Outcome:
        try:
            outcome = await self._async_execute(DEADLINE_S, job, scenario)
        finally:
            del self._running[(kind, key)]
        self._store(kind, key, outcome)
        return outcome

    async def _async_run_batch(
        self,
        kind: str,
        job_many: Callable[[list[dict[str, Any]]], list[Outcome]],
        todo: dict[str, dict[str, Any]],
    ) -> dict[str, Outcome]:
        try:
            # DEADLINE_S per member: members share the solver's steps, so a
            # batch takes less than its members would one by one.
            outcomes = await self._async_execute(
                DEADLINE_S * len(todo), job_many, list(todo.values())
            )
        finally:
            # The members' own tasks end once this returns; their askers then hit the cache.
            for key in todo:
                del self._running[(kind, key)]
        if isinstance(outcomes, SCENARIO_FAILURES):
            # A job that raises instead of returning errors in place: every member failed.
            outcomes = [outcomes] * len(todo)
        found = dict(zip(todo, outcomes, strict=True))
        for key, outcome in found.items():
            self._store(kind, key, outcome)
        return found

    async def _async_execute[A](
        self, deadline_s: float, job: Callable[[A], Any], arg: A
    ) -> Outcome:
        """Run `job(arg)` paced in the executor, in turn; a scenario's failure returned."""
        async with self._turn:
            pacer = Pacer(deadline_s)
            try:
                return await self.hass.async_add_executor_job(_paced, pacer, job, arg)
            except SCENARIO_FAILURES as err:
                return err
            except SimulationTimeoutError as err:
                raise SimulatorTimeoutError(err.deadline_s) from err
            except asyncio.CancelledError:
                # Home Assistant is stopping: the run ends at its next step.
                pacer.stop()
                raise

    def _store(self, kind: str, key: str, outcome: Outcome) -> None:
        cache = self._caches.setdefault(kind, OrderedDict())
        cache[key] = outcome
        while len(cache) > CACHE_SIZES.get(kind, DEFAULT_CACHE_SIZE):
            cache.popitem(last=False)


async def _member(batch: asyncio.Task[dict[str, Outcome]], key: str) -> Outcome:
    """One member's outcome of a batch (its task is what askers of that scenario join)."""
    return (await batch)[key]


@callback
def async_get_simulator(hass: HomeAssistant) -> SimulatorClient:
    """Return the simulator client every entry of this Home Assistant shares."""
    if (client := hass.data.get(SIMULATOR)) is None:
        client = hass.data[SIMULATOR] = SimulatorClient(hass)
    return client
