"""
Figures (run by scripts/bench_reliability; `long`): event-loop blocking, memory,
50 entries on one server. Each prints its figures and checks its target.

Loop blocking is measured two ways at once: a probe task that asks to wake
every millisecond and records how late it wakes (the longest lateness is the
longest time anything held the loop), and asyncio's own slow-callback report
with the threshold lowered to the 5 ms target, whose lines name the culprit.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import logging
import pstats
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from homeassistant.components.light import DOMAIN as LIGHT_DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TOGGLE, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.no_neutral import coordinator as coordinator_module
from custom_components.no_neutral.circuit import simulate as real_simulate
from custom_components.no_neutral.config_flow import default_options
from custom_components.no_neutral.const import CONF_NODE_ID, CONF_URL, DOMAIN
from tests.adaptor_common import import_node, memo_simulate
from tests.link_helpers import server_command, server_fabric, wait_for
from tests.rig import CommissionedRelay, MatterServer

from .test_server_faults import lamp, set_up

pytestmark = [
    pytest.mark.long,
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled"),
    pytest.mark.parametrize("expected_lingering_timers", [True]),
]

TARGET_BLOCK_MS = 5.0
TARGET_MEMORY_MB = 40.0
PROJECT = Path(__file__).resolve().parents[2]


def print_loop_profile(profiler: cProfile.Profile) -> None:
    """The integration's functions that took the most time on the loop during setup."""
    stats = pstats.Stats(profiler)
    rows = []
    for (path, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if "custom_components/no_neutral" in path and "circuit" not in path:
            rows.append((cumtime, tottime, calls, f"{Path(path).name}:{line} {name}"))
    print("    on the loop during setup, integration functions by cumulative time:")
    for cumtime, tottime, calls, where in sorted(rows, reverse=True)[:8]:
        print(
            f"      {cumtime * 1000:7.1f} ms cum {tottime * 1000:6.1f} ms own {calls:5d} calls  {where}"
        )


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class LoopProbe:
    """Wakes every millisecond; the longest lateness is the longest loop block."""

    def __init__(self) -> None:
        self.lateness: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(0.001)
            self.lateness.append(loop.time() - asked - 0.001)

    @property
    def worst_ms(self) -> float:
        return max(self.lateness, default=0.0) * 1000

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.lateness)
        return ordered[int(len(ordered) * 0.99)] * 1000 if ordered else 0.0


