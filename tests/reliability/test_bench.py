"""
Figures (run by scripts/bench_reliability; `long`): event-loop blocking, memory,
50 entries on one server. Each prints its figures and checks its target.

Loop blocking is measured three ways at once:

- a probe task that asks to wake every millisecond and records how late it
  wakes: the longest lateness is the longest time anything held the loop
  (the harness, Home Assistant, the Matter client, a busy executor thread
  holding the GIL, other processes on a shared machine);
- every loop step timed (StepTimer): wall time and the loop thread's own CPU
  time, named by the task or callback it ran; the integration's steps are its
  tasks (named no_neutral) and callbacks, and inside them the Matter client's
  own parsing of server messages (LibraryTime) is measured apart;
- asyncio's slow-callback report, in debug mode only (debug mode slows every
  step several times over: it records a traceback at each task creation), so
  off by default.

The target (< 5 ms) is asserted on the integration's own steps in CPU time:
wall time also counts the time the loop thread waited for a core or for the
GIL, which on a 2-core machine shared by other test runs says more about the
machine than about the code; it is printed next to it. While a simulation
runs (in an executor thread of this process, paced: circuit/pacing.py hands
the GIL over about every half millisecond of solver work), the probe's
99th-percentile lateness (wall time) is held under 2 ms. The worst lateness,
and that less the time the loop thread waited for a core (Linux's
schedstat), are printed beside it.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import logging
import os
import pstats
import re
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import pytest
from homeassistant.components.light import DOMAIN as LIGHT_DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TOGGLE, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from matter_server.client import client as client_module
from matter_server.client import connection as client_connection
from matter_server.client.models.node import MatterNode
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.no_neutral import PLATFORMS
from custom_components.no_neutral import coordinator as coordinator_module
from custom_components.no_neutral.circuit import simulate as real_simulate
from custom_components.no_neutral.const import CONF_NODE_ID, CONF_URL, DOMAIN
from custom_components.no_neutral.options import default_options
from tests.adaptor_common import import_node
from tests.link_helpers import server_command, server_fabric, wait_for
from tests.rig import CommissionedRelay, MatterServer

from .test_server_faults import lamp, set_up

pytestmark = [
    pytest.mark.long,
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled"),
]

TARGET_BLOCK_MS = 5.0
SIMULATION = "one simulation (executor thread, paced)"
REFERENCE = "the same loop for as long, no simulation (reference)"
# The probe's 99th percentile during a simulation (wall time).
TARGET_SIMULATING_P99_MS = 2.0
# What 10 entries add to Home Assistant's RSS.
TARGET_MEMORY_MB = 15.0
PROJECT = Path(__file__).resolve().parents[2]


def counted_simulator(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Give the entries the real simulator; return the scenarios it runs (the client's cache misses)."""
    runs: list[dict[str, Any]] = []

    def simulate(scenario: dict[str, Any]) -> dict[str, Any]:
        runs.append(scenario)
        return real_simulate(scenario)

    monkeypatch.setattr(coordinator_module, "simulate", simulate)
    return runs


