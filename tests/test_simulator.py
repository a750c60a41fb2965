"""
The simulator client: one run at a time in the executor, identical scenarios
run once, askers joining a run, a cancelled asker leaving it to the others,
failures of the scenario cached, and a run past its deadline stopped with a
translated error, not cached; batches of scenarios likewise, member by member.

Runs are held inside the executor with a threading.Event, never timed: no
machine's speed changes what these tests see. The deadline is passed with a
clock moved on, under the real simulator's own pacing.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.no_neutral import coordinator as coordinator_module
from custom_components.no_neutral import simulator as simulator_module
from custom_components.no_neutral.circuit import ScenarioError, pacing, simulate
from custom_components.no_neutral.simulator import (
    SimulatorClient,
    SimulatorTimeoutError,
    async_get_simulator,
)
from tests.adaptor_common import seed_history, setup_entry
from tests.link_helpers import wait_for

LED = {"lamp": {"type": "led", "count": 1, "power_w": 7.0}}
OTHER = {"lamp": {"type": "led", "count": 1, "power_w": 8.0}}
# Longest wait for something that must happen (a run starting in the executor).
PATIENCE_S = 30.0


class HeldJob:
    """A job that records each run and waits in the executor until released."""

    def __init__(self) -> None:
        self.runs: list[dict[str, Any]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def __call__(self, scenario: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.runs.append(scenario)
            self.running += 1
            self.most = max(self.most, self.running)
        self.started.set()
        try:
            assert self.release.wait(PATIENCE_S), "never released"
            return {"power_w": scenario["lamp"]["power_w"]}
        finally:
            with self._lock:
                self.running -= 1

    async def wait_started(self, hass: HomeAssistant) -> None:
        """Wait until a run is inside the job (in the executor)."""
        assert await hass.async_add_executor_job(self.started.wait, PATIENCE_S)
        self.started.clear()

    async def ask_while_held(
        self,
        hass: HomeAssistant,
        first: Coroutine[Any, Any, Any],
        *others: Coroutine[Any, Any, Any],
    ) -> list[asyncio.Task[Any]]:
        """Ask `first` and hold its run in this job, then ask the others while it is held."""
        asked = [hass.async_create_task(first)]
        await self.wait_started(hass)
        asked += [hass.async_create_task(other) for other in others]
        # One turn of the loop: the later askers reach the client and find the run there.
        await asyncio.sleep(0)
        return asked

    async def release_after_no_other_start(self, hass: HomeAssistant) -> None:
        """Check that no other run starts while this one is held, then release it."""
        # A bounded wait for something that must not happen; it cannot pass by
        # the machine being slow, only fail to notice a second run on a very slow one.
        assert not await hass.async_add_executor_job(self.started.wait, 0.5)
        self.release.set()


@pytest.fixture
def client(hass: HomeAssistant) -> SimulatorClient:
    return async_get_simulator(hass)


async def test_askers_of_one_scenario_share_one_run(
    hass: HomeAssistant, client: SimulatorClient
) -> None:
    job = HeldJob()
    # Asked again while it runs (the same circuit, keys in another order): joined.
    first, second = await job.ask_while_held(
        hass,
        client.async_run("figures", job, LED),
        client.async_run("figures", job, {"lamp": {"power_w": 7.0, "count": 1, "type": "led"}}),
    )
    job.release.set()
    assert await first == await second == {"power_w": 7.0}
    assert job.runs == [LED]
    # Then cached: no run at all. Another kind of result is another run.
    assert await client.async_run("figures", job, LED) == {"power_w": 7.0}
    assert await client.async_run("picture", job, LED) == {"power_w": 7.0}
    assert job.runs == [LED, LED]
    assert async_get_simulator(hass) is client  # one per Home Assistant


async def test_one_run_at_a_time(hass: HomeAssistant, client: SimulatorClient) -> None:
    job = HeldJob()
    first, second = await job.ask_while_held(
        hass, client.async_run("figures", job, LED), client.async_run("figures", job, OTHER)
    )
    # The second waits for its turn: while the first is held it never starts.
    await job.release_after_no_other_start(hass)
    assert job.runs == [LED]
    assert await first == {"power_w": 7.0}
    assert await second == {"power_w": 8.0}
    assert job.runs == [LED, OTHER]
    assert job.most == 1


async def test_a_cancelled_asker_leaves_the_run_to_the_others(
    hass: HomeAssistant, client: SimulatorClient
) -> None:
    job = HeldJob()
    leaving, staying = await job.ask_while_held(
        hass, client.async_run("figures", job, LED), client.async_run("figures", job, LED)
    )
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    job.release.set()
    assert await staying == {"power_w": 7.0}
    assert job.runs == [LED]


async def test_a_run_every_asker_left_still_ends_and_is_kept(
    hass: HomeAssistant, client: SimulatorClient
) -> None:
    job = HeldJob()
    (leaving,) = await job.ask_while_held(hass, client.async_run("figures", job, LED))
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    job.release.set()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert await client.async_run("figures", job, LED) == {"power_w": 7.0}
    assert job.runs == [LED]


@pytest.mark.parametrize(
    "error",
    [
        ScenarioError("lamp.power_w", "must be positive"),
        ArithmeticError("the circuit equations did not converge"),
    ],
)
async def test_failures_of_the_scenario_are_kept_like_results(
    client: SimulatorClient, error: Exception
) -> None:
    runs: list[dict[str, Any]] = []

    def fail(scenario: dict[str, Any]) -> None:
        runs.append(scenario)
        raise error

    for _ in range(3):
        with pytest.raises(type(error)) as raised:
            await client.async_run("figures", fail, LED)
        assert raised.value is error
    assert runs == [LED]


async def test_the_cache_keeps_the_latest_scenarios_of_each_kind(
    client: SimulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(simulator_module.CACHE_SIZES, "figures", 2)
    runs: list[float] = []

    def job(scenario: dict[str, Any]) -> float:
        runs.append(scenario["lamp"]["power_w"])
        return float(scenario["lamp"]["power_w"])

    def lamp(watts: float) -> dict[str, Any]:
        return {"lamp": {"power_w": watts}}

    await client.async_run("figures", job, lamp(1))
    await client.async_run("figures", job, lamp(2))
    await client.async_run("figures", job, lamp(1))  # kept; now the latest
    await client.async_run("figures", job, lamp(3))  # drops 2, the oldest
    await client.async_run("figures", job, lamp(1))
    assert runs == [1, 2, 3]
    await client.async_run("figures", job, lamp(2))
    assert runs == [1, 2, 3, 2]


class LateClock:
    """The pacing's clock, moved on by a run as it starts: the deadline has passed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = 0.0
        monkeypatch.setattr(pacing, "perf_counter", lambda: time.perf_counter() + self.offset)

    def slow(self, scenario: dict[str, Any]) -> dict[str, Any]:
        """The real simulator, started a deadline and a second after its run was."""
        self.offset += simulator_module.DEADLINE_S + 1.0
        return simulate(scenario)


