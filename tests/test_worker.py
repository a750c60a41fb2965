"""
The simulator's worker process: the same results and errors as the simulator
in this process, one process reused, and a process that dies or hangs under a
job killed and replaced. Real processes throughout (signals sent to them).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
from datetime import timedelta
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.no_neutral import coordinator as coordinator_module
from custom_components.no_neutral import worker as worker_module
from custom_components.no_neutral.circuit import ScenarioError, parse_scenario, simulate
from custom_components.no_neutral.circuit import worker as circuit_worker
from custom_components.no_neutral.image import draw
from custom_components.no_neutral.simulation import SimulationRunner, async_get_runner
from custom_components.no_neutral.worker import SimulatorFailed
from tests.adaptor_common import import_node, memo_simulate
from tests.reliability.test_server_faults import set_up
from tests.rig import MatterServer

SCENARIO: dict[str, Any] = {"lamp": {"type": "led", "count": 1, "power_w": 7.0}}
REFUSED: dict[str, Any] = {"lamp": {"power_w": -1}}
_REFUSALS = itertools.count(2)


async def _pid(runner: SimulationRunner) -> int:
    """Wait for the worker process to be running; return its id."""
    async with asyncio.timeout(30):
        while (pid := runner.worker.pid) is None:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    return pid


async def _warm(runner: SimulationRunner) -> int:
    """Start the process with a job that needs no simulation (its imports done); return its id."""
    # Another refused scenario each time: the runner caches refusals.
    refused = {"lamp": {"power_w": -next(_REFUSALS)}}
    with pytest.raises(ScenarioError):
        await runner.async_run("figures", simulate, refused)
    return await _pid(runner)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize(
    ("error", "rebuilt"),
    [
        (ScenarioError("lamp.power_w", "must be positive"), ScenarioError),
        (ArithmeticError("the circuit equations did not converge"), ArithmeticError),
        (ZeroDivisionError("float division by zero"), ZeroDivisionError),
        (FloatingPointError("overflow encountered in multiply"), FloatingPointError),
    ],
)
def test_scenario_failures_cross_the_process_as_raised(
    error: Exception, rebuilt: type[Exception], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's reply rebuilds the same exception type with the same message."""

    def fail(_scenario: dict[str, Any]) -> None:
        raise error

    monkeypatch.setitem(circuit_worker.JOBS, "simulate", fail)
    reply = circuit_worker.answer('{"job": "simulate", "scenario": {}}')
    again = circuit_worker.reply_error(reply)
    assert type(again) is rebuilt
    assert str(again) == str(error)
    if isinstance(error, ScenarioError):
        assert isinstance(again, ScenarioError)
        assert (again.key, again.reason) == (error.key, error.reason)


def test_a_bug_in_the_simulator_is_not_a_scenario_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(_scenario: dict[str, Any]) -> None:
        msg = "bad index"
        raise IndexError(msg)

    monkeypatch.setitem(circuit_worker.JOBS, "simulate", fail)
    reply = circuit_worker.answer('{"job": "simulate", "scenario": {}}')
    assert reply == {"error": "Exception", "message": "IndexError: bad index"}
    assert circuit_worker.reply_error(reply) is None


async def test_the_worker_gives_the_simulators_results(hass: HomeAssistant) -> None:
    """Figures, pictures and refusals from one process, as the simulator here gives them."""
    runner = async_get_runner(hass)
    figures = await runner.async_run("figures", simulate, SCENARIO)
    assert figures == memo_simulate(SCENARIO)  # every figure, bit for bit
    pid = await _pid(runner)

    picture = await runner.async_run("picture", draw, SCENARIO)
    assert picture == await hass.async_add_executor_job(draw, SCENARIO)

    with pytest.raises(ScenarioError) as refused:
        await runner.async_run("figures", simulate, REFUSED)
    with pytest.raises(ScenarioError) as here:
        parse_scenario(REFUSED)
    assert str(refused.value) == str(here.value) == "lamp.power_w: must be positive"
    assert (refused.value.key, refused.value.reason) == (here.value.key, here.value.reason)

    assert runner.worker.pid == pid
    assert runner.worker.starts == 1
    assert runner.stats.in_worker == runner.stats.runs == 3
    await runner.worker.async_stop()
    assert runner.worker.pid is None
    assert _gone(pid)