def print_loop_profile(profiler: cProfile.Profile, label: str) -> None:
    """What ran on the loop: the integration's functions, then everything by own time."""
    stats = pstats.Stats(profiler)
    ours = []
    every = []
    for (path, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if "/circuit/" in path or "numpy" in path:
            continue  # the simulator, in the executor thread
        where = f"{'/'.join(Path(path).parts[-2:])}:{line} {name}"
        every.append((tottime, cumtime, calls, where))
        if "custom_components/no_neutral" in path and "circuit" not in path:
            ours.append((cumtime, tottime, calls, where))
    print(f"    on the loop during {label}, integration functions by cumulative time:")
    for cumtime, tottime, calls, where in sorted(ours, reverse=True)[:8]:
        print(
            f"      {cumtime * 1000:7.1f} ms cum {tottime * 1000:6.1f} ms own {calls:5d} calls  {where}"
        )
    print(f"    on the loop during {label}, every function by own time:")
    for tottime, cumtime, calls, where in sorted(every, reverse=True)[:10]:
        print(
            f"      {tottime * 1000:7.1f} ms own {cumtime * 1000:7.1f} ms cum {calls:5d} calls  {where}"
        )


@dataclass(frozen=True)
class Step:
    """One loop step: its wall time, the loop thread's CPU time in it, and who ran."""

    wall_ms: float
    cpu_ms: float
    label: str
    ours: bool
    library_ms: float = 0.0  # of cpu_ms, spent in the Matter client's parsing
    gc_ms: float = 0.0  # of cpu_ms, spent in Python's garbage collection

    @property
    def own_cpu_ms(self) -> float:
        """The step's CPU time outside the Matter client's parsing and the garbage collector."""
        return self.cpu_ms - self.library_ms - self.gc_ms


def _step_label(handle: asyncio.Handle) -> tuple[str, bool]:
    """Name what a loop step ran: the task it stepped (name and coroutine), or the callback."""
    callback = handle._callback  # type: ignore[attr-defined]
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro = owner.get_coro()
        code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
        where = f"{code.co_filename}:{code.co_qualname}" if code is not None else repr(coro)
        label = f"task {owner.get_name()!r} {where}"
    else:
        function = getattr(callback, "__func__", callback)
        code = getattr(function, "__code__", None)
        where = f"{code.co_filename}:{code.co_qualname}" if code is not None else repr(callback)
        label = f"callback {where}"
    return label, "no_neutral" in label


class LibraryTime:
    """
    The loop thread's CPU time inside the Matter client's parsing.

    The client parses every server message on the loop, inside the task that
    listens (ours): the JSON, the dataclasses, a MatterNode per node of the
    full dump that start_listening returns. That is the library's work, not
    the integration's; it is measured here (outermost calls only) and shown
    apart, so the integration's own share of a step is known.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.cpu_s = 0.0
        # Python's cyclic garbage collection on the loop thread: it runs in
        # whichever step allocates past the threshold, for the whole heap
        # (Home Assistant's and the harness's), so it is shown apart too.
        self.gc_s = 0.0
        self._gc_began: float | None = None
        self._depth = 0
        self._loop_thread = threading.get_ident()
        gc.callbacks.append(self._on_gc)
        for module, name in (
            (client_connection, "json_loads"),
            (client_connection, "parse_message"),
            (client_module, "dataclass_from_dict"),
            (client_module, "MatterNode"),
            (MatterNode, "update"),
        ):
            monkeypatch.setattr(module, name, self._timed(getattr(module, name)))

    def _on_gc(self, phase: str, _info: dict[str, Any]) -> None:
        # Inside the client's parsing it counts as the parsing's already.
        if threading.get_ident() != self._loop_thread or self._depth:
            return
        if phase == "start":
            self._gc_began = time.thread_time()
        elif self._gc_began is not None:
            self.gc_s += time.thread_time() - self._gc_began
            self._gc_began = None

    def close(self) -> None:
        """Stop following the garbage collector."""
        gc.callbacks.remove(self._on_gc)

    def _timed(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() != self._loop_thread:
                return function(*args, **kwargs)
            self._depth += 1
            began = time.thread_time() if self._depth == 1 else None
            try:
                return function(*args, **kwargs)
            finally:
                self._depth -= 1
                if began is not None:
                    self.cpu_s += time.thread_time() - began

        return timed


class StepTimer:
    """
    Every loop step's wall time and the loop thread's own CPU time in it.

    Wall time is what the loop was held; CPU time (time.thread_time) is the
    work the step itself did. The difference is time the loop thread waited:
    for a core (other processes on a shared machine) or for the GIL (a busy
    executor thread, such as the simulator). A step over the target in CPU
    time is work to cut; one over it in wall time only is contention.
    """

    def __init__(
        self, threshold_ms: float = TARGET_BLOCK_MS, library: LibraryTime | None = None
    ) -> None:
        self.threshold_s = threshold_ms / 1000
        self.library = library
        self.steps: list[Step] = []
        self.count = 0
        self._original = asyncio.events.Handle._run

    def __enter__(self) -> Self:
        original = self._original
        timer = self

        library = self.library

        def timed_run(handle: asyncio.Handle) -> None:
            wall = time.perf_counter()
            cpu = time.thread_time()
            parsed = library.cpu_s if library else 0.0
            collected = library.gc_s if library else 0.0
            try:
                original(handle)
            finally:
                cpu = time.thread_time() - cpu
                wall = time.perf_counter() - wall
                parsed = (library.cpu_s if library else 0.0) - parsed
                collected = (library.gc_s if library else 0.0) - collected
                timer.count += 1
                if wall >= timer.threshold_s or cpu >= timer.threshold_s:
                    label, ours = _step_label(handle)
                    timer.steps.append(
                        Step(wall * 1000, cpu * 1000, label, ours, parsed * 1000, collected * 1000)
                    )

        asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]
        return self

    def __exit__(self, *_exc: object) -> None:
        asyncio.events.Handle._run = self._original  # type: ignore[method-assign]

    def worst(self, *, ours: bool, cpu: bool) -> Step | None:
        """The longest step (ours or anybody's), by own CPU or wall time."""
        steps = [s for s in self.steps if s.ours or not ours]
        return max(steps, key=lambda s: s.own_cpu_ms if cpu else s.wall_ms, default=None)


def rss_mb(pid: int | str = "self") -> float:
    """A process's resident memory (this one's by default)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class CoreWait:
    """
    The time the opening thread has spent runnable but waiting for a core.

    Linux's schedstat, read through a descriptor kept open (a read costs a
    few microseconds); 0 where it cannot be read. Time in the run queue is
    what a busy machine causes; waiting for the GIL or inside a step is not in it.
    """

    def __init__(self) -> None:
        try:
            self._fd: int | None = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
        except OSError:
            self._fd = None

    def seconds(self) -> float:
        if self._fd is None:
            return 0.0
        return int(os.pread(self._fd, 100, 0).split()[1]) / 1e9

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class LoopProbe:
    """
    Wakes every millisecond; the longest lateness is the longest loop block.

    Each lateness is also split: the part the loop thread spent waiting for a
    core (other processes on the machine had them) and the rest, during which
    this process held the loop (a step running, the GIL held by another thread).
    """

    def __init__(self) -> None:
        self.lateness: list[float] = []
        self.held: list[float] = []  # of each lateness, the part not spent waiting for a core
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        core_wait = CoreWait()  # opened here: the loop's thread
        try:
            while True:
                asked = loop.time()
                waited = core_wait.seconds()
                await asyncio.sleep(0.001)
                late = loop.time() - asked - 0.001
                self.lateness.append(late)
                self.held.append(max(0.0, late - (core_wait.seconds() - waited)))
        finally:
            core_wait.close()

    @property
    def worst_ms(self) -> float:
        return max(self.lateness, default=0.0) * 1000

    @property
    def worst_held_ms(self) -> float:
        """The longest time this process held the loop (lateness less waiting for a core)."""
        return max(self.held, default=0.0) * 1000

    @property
    def p99_ms(self) -> float:
        return _p99(self.lateness) * 1000

    @property
    def p99_held_ms(self) -> float:
        """The 99th percentile of the time this process held the loop (less waiting for a core)."""
        return _p99(self.held) * 1000


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(len(ordered) * 0.99)] if ordered else 0.0


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


@dataclass(frozen=True)
class LoopFigures:
    """One measured phase: the probe's view and the longest steps."""

    probe_worst_ms: float
    probe_p99_ms: float
    probe_held_ms: float  # the probe's longest lateness less the time it waited for a core
    probe_held_p99_ms: float  # the 99th percentile of that
    slow_callback_ours_ms: float  # asyncio's own report (debug mode), wall time
    ours_wall_ms: float  # the integration's longest step, wall time
    ours_cpu_ms: float  # the integration's longest step, the loop thread's CPU time,
    # without the Matter client's parsing inside it
    library_ms: float  # the Matter client's parsing inside that step
    gc_ms: float  # the garbage collector inside that step
    steps: int


@asynccontextmanager
async def measured(
    label: str,
    results: dict[str, LoopFigures],
    *,
    debug: bool = False,
    library: LibraryTime | None = None,
) -> AsyncIterator[StepTimer]:
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
        with StepTimer(library=library) as timer:
            yield timer
    finally:
        task.cancel()
        loop.set_debug(False)
        loop.slow_callback_duration = old
        logging.getLogger("asyncio").removeHandler(slow)
    ours = max((ms for ms, _ in slow.ours()), default=0.0)
    by_wall = timer.worst(ours=True, cpu=False)
    by_cpu = timer.worst(ours=True, cpu=True)
    anybody = timer.worst(ours=False, cpu=True)
    results[label] = LoopFigures(
        probe_worst_ms=probe.worst_ms,
        probe_p99_ms=probe.p99_ms,
        probe_held_ms=probe.worst_held_ms,
        probe_held_p99_ms=probe.p99_held_ms,
        slow_callback_ours_ms=ours,
        ours_wall_ms=by_wall.wall_ms if by_wall else 0.0,
        ours_cpu_ms=by_cpu.own_cpu_ms if by_cpu else 0.0,
        library_ms=by_cpu.library_ms if by_cpu else 0.0,
        gc_ms=by_cpu.gc_ms if by_cpu else 0.0,
        steps=timer.count,
    )
    figures = results[label]
    print(
        f"[loop] {label}{' (asyncio debug)' if debug else ''}: {timer.count} steps; "
        f"probe: longest block {probe.worst_ms:.1f} ms (p99 {probe.p99_ms:.2f} ms; "
        f"without waiting for a core {probe.worst_held_ms:.1f} ms); "
        f"integration's longest step of those over {TARGET_BLOCK_MS} ms "
        f"(0 = none): {figures.ours_wall_ms:.1f} ms wall; "
        f"{figures.ours_cpu_ms:.1f} ms CPU of its own (target < {TARGET_BLOCK_MS} ms) "
        f"+ {figures.library_ms:.1f} ms of the Matter client's parsing "
        f"+ {figures.gc_ms:.1f} ms of garbage collection; "
        f"asyncio slow-callback report, ours: {ours:.1f} ms"
    )
    if anybody is not None:
        print(
            f"    anybody's longest step by CPU: {anybody.cpu_ms:.1f} ms CPU, "
            f"{anybody.wall_ms:.1f} ms wall: {anybody.label[:200]}"
        )
    over = sorted(
        (s for s in timer.steps if s.ours), key=lambda s: (s.cpu_ms, s.wall_ms), reverse=True
    )
    for step in over[:4]:
        print(
            f"    ours {step.cpu_ms:5.1f} ms CPU ({step.library_ms:.1f} ms Matter client parsing, "
            f"{step.gc_ms:.1f} ms garbage collection) {step.wall_ms:6.1f} ms wall: "
            f"{step.label[:150]}"
        )
    for ms, line in sorted(slow.ours(), reverse=True)[:2]:
        print(f"    asyncio: {ms:.1f} ms: {line[:200]}")


async def test_loop_blocking(
    hass: HomeAssistant,
    commissioned_relay: CommissionedRelay,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Setup (a real simulation), a what-if simulation, 100 toggles of the real relay."""
    runs = counted_simulator(monkeypatch)
    rig = commissioned_relay
    results: dict[str, LoopFigures] = {}
    library = LibraryTime(monkeypatch)
    # Since Python 3.12 cProfile sees every thread (sys.monitoring): the
    # simulator's functions (circuit/) run in the executor and are left out.
    # HA's own base components (light, sensor, image, ...) are set up once per
    # start, by whichever integration comes first; their setup would run inside
    # our entry's forward-setup tasks and count as ours. Set them up first,
    # measured apart: not part of the target.
    base: dict[str, LoopFigures] = {}
    async with measured("Home Assistant's base components (not ours)", base):
        for domain in PLATFORMS:
            assert await async_setup_component(hass, domain, {})
    profiler = cProfile.Profile()
    async with measured("setup (with its first real simulation)", results, library=library):
        profiler.enable()
        entry = await set_up(hass, rig.server.url, rig.node_id)
        profiler.disable()
    print_loop_profile(profiler, "setup")
    assert entry.state is ConfigEntryState.LOADED
    light = lamp(hass, entry)
    adaptor = entry.runtime_data.adaptor
    scenario = {**adaptor.data.scenario, "lamp": {**adaptor.data.scenario["lamp"], "power_w": 33}}
    before = len(runs)
    async with measured(SIMULATION, results, library=library):
        began = time.monotonic()
        await adaptor.async_simulate(scenario)
        took = time.monotonic() - began
        print(f"    simulation took {took:.1f} s")
    # The real simulator ran (not the client's cache), in an executor thread.
    assert runs[before:] == [scenario]
    # The reference, side by side in the same run: the same probe over as
    # long a stretch of the same loop with no simulation (what the machine's
    # other load alone does to it).
    async with measured(REFERENCE, results, library=library):
        await asyncio.sleep(took)
    profiler = cProfile.Profile()
    async with measured("burst of 100 relay toggles", results, library=library):
        profiler.enable()
        for _ in range(100):
            await hass.services.async_call(
                LIGHT_DOMAIN, SERVICE_TOGGLE, {ATTR_ENTITY_ID: light}, blocking=True
            )
        await asyncio.sleep(2.5)
        await hass.async_block_till_done()
        profiler.disable()
    print_loop_profile(profiler, "the toggles")
    assert hass.states.get(light).state != STATE_UNAVAILABLE
    await hass.config_entries.async_unload(entry.entry_id)
    library.close()
    # The target is for the integration's own steps (the probe also sees the
    # harness, the Matter client and the GIL held by the simulator's thread).
    worst_cpu = max(f.ours_cpu_ms for f in results.values())
    worst_wall = max(f.ours_wall_ms for f in results.values())
    print(
        f"[loop] integration's longest step overall: {worst_cpu:.1f} ms CPU, "
        f"{worst_wall:.1f} ms wall (target < {TARGET_BLOCK_MS} ms)"
    )
    assert worst_cpu < TARGET_BLOCK_MS, results
    # The simulator's thread hands the GIL over about every half millisecond
    # of work, so the loop waits for it about that long at most when it wakes
    # (not CPython's 5 ms switch interval). The probe sees every step and
    # thread of this process: the 99th percentile of its lateness less the
    # time the loop thread waited for a core (Linux's schedstat: other
    # processes had both cores, which no code of ours can help) is held to
    # the target. The plain lateness (wall time), its 99th percentile and its
    # worst, are printed beside it.
    simulating = results[SIMULATION]
    reference = results[REFERENCE]
    print(
        f"[loop] reference (no simulation, same length): p99 "
        f"{reference.probe_held_p99_ms:.2f} ms without waiting for a core, "
        f"{reference.probe_held_ms:.1f} ms at worst; wall time: p99 "
        f"{reference.probe_p99_ms:.2f} ms, worst {reference.probe_worst_ms:.1f} ms"
    )
    print(
        f"[loop] during a simulation the loop woke late by {simulating.probe_held_p99_ms:.2f} ms "
        f"at the 99th percentile without waiting for a core (target < "
        f"{TARGET_SIMULATING_P99_MS} ms), {simulating.probe_held_ms:.1f} ms at worst; "
        f"wall time: p99 {simulating.probe_p99_ms:.2f} ms, worst {simulating.probe_worst_ms:.1f} ms"
    )
    assert simulating.probe_held_p99_ms < TARGET_SIMULATING_P99_MS, simulating


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
    """
    Home Assistant's RSS before and after setting up 10 entries (a real simulation).

    The simulator runs in Home Assistant's own process (no second one), so
    this is all the memory the entries add, the simulation's included. As in
    test_loop_blocking, Home Assistant's own base components (light, sensor,
    image, ...) are set up first: in a running Home Assistant they are there
    already (what importing the integration adds: test_import_memory).
    """
    runs = counted_simulator(monkeypatch)
    for domain in PLATFORMS:
        assert await async_setup_component(hass, domain, {})
    await hass.async_block_till_done()
    gc.collect()
    before = rss_mb()
    entries, took = await _entries(hass, matter_server, 10)
    await hass.async_block_till_done()
    gc.collect()
    added = rss_mb() - before
    assert all(e.state is ConfigEntryState.LOADED for e in entries)
    print(
        f"[memory] 10 entries: Home Assistant's RSS +{added:.1f} MB "
        f"(target < {TARGET_MEMORY_MB} MB); set up in {took:.1f} s, "
        f"{len(runs)} real simulation(s) for 10 identical adaptors"
    )
    for entry in entries:
        await hass.config_entries.async_unload(entry.entry_id)
    assert runs, "the real simulator ran"
    assert added < TARGET_MEMORY_MB


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

    The real simulator: the entries are identical adaptors, and the shared
    simulator client (simulator.py) simulates their circuit once for all
    fifty, one run at a time in the executor. (Fifty simultaneous simulations
    and drawings once stalled the loop for 16-18 s and the server dropped
    Home Assistant.) The loop during this setup: test_50_entries_loop_steps.
    """
    runs = counted_simulator(monkeypatch)
    gc.collect()
    before = rss_mb()
    entries, took = await _entries(hass, matter_server, 50)
    await hass.async_block_till_done()
    gc.collect()
    ha_added = rss_mb() - before
    assert all(e.state is ConfigEntryState.LOADED for e in entries)
    lights = [lamp(hass, e) for e in entries]
    states = {light: hass.states.get(light).state for light in lights}
    assert STATE_UNAVAILABLE not in states.values()
    print(
        f"[50 entries] set up in {took:.1f} s ({took / 50 * 1000:.0f} ms each, real simulator); "
        f"Home Assistant's RSS +{ha_added:.1f} MB ({ha_added / 50 * 1024:.0f} kB each); "
        f"links to the server: {len(hass.data['no_neutral_servers'])}; "
        f"real simulations: {len(runs)}"
    )
    # Fifty identical circuits: one simulation.
    assert len(runs) == 1
    # One relay's fault: its node leaves the server.
    victim = entries[17]
    await server_command(matter_server.url, "remove_node", node_id=victim.data["node_id"])
    await wait_for(lambda: hass.states.get(lights[17]).state == STATE_UNAVAILABLE)
    # Its repair issue is the fault's last effect: once it is there, anything
    # the fault did to the other entries has been done too.
    await wait_for(
        lambda: ir.async_get(hass).async_get_issue(DOMAIN, f"{victim.entry_id}_node_removed")
    )
    await hass.async_block_till_done()
    for light in lights:
        if light != lights[17]:
            assert hass.states.get(light).state == states[light], light
    assert all(e.state is ConfigEntryState.LOADED for e in entries)
    # Its repair issue, and no other entry's.
    removed = [
        issue_id
        for (domain, issue_id), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN and issue.translation_key == "node_removed"
    ]
    assert removed == [f"{victim.entry_id}_node_removed"]
    began = time.monotonic()
    for entry in entries:
        await hass.config_entries.async_unload(entry.entry_id)
    print(
        f"[50 entries] unloaded in {time.monotonic() - began:.1f} s; others unaffected by the fault"
    )


async def test_50_entries_loop_steps(
    hass: HomeAssistant, matter_server: MatterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    The integration's longest loop step while 50 entries set up at once.

    As in test_loop_blocking, Home Assistant's own base components (light,
    sensor, image and their dependencies such as http) are set up first and
    measured apart: in a running Home Assistant they are there already, and
    the first entry would otherwise be charged their one-time setup (4.7 ms of
    CPU in one step, run inside its forward-setup task).
    """
    counted_simulator(monkeypatch)
    base: dict[str, LoopFigures] = {}
    async with measured("Home Assistant's base components (not ours)", base):
        for domain in PLATFORMS:
            assert await async_setup_component(hass, domain, {})
    results: dict[str, LoopFigures] = {}
    library = LibraryTime(monkeypatch)
    async with measured("setting up 50 entries at once", results, library=library):
        entries, took = await _entries(hass, matter_server, 50)
    library.close()
    await hass.async_block_till_done()
    assert all(e.state is ConfigEntryState.LOADED for e in entries)
    figures = results["setting up 50 entries at once"]
    print(
        f"[50 entries] set up in {took:.1f} s; the integration's longest loop step "
        f"{figures.ours_cpu_ms:.1f} ms CPU of its own (target < {TARGET_BLOCK_MS} ms), "
        f"{figures.ours_wall_ms:.1f} ms wall"
    )
    for entry in entries:
        await hass.config_entries.async_unload(entry.entry_id)
    assert figures.ours_cpu_ms < TARGET_BLOCK_MS, figures
