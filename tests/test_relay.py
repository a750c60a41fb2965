"""
The Matter link against a real python-matter-server with imported test nodes.

Set-up errors, the relay's device in the registry (and its link to the device
HA's own Matter integration shows), one client per server, and what happens
when the server goes away and comes back. The version errors use the fake
server of tests/link_helpers.py (a real socket; a real server cannot be made to
report another schema).
"""

from __future__ import annotations

import logging

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    EVENT_HOMEASSISTANT_STOP,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.no_neutral.const import CONF_NODE_ID, CONF_URL, DOMAIN
from custom_components.no_neutral.helpers import redact_url
from custom_components.no_neutral.relay import RelayDeviceInfo, relay_identifiers
from custom_components.no_neutral.server import SERVER_LINKS
from tools.rig.server import MatterServer
from tools.rig.sockets import free_port

from .adaptor_common import add_relay_entry
from .link_helpers import (
    MINIR4M,
    OTHER_PLUG,
    fake_version_server,
    import_test_node,
    import_with_id,
    server_command,
    server_fabric,
    wait_for,
)

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled"),
]

LIGHT = "light.minir4m_adaptor"
PACKAGE_LOGGER = "custom_components.no_neutral"


def info_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Return what the integration logged at INFO or above, in order."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == PACKAGE_LOGGER and record.levelno >= logging.INFO
    ]


async def set_up(
    hass: HomeAssistant, url: str, node_id: int, *, fabric: int | None = None
) -> MockConfigEntry:
    if fabric is None:
        fabric = await server_fabric(url)
    entry = await add_relay_entry(
        hass, url, node_id, title="MINIR4M", unique_id=f"{fabric:016X}-{node_id:016X}"
    )
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def test_setup_reads_the_relay_and_registers_its_device(
    hass: HomeAssistant, matter_server: MatterServer, device_registry: dr.DeviceRegistry
) -> None:
    node_id = await import_test_node(matter_server.url, MINIR4M)
    entry = await set_up(hass, matter_server.url, node_id)
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get(LIGHT).state == STATE_OFF

    fabric = await server_fabric(matter_server.url)
    matter_id = f"deviceid_{fabric:016X}-{node_id:016X}-MatterNodeDevice"
    relay = device_registry.async_get_device_by_identifier(("matter", matter_id), entry.entry_id)
    assert relay is not None
    assert relay.manufacturer == "SONOFF"
    assert relay.model == "MINIR4M"
    assert relay.model_id == "2"
    assert relay.serial_number == "MR4MFIXTURE01"
    assert relay.sw_version == "1.4.2"
    assert relay.hw_version == "1.0"
    assert ("matter", "serial_MR4MFIXTURE01") in relay.identifiers
    # The adaptor's device (where the lamp lives) hangs off the relay's device.
    adaptor = device_registry.async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    assert adaptor is not None
    assert adaptor.via_device_id == relay.id
    assert adaptor.name == "MINIR4M adaptor"

    await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert not hass.data[SERVER_LINKS]


async def test_relay_device_is_the_one_the_matter_integration_shows(
    hass: HomeAssistant, matter_server: MatterServer, device_registry: dr.DeviceRegistry
) -> None:
    """Both integrations set up: one physical relay, the same identifiers in both."""
    node_id = await import_test_node(matter_server.url, MINIR4M)
    matter_entry = MockConfigEntry(
        domain="matter", data={"url": matter_server.url, "use_addon": False}
    )
    matter_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(matter_entry.entry_id)
    await hass.async_block_till_done()
    entry = await set_up(hass, matter_server.url, node_id)

    fabric = await server_fabric(matter_server.url)
    identifier = ("matter", f"deviceid_{fabric:016X}-{node_id:016X}-MatterNodeDevice")
    devices = device_registry.async_get_devices(identifiers={identifier})
    owners = {device.config_entry_id: device for device in devices}
    assert set(owners) == {matter_entry.entry_id, entry.entry_id}
    theirs, ours = owners[matter_entry.entry_id], owners[entry.entry_id]
    # Both carry the node's device id and its serial number, as the Matter integration keys them.
    shared = {identifier, ("matter", "serial_MR4MFIXTURE01")}
    assert shared <= theirs.identifiers
    assert shared <= ours.identifiers
    assert (ours.serial_number, ours.manufacturer, ours.model_id) == (
        theirs.serial_number,
        theirs.manufacturer,
        theirs.model_id,
    )
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.config_entries.async_unload(matter_entry.entry_id)


