"""The Matter test rig works: a real server, a real virtual relay, the real client.

Everything here is real: python-matter-server 8.1.2 in its own venv, a matter.js
device in its own network namespace, and the `matter_server.client` that Home
Assistant's Matter integration uses. No Home Assistant instance is involved.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from chip.clusters import Objects as Clusters
from matter_server.client import MatterClient
from matter_server.client.exceptions import CannotConnect
from matter_server.common.const import SCHEMA_VERSION
from matter_server.common.models import EventType

from tests.link_helpers import wait_for
from tests.rig import RELAY_SERIAL, CommissionedRelay, TestNode, reset_relay
from tools.rig.client import commission, connected_client
from tools.rig.netns import netns_unavailable_reason
from tools.rig.relay_rig import RelayRig
from tools.rig.server import MatterServer

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled"),
]

ONOFF_PATH = "1/6/0"


@asynccontextmanager
async def client_for(server: MatterServer) -> AsyncIterator[MatterClient]:
    async with connected_client(server.url) as client:
        yield client


def updates_of(client: MatterClient, node_id: int, path: str) -> list[tuple[float, Any]]:
    """Collect (arrival time, value) of every attribute_updated for one attribute."""
    seen: list[tuple[float, Any]] = []
    client.subscribe_events(
        lambda _event, value: seen.append((time.monotonic(), value)),
        EventType.ATTRIBUTE_UPDATED,
        node_filter=node_id,
        attr_path_filter=path,
    )
    return seen


async def test_server_reports_schema(matter_server: MatterServer) -> None:
    async with client_for(matter_server) as client:
        info = client.server_info
        assert info is not None
        assert info.schema_version == 11
        assert info.min_supported_schema_version <= SCHEMA_VERSION <= info.schema_version
        assert info.sdk_version.startswith("2025.7")
        assert client.get_nodes() == []


async def test_test_node_import_shows_onoff(matter_test_node: TestNode) -> None:
    async with client_for(matter_test_node.server) as client:
        node = client.get_node(matter_test_node.node_id)
        assert node.node_id >= 900000
        assert node.get_attribute_value(1, 6, 0) is False
        assert node.has_cluster(Clusters.OnOff, endpoint=1)
        info = node.device_info
        assert info.vendorID == 0x1321
        assert info.vendorName == "SONOFF"
        assert info.productID == 0x0002
        assert info.productName == "MINIR4M"
        assert info.serialNumber == matter_test_node.serial
        assert info.softwareVersionString
        assert node.get_attribute_value(0, 51, 1) == 3  # GeneralDiagnostics RebootCount
        assert node.get_attribute_value(0, 51, 4) == 1  # BootReason: power-on reboot


async def test_restart_keeps_port_and_forgets_test_nodes(
    matter_server: MatterServer, matter_test_node: TestNode
) -> None:
    seconds = await asyncio.to_thread(matter_server.restart)
    assert seconds < 30
    async with client_for(matter_server) as client:
        assert client.server_info is not None
        assert matter_test_node.node_id not in [n.node_id for n in client.get_nodes()]


async def test_stopped_server_refuses_clients(matter_server: MatterServer) -> None:
    await asyncio.to_thread(matter_server.stop)
    with pytest.raises(CannotConnect):
        async with client_for(matter_server):
            pass
    # The fixture starts it again for the next test.


@pytest.mark.netns
async def test_commission_by_manual_code(relay_rig: RelayRig) -> None:
    await asyncio.to_thread(reset_relay, relay_rig)
    relay = relay_rig.relay
    async with client_for(relay_rig.server) as client:
        began = time.monotonic()
        node = await asyncio.wait_for(
            client.commission_with_code(relay.manual_code, network_only=True), 60
        )
        took = time.monotonic() - began
        assert took < 30
        # The manual code is every matter.js sample's: the serial proves it is ours.
        info = client.get_node(node.node_id).device_info
        assert info.serialNumber == RELAY_SERIAL
        assert (info.vendorID, info.productID) == (0x1321, 0x0002)
        assert (info.vendorName, info.productName) == ("SONOFF", "MINIR4M")
    await relay.async_wait_for(lambda e: e.kind == "commissioned")


@pytest.mark.netns
async def test_commission_by_pin_and_ip(virtual_relay: RelayRig) -> None:
    await asyncio.to_thread(reset_relay, virtual_relay)
    async with client_for(virtual_relay.server) as client:
        node = await asyncio.wait_for(
            client.commission_on_network(virtual_relay.passcode, virtual_relay.ip), 60
        )
        assert client.get_node(node.node_id).device_info.serialNumber == virtual_relay.serial
        assert client.get_node(node.node_id).available


@pytest.mark.netns
async def test_client_command_switches_the_device(commissioned_relay: CommissionedRelay) -> None:
    relay, node_id = commissioned_relay.relay, commissioned_relay.node_id
    async with client_for(commissioned_relay.server) as client:
        seen = updates_of(client, node_id, ONOFF_PATH)
        target = not relay.is_on
        mark = relay.mark()
        command = Clusters.OnOff.Commands.On() if target else Clusters.OnOff.Commands.Off()
        await client.send_device_command(node_id, 1, command)
        event = await relay.async_wait_for(lambda e: e.kind == "onoff", since=mark)
        assert event.data == {"event": "onoff", "on": target, "source": "controller"}
        assert relay.is_on is target
        # And the server's subscription reports it back.
        await wait_for(lambda: any(value is target for _, value in seen))
        assert client.get_node(node_id).get_attribute_value(1, 6, 0) is target


@pytest.mark.netns
async def test_device_press_arrives_as_attribute_update(
    commissioned_relay: CommissionedRelay,
) -> None:
    relay, node_id = commissioned_relay.relay, commissioned_relay.node_id
    async with client_for(commissioned_relay.server) as client:
        seen = updates_of(client, node_id, ONOFF_PATH)
        before = client.get_node(node_id).get_attribute_value(1, 6, 0)
        assert before is relay.is_on
        mark = relay.mark()
        relay.press()
        event = await relay.async_wait_for(lambda e: e.kind == "onoff", since=mark)
        assert event.data == {"event": "onoff", "on": not before, "source": "device"}
        await wait_for(lambda: any(value is (not before) for _, value in seen))
        assert client.get_node(node_id).get_attribute_value(1, 6, 0) is (not before)


@pytest.mark.netns
async def test_server_restart_brings_the_node_back(commissioned_relay: CommissionedRelay) -> None:
    server, relay, node_id = (
        commissioned_relay.server,
        commissioned_relay.relay,
        commissioned_relay.node_id,
    )
    await asyncio.to_thread(server.restart)
    began = time.monotonic()
    async with client_for(server) as client:
        await wait_for(lambda: client.get_node(node_id).available, limit=60)
        back_after = time.monotonic() - began
        assert back_after < 30
        assert client.get_node(node_id).device_info.serialNumber == RELAY_SERIAL
        # And it is live, not a stale copy: a press on the device shows up.
        seen = updates_of(client, node_id, ONOFF_PATH)
        target = not relay.is_on
        relay.press(on=target)
        await wait_for(lambda: any(value is target for _, value in seen))


@pytest.mark.netns
async def test_stopped_device_goes_unavailable(commissioned_relay: CommissionedRelay) -> None:
    relay, node_id = commissioned_relay.relay, commissioned_relay.node_id
    async with client_for(commissioned_relay.server) as client:
        assert client.get_node(node_id).available
        # A clean stop (as the relay does on SIGTERM) shows at once.
        await asyncio.to_thread(relay.stop)
        await wait_for(lambda: not client.get_node(node_id).available, limit=30)
        await asyncio.to_thread(relay.start)
        await wait_for(lambda: client.get_node(node_id).available, limit=60)


def test_netns_problem_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where namespaces cannot be made, the relay tests skip saying why."""
    monkeypatch.setenv("PATH", "/nonexistent")
    reason = netns_unavailable_reason()
    assert reason is not None
    assert reason.startswith("cannot create a network namespace")
    assert "No such file" in reason


