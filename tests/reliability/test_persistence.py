"""
The adaptor's history survives Home Assistant restarts: nothing lost, nothing
jumps, a damaged store file costs the history but never the integration.

Each "restart" is a real Home Assistant instance (the harness's own), stopped
with `async_stop` (the stop event, the store's final write) and started again
on the same configuration folder, with the real storage on disk (not the
harness's in-memory storage), the real Matter server and a MINIR4M test node.
Time is frozen and moved by hand: an hour of powered time in each run, a day
with Home Assistant down between runs. The relay's switchings are made with
the SwitchableRelay double of tests/adaptor_common.py (test nodes ignore
commands; real switching is covered by the server-fault tests).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant import loader
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
)

import custom_components.no_neutral as integration
from custom_components.no_neutral.const import DOMAIN
from custom_components.no_neutral.relay import matter_device_id
from tests.adaptor_common import (  # noqa: F401 (fixture)
    SwitchableRelay,
    _shared_simulations,
    add_relay_entry,
    import_node,
)
from tests.link_helpers import server_fabric
from tests.rig import MatterServer

from .common import watch_logs

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled"),
]

ENTRY_ID = "01RELIABILITYPERSISTENCE0"
RUN_POWERED = timedelta(hours=1)
DOWN_BETWEEN_RUNS = timedelta(days=1)


@dataclass(frozen=True)
class Snapshot:
    cap_consumed: float
    switchings: int
    powered_h: float
    health_state: str
    switchings_state: str
    lamp_energy_wh: float
    standby_energy_wh: float
    loss_energy_wh: float
    lamp_energy_state: str


@asynccontextmanager
async def home_assistant(config_dir: Path) -> AsyncIterator[HomeAssistant]:
    """One run of Home Assistant on `config_dir`, stopped as a restart stops it."""
    async with async_test_home_assistant(config_dir=str(config_dir)) as hass:
        # Load integrations from this project's custom_components.
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)
        try:
            yield hass
        finally:
            await hass.async_stop()


async def start_entry(
    hass: HomeAssistant, url: str, node_id: int, unique_id: str
) -> MockConfigEntry:
    entry = await add_relay_entry(hass, url, node_id, unique_id=unique_id, entry_id=ENTRY_ID)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return entry


def snapshot(hass: HomeAssistant, entry: MockConfigEntry) -> Snapshot:
    history = entry.runtime_data.adaptor.history
    health = hass.states.get("sensor.hall_lamp_adaptor_capacitor_health")
    count = hass.states.get("sensor.hall_lamp_adaptor_switchings")
    energy = hass.states.get("sensor.hall_lamp_adaptor_lamp_energy")
    return Snapshot(
        cap_consumed=history.cap_consumed,
        switchings=history.switchings,
        powered_h=history.powered_h,
        health_state=health.state if health else "missing",
        switchings_state=count.state if count else "missing",
        lamp_energy_wh=history.lamp_energy_wh,
        standby_energy_wh=history.standby_energy_wh,
        loss_energy_wh=history.loss_energy_wh,
        lamp_energy_state=energy.state if energy else "missing",
    )


async def one_run(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> Snapshot:
    """
    An hour of powered time with two switchings (off, then on again).

    Time is moved with the frozen clock only: firing the harness's
    time-changed event would also run the Matter client's websocket heartbeat
    timers early and drop the connection. The coordinator counts time at each
    switching and each refresh, so a refresh at the end counts the last part.
    """
    relay: SwitchableRelay = entry.runtime_data.relay
    third = RUN_POWERED / 3
    for on in (False, True):
        freezer.tick(third)
        relay.switch(on)
        await hass.async_block_till_done()
    freezer.tick(third)
    await entry.runtime_data.adaptor.async_refresh()
    await hass.async_block_till_done()
    return snapshot(hass, entry)


async def _restarts(
    tmp_path: Path, freezer: FrozenDateTimeFactory, matter_server: MatterServer, runs: int
) -> None:
    node_id = await import_node(matter_server.url, relay_on=True)
    unique_id = matter_device_id(await server_fabric(matter_server.url), node_id)
    store_file = tmp_path / ".storage" / f"{DOMAIN}.{ENTRY_ID}"
    previous_end: Snapshot | None = None
    gains: list[float] = []
    energy_gains: list[tuple[float, float, float]] = []
    with watch_logs("custom_components.no_neutral", "homeassistant") as logs:
        for run in range(runs):
            async with home_assistant(tmp_path) as hass:
                entry = await start_entry(hass, matter_server.url, node_id, unique_id)
                start = snapshot(hass, entry)
                if previous_end is None:
                    assert start.cap_consumed == 0.0
                    assert start.switchings == 0
                else:
                    # Exactly where the last run stopped: nothing lost, nothing added.
                    assert start.cap_consumed == previous_end.cap_consumed, run
                    assert start.switchings == previous_end.switchings, run
                    assert start.powered_h == pytest.approx(previous_end.powered_h), run
                    assert start.health_state == previous_end.health_state, run
                    assert start.switchings_state == previous_end.switchings_state, run
                    assert start.lamp_energy_wh == previous_end.lamp_energy_wh, run
                    assert start.standby_energy_wh == previous_end.standby_energy_wh, run
                    assert start.loss_energy_wh == previous_end.loss_energy_wh, run
                    assert start.lamp_energy_state == previous_end.lamp_energy_state, run
                end = await one_run(hass, freezer, entry)
                assert end.switchings == start.switchings + 2, run
                assert end.switchings_state == str(end.switchings)
                gains.append(end.cap_consumed - start.cap_consumed)
                energy_gains.append(
                    (
                        end.lamp_energy_wh - start.lamp_energy_wh,
                        end.standby_energy_wh - start.standby_energy_wh,
                        end.loss_energy_wh - start.loss_energy_wh,
                    )
                )
                # Stopping counts no time (the clock stands still), so the stored
                # value is the last one shown.
            previous_end = end
            stored = json.loads(store_file.read_text())["data"]
            assert stored["cap_consumed"] == end.cap_consumed
            assert stored["switchings"] == end.switchings
            assert stored["lamp_energy_wh"] == end.lamp_energy_wh
            assert stored["standby_energy_wh"] == end.standby_energy_wh
            freezer.tick(DOWN_BETWEEN_RUNS)
    # Every run added the same hour at the same temperature: the same wear.
    assert all(gain > 0 for gain in gains)
    assert max(gains) <= min(gains) * 1.000001, gains
    assert previous_end is not None
    assert previous_end.switchings == 2 * runs
    assert previous_end.powered_h == pytest.approx(runs * RUN_POWERED.total_seconds() / 3600)
    assert math.isclose(previous_end.cap_consumed, sum(gains), rel_tol=1e-9)
    # Each run: two thirds of the hour on, one off; the same energies each time.
    for lamp, standby, loss in energy_gains:
        assert lamp > 0
        assert standby > 0
        assert loss > standby
        assert (lamp, standby, loss) == pytest.approx(energy_gains[0], rel=1e-9)
    assert not logs.errors("custom_components.no_neutral"), logs.errors()
    print(
        f"{runs} restarts: consumed life {previous_end.cap_consumed:.6g} after "
        f"{previous_end.powered_h:.0f} h, {previous_end.switchings} switchings"
    )


async def test_restarts_keep_the_history(
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    matter_server: MatterServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(integration, "RelayLink", SwitchableRelay)
    await _restarts(tmp_path, freezer, matter_server, 4)


@pytest.mark.long
async def test_50_restarts_keep_the_history(
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    matter_server: MatterServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(integration, "RelayLink", SwitchableRelay)
    await _restarts(tmp_path, freezer, matter_server, 50)


@dataclass(frozen=True)
class DamagedStart:
    """What a start on a damaged store file left behind."""

    issues: list[ir.IssueEntry]
    errors: list[str]
    warnings: list[str]
    kept_as: Path


def _our_issues(hass: HomeAssistant) -> list[ir.IssueEntry]:
    return [
        issue
        for issue in ir.async_get(hass).issues.values()
        if DOMAIN in (issue.domain, issue.issue_domain)
    ]


async def _start_on_damaged_store(
    tmp_path: Path, matter_server: MatterServer, content: str
) -> DamagedStart:
    """
    Start on a damaged file: the entry loads with a fresh history, and the
    repair issue names where the damaged file was kept, with its content intact.
    """
    node_id = await import_node(matter_server.url, relay_on=True)
    unique_id = matter_device_id(await server_fabric(matter_server.url), node_id)
    store_file = tmp_path / ".storage" / f"{DOMAIN}.{ENTRY_ID}"
    store_file.parent.mkdir(parents=True, exist_ok=True)
    store_file.write_text(content)
    with watch_logs("custom_components.no_neutral") as logs:
        async with home_assistant(tmp_path) as hass:
            entry = await add_relay_entry(
                hass, matter_server.url, node_id, unique_id=unique_id, entry_id=ENTRY_ID
            )
            await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            state = entry.state
            history = (
                entry.runtime_data.adaptor.history if state is ConfigEntryState.LOADED else None
            )
            issues = _our_issues(hass)
    assert state is ConfigEntryState.LOADED, "the entry must load with a fresh history"
    assert history is not None
    # Fresh: only the seconds of this run (the clock runs here).
    assert history.cap_consumed < 1e-6
    assert history.switchings == 0
    (reset,) = [issue for issue in issues if issue.translation_key == "history_reset"]
    assert reset.domain == DOMAIN
    assert reset.is_fixable
    assert reset.is_persistent
    assert reset.translation_placeholders is not None
    assert reset.translation_placeholders["name"] == "Hall lamp"
    kept_as = Path(reset.translation_placeholders["path"])
    # Nothing lost silently: the damaged file is kept, as it was, next to the new one.
    assert kept_as.parent == store_file.parent
    assert kept_as.name.startswith(f"{store_file.name}.corrupt.")
    assert _read(kept_as) == content
    warnings = [
        r.getMessage()
        for r in logs.records
        if r.levelno == logging.WARNING and r.name.startswith("custom_components.no_neutral")
    ]
    assert any(str(store_file) in line and str(kept_as) in line for line in warnings), warnings
    return DamagedStart(issues, logs.errors(), warnings, kept_as)


def _read(path: Path) -> str:
    return path.read_text()


def _store_content(data: Any, **fields: Any) -> str:
    content = {"version": 1, "minor_version": 1, "key": f"{DOMAIN}.{ENTRY_ID}", "data": data}
    return json.dumps(content | fields)


async def test_truncated_store_gives_a_repair_issue_and_a_fresh_history(
    tmp_path: Path, matter_server: MatterServer
) -> None:
    """HA's Store renames an undecodable file aside and raises its storage_corruption issue."""
    content = _store_content({"cap_consumed": 0.25, "switchings": 1234})[:40]
    start = await _start_on_damaged_store(tmp_path, matter_server, content)
    # HA's own issue, and ours (which says what it means for the adaptor).
    assert any(issue.translation_key == "storage_corruption" for issue in start.issues)
    # The one copy that HA's Store made.
    assert list((tmp_path / ".storage").glob(f"{DOMAIN}.{ENTRY_ID}.corrupt.*")) == [start.kept_as]
    assert not start.errors