async def test_two_entries_share_one_client(
    hass: HomeAssistant, matter_server: MatterServer
) -> None:
    first = await set_up(
        hass, matter_server.url, await import_test_node(matter_server.url, MINIR4M)
    )
    second = await set_up(
        hass, matter_server.url, await import_test_node(matter_server.url, OTHER_PLUG)
    )
    links = hass.data[SERVER_LINKS]
    assert list(links) == [matter_server.url]
    link = links[matter_server.url]
    assert link.users == 2
    assert first.runtime_data.relay.server is second.runtime_data.relay.server

    await hass.config_entries.async_unload(first.entry_id)
    assert link.users == 1
    assert link.connected
    assert second.runtime_data.relay.available
    await hass.config_entries.async_unload(second.entry_id)
    assert not links
    assert not link.connected


async def test_setup_retries_when_the_server_is_unreachable(hass: HomeAssistant) -> None:
    entry = await set_up(hass, f"ws://127.0.0.1:{free_port()}/ws", 1, fabric=0)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert not hass.data.get(SERVER_LINKS)


async def test_setup_retries_when_the_node_is_unknown(
    hass: HomeAssistant, matter_server: MatterServer
) -> None:
    entry = await set_up(hass, matter_server.url, 4242)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    # The link it opened is closed again.
    assert not hass.data[SERVER_LINKS]
    # The retry alone seldom helps: a repair issue says what to do.
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"{entry.entry_id}_node_removed")
    assert issue is not None
    assert issue.translation_placeholders == {
        "name": "MINIR4M",
        "node_id": "4242",
        "url": matter_server.url,
    }
    # Removing the entry (the user gave up on that relay) removes its issue.
    await hass.config_entries.async_remove(entry.entry_id)
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"{entry.entry_id}_node_removed") is None


@pytest.mark.parametrize(
    ("schema", "minimum", "issue"),
    [(5, 5, "server_version_too_old"), (99, 99, "server_version_too_new")],
)
async def test_incompatible_server_raises_a_repair_issue(
    *,
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    matter_server: MatterServer,
    schema: int,
    minimum: int,
    issue: str,
) -> None:
    async with fake_version_server(
        schema_version=schema, min_supported_schema_version=minimum
    ) as url:
        entry = await set_up(hass, url, 1, fabric=0)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    found = issue_registry.async_get_issue(DOMAIN, issue)
    assert found is not None
    assert not found.is_fixable
    assert found.severity is ir.IssueSeverity.ERROR
    assert found.translation_placeholders == {"url": url}

    # Pointed at a compatible server, the entry loads and the issue goes away.
    node_id = await import_test_node(matter_server.url, MINIR4M)
    hass.config_entries.async_update_entry(
        entry, data={CONF_URL: matter_server.url, CONF_NODE_ID: node_id}
    )
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert issue_registry.async_get_issue(DOMAIN, issue) is None
    await hass.config_entries.async_unload(entry.entry_id)


