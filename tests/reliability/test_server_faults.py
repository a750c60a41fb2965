"""
Matter server faults with real parts: the python-matter-server is killed
(SIGKILL, as a crash) and started again while the lamp is switched every few
hundred milliseconds; the matter.js virtual relay is rebooted; the server is
down when the entry starts; a node leaves the server.

Each cycle: the lamp goes unavailable within 5 s of the kill, comes back
within 30 s of the server being up again, and then HA's state equals the
relay's own; commands sent meanwhile fail with a translated error, never
anything else; no error-level line from the integration.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from dataclasses import dataclass, field

import pytest
from homeassistant.components.light import DOMAIN as LIGHT_DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TOGGLE,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.no_neutral.const import DOMAIN
from custom_components.no_neutral.relay import matter_device_id
from tests.adaptor_common import _shared_simulations, add_relay_entry, import_node  # noqa: F401 (fixture)
from tests.link_helpers import (
    MINIR4M,
    import_with_id,
    server_command,
    server_fabric,
    wait_for,
)
from tests.rig import CommissionedRelay, MatterServer

from .common import watch_logs

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled"),
]

UNAVAILABLE_LIMIT_S = 5.0
BACK_LIMIT_S = 30.0
SWITCH_EVERY_S = 0.3
ONOFF = "1/6/0"


async def set_up(hass: HomeAssistant, url: str, node_id: int) -> MockConfigEntry:
    entry = await add_relay_entry(hass, url, node_id)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def lamp(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        LIGHT_DOMAIN, DOMAIN, f"{entry.entry_id}_lamp"
    )
    assert entity_id is not None
    return entity_id


@dataclass
class Switcher:
    """Toggles the lamp every SWITCH_EVERY_S, as an impatient user or automation would."""

    hass: HomeAssistant
    entity_id: str
    sent: int = 0
    refused: int = 0
    unexpected: list[str] = field(default_factory=list)

    @property
    def tried(self) -> int:
        """Commands sent or refused so far."""
        return self.sent + self.refused + len(self.unexpected)

    async def run(self) -> None:
        while True:
            try:
                await self.hass.services.async_call(
                    LIGHT_DOMAIN, SERVICE_TOGGLE, {ATTR_ENTITY_ID: self.entity_id}, blocking=True
                )
                self.sent += 1
            except HomeAssistantError as err:
                # A translated refusal while the server is away is the expected answer.
                if err.translation_domain != DOMAIN:
                    self.unexpected.append(repr(err))
                self.refused += 1
            except Exception as err:
                self.unexpected.append(repr(err))
            await asyncio.sleep(SWITCH_EVERY_S)


@dataclass
class CycleFigures:
    unavailable_s: list[float] = field(default_factory=list)
    server_start_s: list[float] = field(default_factory=list)
    back_s: list[float] = field(default_factory=list)

    def summary(self) -> str:
        def fmt(values: list[float]) -> str:
            return f"max {max(values):.2f} s, median {statistics.median(values):.2f} s"

        return (
            f"{len(self.back_s)} kill/restart cycles: unavailable after {fmt(self.unavailable_s)}; "
            f"server start {fmt(self.server_start_s)}; "
            f"available again after server up {fmt(self.back_s)}"
        )


async def _kill_restart_cycles(
    hass: HomeAssistant, commissioned_relay: CommissionedRelay, cycles: int
) -> CycleFigures:
    rig = commissioned_relay
    server: MatterServer = rig.server
    figures = CycleFigures()
    with watch_logs("custom_components.no_neutral") as logs:
        entry = await set_up(hass, server.url, rig.node_id)
        assert entry.state is ConfigEntryState.LOADED
        light = lamp(hass, entry)
        switcher = Switcher(hass, light)
        task = hass.async_create_background_task(switcher.run(), "reliability switcher")
        try:
            for cycle in range(cycles):
                # The lamp switches before the kill (after the first, it came back).
                sent = switcher.sent
                await wait_for(lambda s=sent: switcher.sent > s, limit=BACK_LIMIT_S)
                killed = time.monotonic()
                await hass.async_add_executor_job(server.kill)
                await wait_for(
                    lambda: hass.states.get(light).state == STATE_UNAVAILABLE,
                    limit=UNAVAILABLE_LIMIT_S,
                )
                figures.unavailable_s.append(time.monotonic() - killed)
                # A command is tried while the server is away.
                tried = switcher.tried
                await wait_for(lambda t=tried: switcher.tried > t, limit=BACK_LIMIT_S)
                figures.server_start_s.append(await hass.async_add_executor_job(server.start))
                up = time.monotonic()
                await wait_for(
                    lambda: hass.states.get(light).state != STATE_UNAVAILABLE, limit=BACK_LIMIT_S
                )
                figures.back_s.append(time.monotonic() - up)
                assert entry.state is ConfigEntryState.LOADED, cycle
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        # Settled: HA shows what the relay is, and so does the server, so that no
        # report still on its way (at most one a second) can change HA's state.
        async def settled() -> bool:
            node = await server_command(server.url, "get_node", node_id=rig.node_id)
            held = STATE_ON if node["attributes"][ONOFF] else STATE_OFF
            truth = STATE_ON if rig.relay.is_on else STATE_OFF
            return hass.states.get(light).state == held == truth

        await wait_for(settled, limit=10, interval=0.1)
        assert switcher.sent > 0
        # A command written as the connection dies (aiohttp's ClientConnectionResetError)
        # is refused translated like any other: nothing untranslated reaches the caller.
        assert not switcher.unexpected, switcher.unexpected
        await hass.config_entries.async_unload(entry.entry_id)
    assert not logs.errors(), logs.errors()
    print(
        figures.summary(),
        f"; commands sent {switcher.sent}, refused (translated) {switcher.refused}",
    )
    return figures


@pytest.mark.netns
async def test_server_killed_and_restarted_while_switching(
    hass: HomeAssistant, commissioned_relay: CommissionedRelay
) -> None:
    await _kill_restart_cycles(hass, commissioned_relay, 2)


@pytest.mark.long
@pytest.mark.netns
async def test_server_killed_and_restarted_20_times_while_switching(
    hass: HomeAssistant, commissioned_relay: CommissionedRelay
) -> None:
    await _kill_restart_cycles(hass, commissioned_relay, 20)


@pytest.mark.netns
async def test_relay_reboot_is_followed_and_state_re_read(
    hass: HomeAssistant, commissioned_relay: CommissionedRelay
) -> None:
    rig = commissioned_relay
    entry = await set_up(hass, rig.server.url, rig.node_id)
    light = lamp(hass, entry)
    await hass.async_add_executor_job(lambda: rig.relay.press(on=True))
    await wait_for(lambda: hass.states.get(light).state == STATE_ON)
    await hass.async_add_executor_job(rig.relay.stop)
    await wait_for(lambda: hass.states.get(light).state == STATE_UNAVAILABLE)
    await hass.async_add_executor_job(rig.relay.start)
    await wait_for(lambda: hass.states.get(light).state != STATE_UNAVAILABLE, limit=BACK_LIMIT_S)
    await wait_for(
        lambda: hass.states.get(light).state == (STATE_ON if rig.relay.is_on else STATE_OFF),
        limit=60,
    )
    # Switching works again after the reboot.
    await hass.services.async_call(LIGHT_DOMAIN, "turn_off", {ATTR_ENTITY_ID: light}, blocking=True)
    await wait_for(lambda: hass.states.get(light).state == STATE_OFF)
    assert rig.relay.is_on is False
    await hass.config_entries.async_unload(entry.entry_id)


async def test_server_down_at_start_retries_then_loads(
    hass: HomeAssistant, matter_server: MatterServer
) -> None:
    node_id = await import_node(matter_server.url, relay_on=True)
    fabric = await server_fabric(matter_server.url)
    await hass.async_add_executor_job(matter_server.stop)
    try:
        entry = await add_relay_entry(
            hass, matter_server.url, node_id, unique_id=matter_device_id(fabric, node_id)
        )
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.SETUP_RETRY
        assert entry.reason
    finally:
        await hass.async_add_executor_job(matter_server.start)
    # A restarted server forgets test nodes: bring the node back under its id.
    await import_with_id(matter_server.url, MINIR4M, node_id, **{"1/6/0": True})
    # HA retries by itself (its own backoff); no reload by hand.
    await wait_for(lambda: entry.state is ConfigEntryState.LOADED, limit=60, interval=0.2)
    await hass.async_block_till_done()
    assert hass.states.get(lamp(hass, entry)).state == STATE_ON
    await hass.config_entries.async_unload(entry.entry_id)


async def test_node_removed_makes_the_lamp_unavailable(
    hass: HomeAssistant, matter_server: MatterServer
) -> None:
    node_id = await import_node(matter_server.url, relay_on=True)
    entry = await set_up(hass, matter_server.url, node_id)
    light = lamp(hass, entry)
    await server_command(matter_server.url, "remove_node", node_id=node_id)
    await wait_for(lambda: hass.states.get(light).state == STATE_UNAVAILABLE)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_node_removed_raises_a_repair_issue(
    hass: HomeAssistant, matter_server: MatterServer
) -> None:
    node_id = await import_node(matter_server.url, relay_on=True)
    entry = await set_up(hass, matter_server.url, node_id)
    await server_command(matter_server.url, "remove_node", node_id=node_id)
    await wait_for(lambda: not entry.runtime_data.relay.available)
    await hass.async_block_till_done()
    issues = [i for i in ir.async_get(hass).issues.values() if i.domain == DOMAIN]
    await hass.config_entries.async_unload(entry.entry_id)
    assert [i.translation_key for i in issues] == ["node_removed"]
    # Unloaded, the entry leaves no stale issue behind.
    assert not [i for i in ir.async_get(hass).issues.values() if i.domain == DOMAIN]