async def test_a_run_past_its_deadline_stops_and_is_not_kept(
    hass: HomeAssistant, client: SimulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = LateClock(monkeypatch)
    with pytest.raises(SimulatorTimeoutError) as raised:
        await client.async_run("figures", clock.slow, LED)
    assert raised.value.translation_key == "simulation_timeout"
    assert raised.value.translation_placeholders == {"seconds": "60"}
    assert isinstance(raised.value, HomeAssistantError)
    # Not kept: asked again, it runs again, in time; pacing changes no figure.
    figures = await client.async_run("figures", simulate, LED)
    assert figures == await hass.async_add_executor_job(simulate, LED)


@pytest.mark.matter
@pytest.mark.usefixtures("socket_enabled", "no_ws_heartbeat")
async def test_an_entry_retries_its_setup_after_a_run_past_its_deadline(
    hass: HomeAssistant, entry_factory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    memo = coordinator_module.simulate
    clock = LateClock(monkeypatch)
    monkeypatch.setattr(coordinator_module, "simulate", clock.slow)
    entry = await entry_factory(setup=False)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.reason == (
        "The simulation took longer than 60 s and was stopped; the next change simulates again"
    )

    monkeypatch.setattr(coordinator_module, "simulate", memo)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=5))
    # The retry runs in a task of its own; it connects and simulates again.
    await wait_for(lambda: entry.state is ConfigEntryState.LOADED, limit=PATIENCE_S)
    assert entry.runtime_data.adaptor.data.figures["lamp_v_mean"] > 0