async def test_server_loss_and_return(
    hass: HomeAssistant,
    matter_server: MatterServer,
    device_registry: dr.DeviceRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """
    Unavailable within seconds, reconnects by itself, re-reads the node; no restart of HA.

    The log tells each change once at INFO, however many retries the
    reconnection takes: the server lost, back; the relay missing from the
    restarted server's nodes, back.
    """
    caplog.set_level(logging.INFO, logger=PACKAGE_LOGGER)
    url = matter_server.url
    node_id = await import_test_node(url, MINIR4M)
    entry = await set_up(hass, url, node_id)
    assert hass.states.get(LIGHT).state == STATE_OFF

    stop_began = hass.loop.time()
    await hass.async_add_executor_job(matter_server.stop)
    await wait_for(lambda: hass.states.get(LIGHT).state == STATE_UNAVAILABLE)
    unavailable_after = hass.loop.time() - stop_began
    assert unavailable_after < 5

    await hass.async_add_executor_job(matter_server.start)
    # The restarted server forgot its test nodes; the relay comes back (on, this
    # time) once the node is there again: its state is read afresh, not remembered.
    link = entry.runtime_data.relay.server
    await wait_for(lambda: link.connected, limit=40)
    assert hass.states.get(LIGHT).state == STATE_UNAVAILABLE
    # The relay came back on, with new firmware: both are read afresh.
    await import_with_id(url, MINIR4M, node_id, **{"1/6/0": True, "0/40/10": "1.5.0"})
    await wait_for(lambda: hass.states.get(LIGHT).state == STATE_ON)
    assert entry.state is ConfigEntryState.LOADED
    relay = device_registry.async_get(str(entry.runtime_data.relay.device_id))
    assert relay is not None
    assert relay.sw_version == "1.5.0"
    await hass.config_entries.async_unload(entry.entry_id)
    assert info_lines(caplog) == [
        f"Lost the Matter server {url}; reconnecting",
        f"Matter server {url} is back",
        f"Relay MINIR4M (node {node_id}) is unavailable: the Matter server {url} no longer has it",
        f"Relay MINIR4M (node {node_id}) is available again",
    ]


async def test_server_replaced_by_an_incompatible_one(
    hass: HomeAssistant,
    matter_server: MatterServer,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """
    The server comes back with a schema the client cannot speak: a repair issue.

    The real server is stopped and the fake one of tests/link_helpers.py takes
    its port; then the real one returns and the issue is cleared. The mismatch
    is logged once, not at every retry.
    """
    url = matter_server.url
    node_id = await import_test_node(url, MINIR4M)
    entry = await set_up(hass, url, node_id)
    await hass.async_add_executor_job(matter_server.stop)
    await wait_for(lambda: hass.states.get(LIGHT).state == STATE_UNAVAILABLE)
    connections: list[None] = []
    async with fake_version_server(
        schema_version=99,
        min_supported_schema_version=99,
        port=matter_server.port,
        connections=connections,
    ):
        await wait_for(
            lambda: issue_registry.async_get_issue(DOMAIN, "server_version_too_new") is not None,
            limit=40,
        )
        # Two more retries met the same mismatch.
        seen = len(connections)
        await wait_for(lambda: len(connections) >= seen + 2, limit=60)
    mismatch_lines = [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.WARNING
        and record.getMessage().startswith(f"Matter server {url}:")
    ]
    assert len(mismatch_lines) == 1, mismatch_lines
    await hass.async_add_executor_job(matter_server.start)
    link = entry.runtime_data.relay.server
    await wait_for(lambda: link.connected, limit=60)
    assert issue_registry.async_get_issue(DOMAIN, "server_version_too_new") is None
    assert entry.state is ConfigEntryState.LOADED
    await hass.config_entries.async_unload(entry.entry_id)


async def test_home_assistant_stop_closes_the_link(
    hass: HomeAssistant, matter_server: MatterServer
) -> None:
    node_id = await import_test_node(matter_server.url, MINIR4M)
    entry = await set_up(hass, matter_server.url, node_id)
    link = entry.runtime_data.relay.server
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert not link.connected
    assert hass.states.get(LIGHT).state == STATE_UNAVAILABLE
    await hass.config_entries.async_unload(entry.entry_id)


async def test_node_removed(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    matter_server: MatterServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=PACKAGE_LOGGER)
    url = matter_server.url
    node_id = await import_test_node(url, MINIR4M)
    entry = await set_up(hass, url, node_id)
    issue_id = f"{entry.entry_id}_node_removed"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    await server_command(url, "remove_node", node_id=node_id)
    await wait_for(lambda: hass.states.get(LIGHT).state == STATE_UNAVAILABLE)
    assert not entry.runtime_data.relay.available
    assert entry.runtime_data.relay.is_on is None
    # A repair issue says the relay left the server and what to do.
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_key == "node_removed"
    assert issue.translation_placeholders == {
        "name": "MINIR4M",
        "node_id": str(node_id),
        "url": url,
    }
    removed_line = (
        f"Relay MINIR4M (node {node_id}) is unavailable: the Matter server {url} no longer has it"
    )
    assert info_lines(caplog) == [removed_line]

    # Still missing from the dump of a restarted server: the issue stays.
    link = entry.runtime_data.relay.server
    await hass.async_add_executor_job(matter_server.stop)
    await wait_for(lambda: not link.connected)
    await hass.async_add_executor_job(matter_server.start)
    await wait_for(lambda: link.connected, limit=40)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None

    # The node back under its id (re-commissioned): the lamp returns, the issue goes.
    await import_with_id(url, MINIR4M, node_id)
    await wait_for(lambda: hass.states.get(LIGHT).state != STATE_UNAVAILABLE)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    await hass.config_entries.async_unload(entry.entry_id)
    # Still missing after the restart is no news: the relay's line is not repeated.
    assert info_lines(caplog) == [
        removed_line,
        f"Lost the Matter server {url}; reconnecting",
        f"Matter server {url} is back",
        f"Relay MINIR4M (node {node_id}) is available again",
    ]


async def test_unreachable_node_is_unavailable(
    hass: HomeAssistant, matter_server: MatterServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=PACKAGE_LOGGER)
    node_id = await import_test_node(matter_server.url, MINIR4M, available=False)
    entry = await set_up(hass, matter_server.url, node_id)
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get(LIGHT).state == STATE_UNAVAILABLE
    await hass.config_entries.async_unload(entry.entry_id)
    assert info_lines(caplog) == [
        f"Relay MINIR4M (node {node_id}) is unavailable: the Matter server cannot reach it"
    ]


def test_test_serial_numbers_are_not_identifiers() -> None:
    """As HA's Matter integration does: a serial saying "test" identifies nothing."""
    info = RelayDeviceInfo(
        unique_id="0000000000001234-0000000000000001",
        matter_device_id="0000000000001234-0000000000000001",
        vendor_id=0xFFF1,
        vendor_name="Acme",
        product_id=0x8000,
        product_name="Plug",
        node_label=None,
        serial_number="TEST_SN",
        sw_version=None,
        hw_version=None,
    )
    assert relay_identifiers(info) == {
        (DOMAIN, "relay_0000000000001234-0000000000000001"),
        ("matter", "deviceid_0000000000001234-0000000000000001-MatterNodeDevice"),
    }
    assert info.name == "Plug"


async def test_server_that_hangs_up_before_its_nodes(hass: HomeAssistant) -> None:
    """Set-up fails at once (and retries later) instead of waiting out the timeout."""
    async with fake_version_server(
        schema_version=11, min_supported_schema_version=9, close_on_listen=True
    ) as url:
        began = hass.loop.time()
        entry = await set_up(hass, url, 1, fabric=0)
        assert hass.loop.time() - began < 5
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert not hass.data[SERVER_LINKS]


async def test_entries_set_up_together_share_the_start(
    hass: HomeAssistant, matter_server: MatterServer
) -> None:
    """At HA start entries are set up concurrently: the second waits for the first's link."""
    url = matter_server.url
    entries = []
    for dump in (MINIR4M, OTHER_PLUG):
        node_id = await import_test_node(url, dump)
        entries.append(await add_relay_entry(hass, url, node_id, title="MINIR4M"))
    # As at HA start: the integration sets up all its entries concurrently.
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert [e.state for e in entries] == [ConfigEntryState.LOADED] * 2
    assert hass.data[SERVER_LINKS][url].users == 2
    for entry in entries:
        await hass.config_entries.async_unload(entry.entry_id)


async def test_entries_set_up_together_on_a_dead_server(hass: HomeAssistant) -> None:
    url = f"ws://127.0.0.1:{free_port()}/ws"
    entries = [
        await add_relay_entry(hass, url, node_id, title="MINIR4M", unique_id=f"dead-{node_id}")
        for node_id in (1, 2)
    ]
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert [e.state for e in entries] == [ConfigEntryState.SETUP_RETRY] * 2
    assert not hass.data[SERVER_LINKS]


async def test_reboot_count_and_boot_reason(
    hass: HomeAssistant, matter_server: MatterServer
) -> None:
    """The relay's general diagnostics, a brown-out hint for the adaptor."""
    url = matter_server.url
    with_diagnostics = await set_up(hass, url, await import_test_node(url, MINIR4M))
    relay = with_diagnostics.runtime_data.relay
    assert relay.reboot_count == 3
    assert relay.boot_reason == 1  # power-on
    # A node without the general diagnostics cluster has neither.
    await hass.config_entries.async_unload(with_diagnostics.entry_id)
    without = await set_up(hass, url, await import_test_node(url, OTHER_PLUG))
    assert without.runtime_data.relay.reboot_count is None
    assert without.runtime_data.relay.boot_reason is None
    await hass.config_entries.async_unload(without.entry_id)


async def test_server_crash_is_seen_at_once(
    hass: HomeAssistant, matter_server: MatterServer
) -> None:
    """A killed server (no goodbye) closes the socket: unavailable within seconds too."""
    node_id = await import_test_node(matter_server.url, MINIR4M)
    entry = await set_up(hass, matter_server.url, node_id)
    began = hass.loop.time()
    await hass.async_add_executor_job(matter_server.kill)
    await wait_for(lambda: hass.states.get(LIGHT).state == STATE_UNAVAILABLE)
    assert hass.loop.time() - began < 5
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("ws://user:pass@host:5580/ws", "ws://host:5580/ws"),
        ("ws://user@host/ws", "ws://host/ws"),
        ("wss://user:p@ss@[fd12::1]:5580/ws", "wss://[fd12::1]:5580/ws"),
        ("ws://localhost:5580/ws", "ws://localhost:5580/ws"),
        (
            "Cannot connect to ws://a:b@10.0.0.2:5580/ws (refused)",
            "Cannot connect to ws://10.0.0.2:5580/ws (refused)",
        ),
    ],
)
def test_redact_url_keeps_host_port_and_path(given: str, shown: str) -> None:
    assert redact_url(given) == shown