@pytest.mark.parametrize(
    "content",
    [
        _store_content({"cap_consumed": "garbage", "switchings": 3}),
        _store_content({"cap_consumed": 0.1, "switchings": None}),
        _store_content(["not", "an", "object"]),
        _store_content({"cap_consumed": 0.1, "warnings": 5}),
        _store_content({"cap_consumed": -0.5}),
        # Not even the Store's own envelope.
        json.dumps(["not", "a", "store", "file"]),
        json.dumps({"version": 1, "key": f"{DOMAIN}.{ENTRY_ID}"}),
        "{}",
        # Written by a newer version of the integration.
        _store_content({"cap_consumed": 0.1}, version=99),
    ],
    ids=[
        "text-number",
        "null-count",
        "list",
        "warnings-not-a-list",
        "negative-wear",
        "list-file",
        "no-data",
        "empty-object",
        "newer-version",
    ],
)
async def test_store_with_bad_values_gives_a_repair_issue_and_a_fresh_history(
    tmp_path: Path, matter_server: MatterServer, content: str
) -> None:
    start = await _start_on_damaged_store(tmp_path, matter_server, content)
    assert not start.errors


async def test_store_with_nan_history_is_not_shown(
    tmp_path: Path, matter_server: MatterServer
) -> None:
    """A consumed life of NaN (hand edit, old bug): refused, not shown as a NaN sensor."""
    content = _store_content({"cap_consumed": "NaN", "switchings": 7})
    start = await _start_on_damaged_store(tmp_path, matter_server, content)
    assert not start.errors
    assert any("cap_consumed" in line for line in start.warnings), start.warnings


