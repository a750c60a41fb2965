"""
The simulator client: one per Home Assistant, shared by every entry.

The simulator runs in Home Assistant's executor, one run at a time (a second
run would not finish sooner on a small machine and would take the core the
event loop needs), paced: its solver hands the GIL over about every half
millisecond, so the loop is never kept waiting for it, and stops once the run
is past DEADLINE_S (circuit/pacing.py).

Results are cached per kind ("figures", "picture") under the canonical JSON of
the scenario: identical adaptors share one simulation, and askers of a
scenario being simulated wait for that run. A scenario the simulator refuses
or cannot solve is cached as its error, raised to every asker (an unsolvable
scenario is not retried every minute); a run stopped at its deadline is not
cached: the next ask simulates again.

Each run is a task of its own: an asker that is cancelled (an entry that
unloads) neither cancels the run others wait for nor loses its result.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util.hass_dict import HassKey

from .circuit import Pacer, ScenarioError, SimulationTimeoutError
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


def _paced[T](pacer: Pacer, job: Callable[[dict[str, Any]], T], scenario: dict[str, Any]) -> T:
    """Run `job(scenario)` with the solver's steps paced (in an executor thread)."""
    with pacer:
        return job(scenario)


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
                task = self.hass.async_create_background_task(
                    self._async_run(kind, key, job, dict(scenario)),
                    f"{DOMAIN} simulation ({kind})",
                    # Not eager: the task must be in _running before it can end.
                    eager_start=False,
                )
                self._running[(kind, key)] = task
            # Shielded: an asker that is cancelled leaves the run to the others.
            outcome = await asyncio.shield(task)
        if isinstance(outcome, SCENARIO_FAILURES):
            # Without the tracebacks of earlier raises (they would pile up on it).
            raise outcome.with_traceback(None)
        result: T = outcome
        return result

    async def _async_run[T](
        self, kind: str, key: str, job: Callable[[dict[str, Any]], T], scenario: dict[str, Any]
    ) -> Outcome:
        try:
            async with self._turn:
                pacer = Pacer(DEADLINE_S)
                try:
                    outcome: Outcome = await self.hass.async_add_executor_job(
                        _paced, pacer, job, scenario
                    )
                except SCENARIO_FAILURES as err:
                    outcome = err
                except SimulationTimeoutError as err:
                    raise SimulatorTimeoutError(err.deadline_s) from err
                except asyncio.CancelledError:
                    # Home Assistant is stopping: the run ends at its next step.
                    pacer.stop()
                    raise
        finally:
            del self._running[(kind, key)]
        cache = self._caches.setdefault(kind, OrderedDict())
        cache[key] = outcome
        while len(cache) > CACHE_SIZES.get(kind, DEFAULT_CACHE_SIZE):
            cache.popitem(last=False)
        return outcome


@callback
def async_get_simulator(hass: HomeAssistant) -> SimulatorClient:
    """Return the simulator client every entry of this Home Assistant shares."""
    if (client := hass.data.get(SIMULATOR)) is None:
        client = hass.data[SIMULATOR] = SimulatorClient(hass)
    return client