@pytest.mark.matter
@pytest.mark.usefixtures("socket_enabled", "no_ws_heartbeat")
async def test_an_update_past_its_deadline_fails_and_the_next_change_simulates(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    entry_factory: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    memo = coordinator_module.simulate
    entry = await entry_factory(setup=False)
    # A worn capacitor: replacing it changes the circuit (a new simulation).
    seed_history(hass_storage, entry, cap_consumed=0.1)
    adaptor = await setup_entry(hass, entry)
    voltage = "sensor.hall_lamp_adaptor_lamp_voltage"
    assert hass.states.get(voltage).state != STATE_UNAVAILABLE

    clock = LateClock(monkeypatch)
    monkeypatch.setattr(coordinator_module, "simulate", clock.slow)
    await adaptor.async_reset_capacitor()
    await hass.async_block_till_done()
    assert adaptor.last_update_success is False
    assert hass.states.get(voltage).state == STATE_UNAVAILABLE
    assert str(adaptor.last_exception) == (
        "The simulation took longer than 60 s and was stopped; the next change simulates again"
    )
    assert entry.state is ConfigEntryState.LOADED

    # The next minute's update simulates the new circuit again, in time.
    monkeypatch.setattr(coordinator_module, "simulate", memo)
    freezer.tick(timedelta(minutes=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert adaptor.last_update_success is True
    assert adaptor.data.scenario["smoothing"]["capacitance_uf"] == 15.0
    assert hass.states.get(voltage).state != STATE_UNAVAILABLE


class Endless:
    """A job whose solver steps would never end (a scenario or a batch)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.done = threading.Event()
        self.ended: list[BaseException] = []

    def __call__(self, _arg: object) -> None:
        self.started.set()
        try:
            while True:
                pacing.pace()
        except BaseException as err:
            self.ended.append(err)
            raise
        finally:
            self.done.set()

    async def stop_home_assistant(
        self, hass: HomeAssistant, askers: list[asyncio.Task[Any]]
    ) -> None:
        """Stop Home Assistant: the askers are cancelled, the run's thread ends at its next step."""
        assert await hass.async_add_executor_job(self.started.wait, PATIENCE_S)
        # Cancels the background tasks, the run among them: its thread ends too.
        await hass.async_stop()
        for asker in askers:
            with pytest.raises(asyncio.CancelledError):
                await asker
        await wait_for(self.done.is_set, limit=PATIENCE_S)
        assert len(self.ended) == 1
        assert isinstance(self.ended[0], pacing.SimulationTimeoutError)


async def test_home_assistant_stopping_ends_the_run(
    hass: HomeAssistant, client: SimulatorClient
) -> None:
    endless = Endless()
    asker = hass.async_create_task(client.async_run("figures", endless, LED))
    await endless.stop_home_assistant(hass, [asker])


# --- batches ------------------------------------------------------------------

BAD = {"lamp": {"type": "led", "count": 1, "power_w": -1.0}}
UNSOLVABLE = ArithmeticError("the circuit equations did not converge")


class HeldBatch(HeldJob):
    """A batch job: records each batch, waits until released, fails members of negative power."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[dict[str, Any]]] = []

    def many(self, scenarios: list[dict[str, Any]]) -> list[Any]:
        self.batches.append(scenarios)
        return [
            UNSOLVABLE if scenario["lamp"]["power_w"] < 0 else self(scenario)
            for scenario in scenarios
        ]


async def test_a_batch_runs_only_its_members_not_cached(
    hass: HomeAssistant, client: SimulatorClient
) -> None:
    job = HeldBatch()
    job.release.set()
    assert await client.async_run("figures", job, LED) == {"power_w": 7.0}
    # LED is cached; a member asked twice runs once; the answers in the order asked.
    outcomes = await client.async_run_many("figures", job.many, [OTHER, LED, OTHER])
    assert outcomes == [{"power_w": 8.0}, {"power_w": 7.0}, {"power_w": 8.0}]
    assert job.batches == [[OTHER]]
    # Each member is cached as its own result, for single askers and batches alike.
    assert await client.async_run("figures", job, OTHER) == {"power_w": 8.0}
    assert await client.async_run_many("figures", job.many, [LED, OTHER]) == [
        {"power_w": 7.0},
        {"power_w": 8.0},
    ]
    assert job.runs == [LED, OTHER]
    assert len(job.batches) == 1


async def test_a_batch_joins_a_run_of_its_member_and_waits_its_turn(
    hass: HomeAssistant, client: SimulatorClient
) -> None:
    job = HeldBatch()
    single, batch = await job.ask_while_held(
        hass,
        client.async_run("figures", job, OTHER),
        client.async_run_many("figures", job.many, [LED, OTHER]),
    )
    # The batch waits for the run in the executor; OTHER is not run a second time.
    await job.release_after_no_other_start(hass)
    assert await single == {"power_w": 8.0}
    assert await batch == [{"power_w": 7.0}, {"power_w": 8.0}]
    assert job.batches == [[LED]]
    assert job.runs == [OTHER, LED]
    assert job.most == 1


async def test_an_asker_of_a_member_joins_the_batch(
    hass: HomeAssistant, client: SimulatorClient
) -> None:
    job = HeldBatch()
    batch, single, other_batch = await job.ask_while_held(
        hass,
        client.async_run_many("figures", job.many, [LED, OTHER]),
        client.async_run("figures", job, OTHER),
        client.async_run_many("figures", job.many, [OTHER]),
    )
    job.release.set()
    assert await single == {"power_w": 8.0}
    assert await other_batch == [{"power_w": 8.0}]
    assert await batch == [{"power_w": 7.0}, {"power_w": 8.0}]
    assert job.batches == [[LED, OTHER]]
    assert job.runs == [LED, OTHER]


async def test_a_failing_member_fails_only_for_its_askers(
    hass: HomeAssistant, client: SimulatorClient
) -> None:
    job = HeldBatch()
    job.release.set()
    outcomes = await client.async_run_many("figures", job.many, [LED, BAD])
    assert outcomes == [{"power_w": 7.0}, UNSOLVABLE]
    # Kept: asked alone, it raises its error without a run; LED is unaffected.
    with pytest.raises(ArithmeticError) as raised:
        await client.async_run("figures", job, BAD)
    assert raised.value is UNSOLVABLE
    assert await client.async_run("figures", job, LED) == {"power_w": 7.0}
    assert job.batches == [[LED, BAD]]
    assert job.runs == [LED]


async def test_simulator_runs_counts_batches_and_single_runs_not_the_cache(
    client: SimulatorClient, simulator_runs: list[list[Any]]
) -> None:
    """The fixture the entry tests count runs with sees the fault finder's batches too."""
    job = HeldBatch()
    job.release.set()
    await client.async_run_many("figures", job.many, [LED, OTHER])
    await client.async_run("figures", job, LED)
    third = {"lamp": {"type": "led", "count": 1, "power_w": 9.0}}
    await client.async_run("figures", job, third)
    assert simulator_runs == [[LED, OTHER], [third]]


async def test_the_real_batch_gives_simulate_s_figures_and_each_refusal_in_place(
    hass: HomeAssistant, client: SimulatorClient
) -> None:
    figures, refused = await client.async_run_many(
        "figures", simulator_module.figures_many, [LED, BAD]
    )
    assert figures == await hass.async_add_executor_job(simulate, LED)
    assert isinstance(refused, ScenarioError)
    assert refused.key == "lamp.power_w"
    with pytest.raises(ScenarioError):
        await client.async_run("figures", simulate, BAD)
    assert await client.async_run("figures", simulate, LED) is figures


async def test_a_batch_every_asker_left_still_ends_and_is_kept(
    hass: HomeAssistant, client: SimulatorClient
) -> None:
    job = HeldBatch()
    leaving, staying = await job.ask_while_held(
        hass,
        client.async_run_many("figures", job.many, [LED, OTHER]),
        client.async_run("figures", job, OTHER),
    )
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    job.release.set()
    assert await staying == {"power_w": 8.0}
    await hass.async_block_till_done(wait_background_tasks=True)
    assert await client.async_run_many("figures", job.many, [LED, OTHER]) == [
        {"power_w": 7.0},
        {"power_w": 8.0},
    ]
    assert job.batches == [[LED, OTHER]]


async def test_a_batch_has_the_deadline_of_its_members_together(
    hass: HomeAssistant, client: SimulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = LateClock(monkeypatch)

    def late(by_s: float) -> Callable[[list[dict[str, Any]]], list[Any]]:
        def many(scenarios: list[dict[str, Any]]) -> list[Any]:
            clock.offset += by_s
            return simulator_module.figures_many(scenarios)

        return many

    # Two members: past one run's deadline is still in time.
    deadline_s = simulator_module.DEADLINE_S
    in_time = await client.async_run_many("figures", late(deadline_s + 1.0), [LED, OTHER])
    assert in_time == [
        await hass.async_add_executor_job(simulate, LED),
        await hass.async_add_executor_job(simulate, OTHER),
    ]
    third = {"lamp": {"type": "led", "count": 1, "power_w": 9.0}}
    fourth = {"lamp": {"type": "led", "count": 1, "power_w": 10.0}}
    with pytest.raises(SimulatorTimeoutError) as raised:
        await client.async_run_many("figures", late(2 * deadline_s + 1.0), [LED, third, fourth])
    # Only the two members simulated count (LED is cached); nothing of it kept.
    assert raised.value.translation_placeholders == {"seconds": "120"}
    assert (await client.async_run_many("figures", simulator_module.figures_many, [third]))[0] == (
        await hass.async_add_executor_job(simulate, third)
    )


async def test_home_assistant_stopping_ends_the_batch(
    hass: HomeAssistant, client: SimulatorClient
) -> None:
    endless = Endless()
    batch = hass.async_create_task(client.async_run_many("figures", endless, [LED, OTHER]))
    assert await hass.async_add_executor_job(endless.started.wait, PATIENCE_S)
    # An asker of a member joins the batch, and is stopped with it.
    member = hass.async_create_task(client.async_run("figures", simulate, OTHER))
    await asyncio.sleep(0)
    await endless.stop_home_assistant(hass, [batch, member])