async def test_history_reset_issue_is_confirmed_and_not_raised_again(
    tmp_path: Path, matter_server: MatterServer
) -> None:
    """
    Confirming the issue dismisses it; the next start reads the fresh history
    and raises nothing. (The issue is persistent so that a restart before the
    user has seen it keeps it; the harness keeps no issue registry on disk, so
    that part is the `is_persistent` flag checked above.)
    """
    content = _store_content({"switchings": "x"})
    node_id = await import_node(matter_server.url, relay_on=True)
    unique_id = matter_device_id(await server_fabric(matter_server.url), node_id)
    store_file = tmp_path / ".storage" / f"{DOMAIN}.{ENTRY_ID}"
    store_file.parent.mkdir(parents=True, exist_ok=True)
    store_file.write_text(content)
    async with home_assistant(tmp_path) as hass:
        entry = await add_relay_entry(
            hass, matter_server.url, node_id, unique_id=unique_id, entry_id=ENTRY_ID
        )
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        (issue,) = [i for i in _our_issues(hass) if i.translation_key == "history_reset"]
        assert await async_setup_component(hass, "repairs", {})
        manager = repairs_flow_manager(hass)
        assert manager is not None
        flow = await manager.async_init(DOMAIN, context={"issue_id": issue.issue_id})
        assert flow["step_id"] == "confirm"
        assert flow["description_placeholders"]["name"] == "Hall lamp"
        flow = await manager.async_configure(flow["flow_id"], {})
        assert flow["type"] is FlowResultType.CREATE_ENTRY
        assert not [i for i in _our_issues(hass) if i.translation_key == "history_reset"]
        assert entry.state is ConfigEntryState.LOADED
    async with home_assistant(tmp_path) as hass:
        entry = await add_relay_entry(
            hass, matter_server.url, node_id, unique_id=unique_id, entry_id=ENTRY_ID
        )
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert not _our_issues(hass)
    # One copy: the second start found nothing wrong.
    assert len(list((tmp_path / ".storage").glob(f"{DOMAIN}.{ENTRY_ID}.corrupt.*"))) == 1