async def test_a_killed_worker_fails_its_job_and_the_next_job_gets_a_new_one(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    runner = async_get_runner(hass)
    pid = await _warm(runner)
    job = hass.async_create_task(runner.async_run("figures", simulate, SCENARIO))
    await asyncio.sleep(0.3)  # a simulation takes about a second: the process is in it
    assert not job.done()
    os.kill(pid, signal.SIGKILL)
    with caplog.at_level(logging.WARNING), pytest.raises(SimulatorFailed) as failed:
        await job
    assert failed.value.error == "it ended, exit code -9"
    assert "The simulator process failed (it ended, exit code -9): restarted" in caplog.text
    assert runner.worker.failures == 1
    assert runner.worker.pid is None

    # Not cached as the scenario's failure: the next job simulates it in a new process.
    assert await runner.async_run("figures", simulate, SCENARIO) == memo_simulate(SCENARIO)
    assert runner.worker.starts == 2
    assert runner.worker.pid not in (None, pid)
    await runner.worker.async_stop()


async def test_a_worker_killed_while_idle_is_replaced_at_the_next_job(
    hass: HomeAssistant,
) -> None:
    runner = async_get_runner(hass)
    pid = await _warm(runner)
    os.kill(pid, signal.SIGKILL)
    async with asyncio.timeout(10):
        while not _gone(pid):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    # No job was running: the next one just gets a new process.
    await _warm(runner)
    assert runner.worker.starts == 2
    assert runner.worker.failures == 0
    await runner.worker.async_stop()


async def test_a_hung_worker_is_killed_after_the_timeout(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = async_get_runner(hass)
    pid = await _warm(runner)
    monkeypatch.setattr(worker_module, "JOB_TIMEOUT_S", 1.0)
    job = hass.async_create_task(runner.async_run("figures", simulate, SCENARIO))
    await asyncio.sleep(0.1)
    os.kill(pid, signal.SIGSTOP)  # alive, but it will never answer
    with pytest.raises(SimulatorFailed) as failed:
        await job
    assert failed.value.error == "no answer in 1 s, exit code -9"
    assert _gone(pid)
    monkeypatch.setattr(worker_module, "JOB_TIMEOUT_S", 300.0)
    await _warm(runner)
    assert runner.worker.starts == 2
    await runner.worker.async_stop()


async def test_an_idle_worker_stops_and_the_next_job_starts_one(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_module, "IDLE_STOP_S", 0.2)
    runner = async_get_runner(hass)
    pid = await _warm(runner)
    async with asyncio.timeout(10):
        while runner.worker.pid is not None:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        while not _gone(pid):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    assert runner.worker.failures == 0
    await _warm(runner)
    assert runner.worker.starts == 2
    await runner.worker.async_stop()


@pytest.mark.matter
@pytest.mark.usefixtures("socket_enabled")
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_a_test_double_runs_in_the_executor(
    hass: HomeAssistant, matter_server: MatterServer
) -> None:
    """The suite's memo (tests/adaptor_common.py) is no job of the worker's: no process."""
    assert coordinator_module.simulate is memo_simulate
    node_id = await import_node(matter_server.url, relay_on=True)
    entry = await set_up(hass, matter_server.url, node_id)
    assert entry.state is ConfigEntryState.LOADED
    runner = async_get_runner(hass)
    assert runner.stats.runs == 1
    assert runner.stats.in_worker == runner.worker.starts == 0
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.matter
@pytest.mark.usefixtures("socket_enabled")
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_an_entry_retries_its_setup_when_the_worker_dies(
    hass: HomeAssistant,
    matter_server: MatterServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Killed under the first refresh: a setup retry, then loaded with a new process."""
    monkeypatch.setattr(coordinator_module, "simulate", simulate)
    node_id = await import_node(matter_server.url, relay_on=True)
    runner = async_get_runner(hass)
    setup = hass.async_create_task(set_up(hass, matter_server.url, node_id))
    pid = await _pid(runner)
    await asyncio.sleep(0.5)  # numpy imported, the simulation begun
    os.kill(pid, signal.SIGKILL)
    entry = await setup
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.reason == (
        "The simulator process failed (it ended, exit code -9); "
        "the next simulation starts a new one"
    )
    assert "The simulator process failed (it ended, exit code -9" in caplog.text

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=5))
    await _loaded(hass, entry.entry_id)
    assert runner.worker.starts == 2
    assert entry.runtime_data.adaptor.data.figures["lamp_v_mean"] > 0
    # The last entry unloaded: no process left behind.
    pid = await _pid(runner)
    await hass.config_entries.async_unload(entry.entry_id)
    assert runner.worker.pid is None
    assert _gone(pid)


async def _loaded(hass: HomeAssistant, entry_id: str) -> None:
    entry = hass.config_entries.async_get_entry(entry_id)
    assert entry is not None
    async with asyncio.timeout(60):
        while entry.state is not ConfigEntryState.LOADED:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
