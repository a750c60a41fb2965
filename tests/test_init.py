"""The integration loads into Home Assistant; its entries share one simulator client."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from homeassistant import config_entries
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.loader import async_get_integration

from custom_components.no_neutral import coordinator as coordinator_module
from custom_components.no_neutral.const import DOMAIN
from custom_components.no_neutral.coordinator import AdaptorCoordinator
from tests.adaptor_common import make_entry
from tests.link_helpers import wait_for
from tools.rig.server import MatterServer

# A lamp power the test's simulator refuses to solve.
BROKEN_W = 77


async def test_integration_loads(hass: HomeAssistant) -> None:
    integration = await async_get_integration(hass, DOMAIN)
    assert integration.name == "No-Neutral Adaptor"
    assert integration.config_flow is True
    assert integration.pkg_path == "custom_components.no_neutral"
    await integration.async_get_component()
    handler = await integration.async_get_platform("config_flow")
    assert config_entries.HANDLERS[DOMAIN].__module__ == handler.__name__


async def test_user_flow_starts(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] == "menu"
    assert result["step_id"] == "start"
    assert result["menu_options"] == ["matter", "companion"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "matter"}
    )
    assert result["type"] == "form"
    assert result["step_id"] == "user"


@pytest.mark.matter
@pytest.mark.usefixtures("socket_enabled")
async def test_entries_share_one_simulator_client(
    hass: HomeAssistant, matter_server: MatterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six adaptors, two circuits, one broken: two simulations, one at a time, the rest load."""
    circuits: list[float] = []
    simulate = coordinator_module.simulate  # the session's memo (tests/adaptor_common.py)
    # Every run is held until all six entries have asked for their figures, so
    # a runner that starts a second job before the first ends is caught doing
    # so, however fast the machine. Jobs are counted where they are handed to
    # the executor, on the loop: a thread that starts late cannot hide one.
    everyone_asked = threading.Event()
    asked: list[float] = []
    running = 0
    most = 0

    def counted(scenario: dict[str, Any]) -> dict[str, Any]:
        circuits.append(scenario["lamp"]["power_w"])
        assert everyone_asked.wait(60), "the entries never all asked"
        if scenario["lamp"]["power_w"] == BROKEN_W:
            msg = "the circuit equations did not converge"
            raise ArithmeticError(msg)
        return simulate(scenario)

    real_add_job = hass.async_add_executor_job

    def add_job(target: Any, *args: Any) -> asyncio.Future[Any]:
        nonlocal running, most
        future = real_add_job(target, *args)
        # The client hands the job over wrapped (paced): look at what it runs.
        if counted in (target, *args):
            running += 1
            most = max(most, running)

            def ended(_future: asyncio.Future[Any]) -> None:
                nonlocal running
                running -= 1

            future.add_done_callback(ended)
        return future

    real_async_simulate = AdaptorCoordinator.async_simulate

    async def asking(self: AdaptorCoordinator, scenario: dict[str, Any]) -> dict[str, Any]:
        asked.append(scenario["lamp"]["power_w"])
        return await real_async_simulate(self, scenario)

    monkeypatch.setattr(coordinator_module, "simulate", counted)
    monkeypatch.setattr(hass, "async_add_executor_job", add_job)
    monkeypatch.setattr(AdaptorCoordinator, "async_simulate", asking)
    entries = [
        await make_entry(hass, matter_server, title=f"Lamp {n}", lamp_power_w=watts)
        for n, watts in enumerate((9, 9, 9, 9, 12, BROKEN_W))
    ]
    # The first entry's setup sets up the integration, which sets up all six at once.
    setup = hass.async_create_task(hass.config_entries.async_setup(entries[0].entry_id))
    # The poll's own loop steps let each caller hand its job over, if it would.
    await wait_for(lambda: len(asked) == 6 and running, limit=60)
    everyone_asked.set()
    assert await setup
    await hass.async_block_till_done()

    assert [e.state for e in entries] == [ConfigEntryState.LOADED] * 6
    # Identical circuits share one simulation; never two executor jobs at once.
    assert sorted(circuits) == [9, 12, BROKEN_W]
    assert most == 1
    figures = [e.runtime_data.adaptor.data.figures for e in entries]
    assert figures[0] == figures[1] == figures[2] == figures[3] != figures[4]
    # The broken one has its own issue, and only it.
    issues = ir.async_get(hass).issues
    assert (DOMAIN, f"{entries[5].entry_id}_simulation_failed") in issues
    assert not [key for key in issues if key[1].endswith("_simulation_failed")][1:]
    for entry in entries:
        await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.matter
@pytest.mark.usefixtures("socket_enabled")
async def test_a_caller_gone_leaves_the_shared_simulation_to_the_others(
    hass: HomeAssistant, matter_server: MatterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One entry's what-if cancelled mid-simulation: another waiting for it still gets it."""
    first = await make_entry(hass, matter_server, title="Lamp A")
    second = await make_entry(hass, matter_server, title="Lamp B")
    await hass.config_entries.async_setup(first.entry_id)
    await hass.async_block_till_done()
    release = threading.Event()
    runs: list[float] = []
    simulate = coordinator_module.simulate

    def held(scenario: dict[str, Any]) -> dict[str, Any]:
        runs.append(scenario["lamp"]["power_w"])
        release.wait(30)
        return simulate(scenario)

    monkeypatch.setattr(coordinator_module, "simulate", held)
    what_if = {**first.runtime_data.adaptor.data.scenario}
    what_if["lamp"] = {**what_if["lamp"], "power_w": 21}
    asked = hass.async_create_task(first.runtime_data.adaptor.async_simulate(what_if))
    waiting = hass.async_create_task(second.runtime_data.adaptor.async_simulate(what_if))
    # The run is held in the executor; both callers asked before it started.
    await wait_for(lambda: runs == [21])
    asked.cancel()
    release.set()
    figures = await waiting
    assert asked.cancelled()
    assert runs == [21]
    assert figures["lamp_power_w"] > 0
    for entry in (first, second):
        await hass.config_entries.async_unload(entry.entry_id)