async def test_store_is_written_by_home_assistants_store(
    tmp_path: Path, matter_server: MatterServer
) -> None:
    """The history goes through HA's Store (write to a temporary file, then rename)."""
    node_id = await import_node(matter_server.url, relay_on=True)
    unique_id = matter_device_id(await server_fabric(matter_server.url), node_id)
    async with home_assistant(tmp_path) as hass:
        entry = await start_entry(hass, matter_server.url, node_id, unique_id)
        store = entry.runtime_data.adaptor.history_store.store
        assert isinstance(store, Store)
        assert store.path == str(tmp_path / ".storage" / f"{DOMAIN}.{ENTRY_ID}")
    data = json.loads((tmp_path / ".storage" / f"{DOMAIN}.{ENTRY_ID}").read_text())
    assert data["key"] == f"{DOMAIN}.{ENTRY_ID}"
    assert "cap_consumed" in data["data"]
    # No temporary file left behind.
    assert sorted(p.name for p in (tmp_path / ".storage").iterdir() if DOMAIN in p.name) == [
        f"{DOMAIN}.{ENTRY_ID}"
    ]


async def test_store_writes_are_durable(tmp_path: Path, matter_server: MatterServer) -> None:
    node_id = await import_node(matter_server.url, relay_on=True)
    unique_id = matter_device_id(await server_fabric(matter_server.url), node_id)
    async with home_assistant(tmp_path) as hass:
        entry = await start_entry(hass, matter_server.url, node_id, unique_id)
        assert entry.runtime_data.adaptor.history_store.store._atomic_writes