class SlowCallbacks(logging.Handler):
    """asyncio's 'Executing <...> took N seconds' lines (debug mode)."""

    pattern = re.compile(r"took (\d+\.\d+) seconds")

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[float, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if (match := self.pattern.search(message)) is not None:
            self.lines.append((float(match.group(1)) * 1000, message[:300]))

    def ours(self) -> list[tuple[float, str]]:
        return [(ms, line) for ms, line in self.lines if "no_neutral" in line]


@asynccontextmanager
async def measured(
    label: str, results: dict[str, tuple[float, float, float]], *, debug: bool = True
) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    # Debug mode names slow callbacks but slows every step; the probe works without it.
    loop.set_debug(debug)
    old = loop.slow_callback_duration
    loop.slow_callback_duration = TARGET_BLOCK_MS / 1000
    slow = SlowCallbacks()
    logging.getLogger("asyncio").addHandler(slow)
    probe = LoopProbe()
    task = asyncio.create_task(probe._run())
    try:
        yield
    finally:
        task.cancel()
        loop.slow_callback_duration = old
        logging.getLogger("asyncio").removeHandler(slow)
    ours = max((ms for ms, _ in slow.ours()), default=0.0)
    results[label] = (probe.worst_ms, probe.p99_ms, ours)
    print(
        f"[loop] {label}: longest block {probe.worst_ms:.1f} ms (p99 {probe.p99_ms:.2f} ms); "
        f"slowest integration callback over {TARGET_BLOCK_MS} ms: {ours:.1f} ms"
    )
    for ms, line in sorted(slow.ours(), reverse=True)[:3]:
        print(f"    {ms:.1f} ms: {line}")


@pytest.mark.xfail(
    strict=True,
    reason=(
        "TARGET MISSED (5 ms): single loop steps of the integration's setup tasks take "
        "30-150 ms in asyncio debug mode (the image platform's setup step up to 149 ms, the "
        "sensor platform's 41-94 ms, the entry setup 29-144 ms); the Matter listener's "
        "steps 6-34 ms during a toggle burst; see the printed profile"
    ),
)
async def test_loop_blocking(
    hass: HomeAssistant,
    commissioned_relay: CommissionedRelay,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Setup (a real simulation), a what-if simulation, 100 toggles of the real relay."""
    monkeypatch.setattr(coordinator_module, "simulate", real_simulate)
    rig = commissioned_relay
    results: dict[str, tuple[float, float, float]] = {}
    profiler = cProfile.Profile()
    async with measured("setup (with its first real simulation)", results):
        # cProfile follows only this (the loop's) thread: what ran on the loop.
        profiler.enable()
        entry = await set_up(hass, rig.server.url, rig.node_id)
        profiler.disable()
    print_loop_profile(profiler)
    assert entry.state is ConfigEntryState.LOADED
    light = lamp(hass, entry)
    adaptor = entry.runtime_data.adaptor
    scenario = {**adaptor.data.scenario, "lamp": {**adaptor.data.scenario["lamp"], "power_w": 33}}
    async with measured("one simulation (executor job)", results):
        began = time.monotonic()
        await adaptor.async_simulate(scenario)
        print(f"    simulation took {time.monotonic() - began:.1f} s")
    async with measured("burst of 100 relay toggles", results):
        for _ in range(100):
            await hass.services.async_call(
                LIGHT_DOMAIN, SERVICE_TOGGLE, {ATTR_ENTITY_ID: light}, blocking=True
            )
        await asyncio.sleep(2.5)
        await hass.async_block_till_done()
    assert hass.states.get(light).state != STATE_UNAVAILABLE
    await hass.config_entries.async_unload(entry.entry_id)
    # The target is for the integration's own callbacks (the probe also sees the
    # harness, the Matter client and the GIL held by the simulator's thread).
    worst_ours = max(ours for _, _, ours in results.values())
    print(
        f"[loop] slowest integration callback overall: {worst_ours:.1f} ms (target < {TARGET_BLOCK_MS} ms)"
    )
    assert worst_ours < TARGET_BLOCK_MS, results


async def _entries(
    hass: HomeAssistant, server: MatterServer, count: int
) -> tuple[list[MockConfigEntry], float]:
    """Import `count` nodes, then time the set-up of one entry each (setup only)."""
    nodes = [await import_node(server.url, relay_on=True) for _ in range(count)]
    fabric = await server_fabric(server.url)
    entries = []
    for node_id in nodes:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=f"Lamp {node_id}",
            unique_id=f"{fabric:016X}-{node_id:016X}",
            data={CONF_URL: server.url, CONF_NODE_ID: node_id},
            options=default_options(),
        )
        entry.add_to_hass(hass)
        entries.append(entry)
    began = time.monotonic()
    # Setting up the first sets up the integration, which sets up every entry it has.
    await hass.config_entries.async_setup(entries[0].entry_id)
    await hass.async_block_till_done()
    return entries, time.monotonic() - began


async def test_memory_of_10_entries(
    hass: HomeAssistant, matter_server: MatterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RSS before and after setting up 10 entries (real simulations, one per entry)."""
    monkeypatch.setattr(coordinator_module, "simulate", real_simulate)
    gc.collect()
    before = rss_mb()
    entries, took = await _entries(hass, matter_server, 10)
    await hass.async_block_till_done()
    gc.collect()
    after = rss_mb()
    assert all(e.state is ConfigEntryState.LOADED for e in entries)
    print(
        f"[memory] 10 entries: RSS {before:.0f} MB -> {after:.0f} MB (+{after - before:.1f} MB, "
        f"target < {TARGET_MEMORY_MB} MB); set up in {took:.1f} s with real simulations"
    )
    for entry in entries:
        await hass.config_entries.async_unload(entry.entry_id)
    assert after - before < TARGET_MEMORY_MB


def test_import_memory() -> None:
    """What importing the integration adds to a process that already has Home Assistant."""
    code = (
        "import homeassistant.core, homeassistant.helpers.entity_platform, "
        "homeassistant.components.light, homeassistant.components.sensor;"
        "from pathlib import Path;"
        "rss=lambda: int([l for l in Path('/proc/self/status').read_text().splitlines() "
        "if l.startswith('VmRSS:')][0].split()[1])/1024;"
        "a=rss(); import custom_components.no_neutral; b=rss();"
        "print(f'{a:.1f} {b:.1f}')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT
    ).stdout.split()
    before, after = float(out[0]), float(out[1])
    print(
        f"[memory] import of the integration (Matter client, numpy, simulator): +{after - before:.1f} MB"
    )


async def test_50_entries_on_one_server(
    hass: HomeAssistant, matter_server: MatterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    Setup time and memory of 50 entries; one node's fault leaves the other 49 alone.

    The entries are identical adaptors, so the simulator runs for real once and
    the other 49 take its result from the memo of tests/adaptor_common.py: the
    figure is the integration's own cost, not 50 times the same simulation.
    """
    monkeypatch.setattr(coordinator_module, "simulate", memo_simulate)
    gc.collect()
    before = rss_mb()
    results: dict[str, tuple[float, float, float]] = {}
    async with measured("setting up 50 entries at once (asyncio debug off)", results, debug=False):
        entries, took = await _entries(hass, matter_server, 50)
    await hass.async_block_till_done()
    gc.collect()
    after = rss_mb()
    assert all(e.state is ConfigEntryState.LOADED for e in entries)
    lights = [lamp(hass, e) for e in entries]
    states = {light: hass.states.get(light).state for light in lights}
    assert STATE_UNAVAILABLE not in states.values()
    print(
        f"[50 entries] set up in {took:.1f} s ({took / 50 * 1000:.0f} ms each, simulations memoised); "
        f"RSS +{after - before:.1f} MB ({(after - before) / 50 * 1024:.0f} kB each); "
        f"links to the server: {len(hass.data['no_neutral_servers'])}"
    )
    # One relay's fault: its node leaves the server.
    victim = entries[17]
    await server_command(matter_server.url, "remove_node", node_id=victim.data["node_id"])
    await wait_for(lambda: hass.states.get(lights[17]).state == STATE_UNAVAILABLE, limit=5)
    await asyncio.sleep(1)
    await hass.async_block_till_done()
    for light in lights:
        if light != lights[17]:
            assert hass.states.get(light).state == states[light], light
    assert all(e.state is ConfigEntryState.LOADED for e in entries)
    began = time.monotonic()
    for entry in entries:
        await hass.config_entries.async_unload(entry.entry_id)
    print(
        f"[50 entries] unloaded in {time.monotonic() - began:.1f} s; others unaffected by the fault"
    )