async def test_server_dies_with_the_rig(tmp_path: Path) -> None:
    """A rig killed outright (a crashed test run) leaves no server behind."""
    script = (
        "import sys; from pathlib import Path; from tools.rig.server import MatterServer;"
        "s = MatterServer(Path(sys.argv[1])); s.start(); print(s.pid, flush=True);"
        "import time; time.sleep(600)"
    )
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, str(tmp_path), stdout=asyncio.subprocess.PIPE
    )
    assert holder.stdout is not None
    async with asyncio.timeout(120):
        line = await holder.stdout.readline()
    assert line.strip().isdigit()

    def servers() -> list[int]:
        found = []
        for proc in Path("/proc").iterdir():
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if b"matter-server" in cmdline and str(tmp_path).encode() in cmdline:
                found.append(int(proc.name))
        return found

    assert servers()
    holder.kill()
    await holder.wait()
    await wait_for(lambda: not servers(), limit=30, interval=0.1)


@pytest.mark.netns
@pytest.mark.parametrize(
    ("reason", "code"),
    [("brown_out_reset", 2), ("power_on_reboot", 1)],
    ids=["brown-out", "power-on"],
)
async def test_reboot_reaches_the_server(relay_rig: RelayRig, reason: str, code: int) -> None:
    """A power cut and return: RebootCount + 1, BootReason and its event, through the server."""
    # The server sees a reboot quickly only on the subscription it set up at
    # commissioning (tools/rig/relay.py, VirtualRelay.reboot): a fresh node.
    await asyncio.to_thread(reset_relay, relay_rig)
    node_id = await commission(relay_rig.url, code=relay_rig.manual_code)
    relay = relay_rig.relay
    async with client_for(relay_rig.server) as client:
        await wait_for(lambda: client.get_node(node_id).available, limit=60)
        before = client.get_node(node_id).get_attribute_value(0, 51, 1)
        assert isinstance(before, int)
        counts = updates_of(client, node_id, "0/51/1")
        events: list[tuple[float, Any]] = []
        client.subscribe_events(
            lambda _event, data: events.append((time.monotonic(), data)),
            EventType.NODE_EVENT,
            node_filter=node_id,
        )
        ready = await asyncio.to_thread(relay.reboot, reason)
        # The device's own count survived its storage's restart.
        assert relay.reboot_count == before + 1
        await wait_for(lambda: counts, limit=60)
        arrived = counts[0][0] - ready.at
        assert counts[0][1] == before + 1
        assert client.get_node(node_id).get_attribute_value(0, 51, 4) == code
        await wait_for(
            lambda: any(e.cluster_id == 51 and e.event_id == 3 for _, e in events), limit=10
        )
        boot = next(e for _, e in events if e.cluster_id == 51 and e.event_id == 3)
        assert boot.data == {"bootReason": code}
        # Seen by the server within seconds of the relay coming back.
        assert arrived < 5, f"reboot count arrived {arrived:.1f} s after the relay was back"
