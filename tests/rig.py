"""Pytest plugin: the real Matter server and the matter.js virtual relay.

Fixtures (the parts themselves live in tools/rig, shared with scripts/matter-rig):

- `matter_server`: a real python-matter-server (`tools.rig.MatterServer`), one
  per test module, started again if a test left it stopped. `.url`, `.port`,
  `.stop()`, `.start()`, `.restart()` (same port and storage), `.kill()`,
  `.log_text()`. It has no devices; import test nodes into it.
- `matter_test_node`: a MINIR4M-like node imported into `matter_server` from
  tests/fixtures/minir4m_node.json (`.node_id`, from 900000 up; `.serial`).
  Commands to a test node change nothing: the server only logs them.
- `relay_rig` (alias `virtual_relay`): a server and a virtual relay
  (`tools.rig.relay.VirtualRelay`) in network namespaces of their own, one per
  module, not commissioned. `.server` as above (reached on 127.0.0.1); `.relay`
  with `.manual_code`, `.passcode`, `.ip`, `.serial`, `.is_on`, `.press(on=...)`,
  `.mark()`, `.wait_for(...)`/`.async_wait_for(...)` (device events), `.stop()`,
  `.start()`, `.kill()`; the rig itself also has `.url`, `.manual_code`,
  `.passcode`, `.ip`, `.serial`, `.is_on`, `.press(on=...)`. `reset_relay(rig)`
  factory-resets the relay (off the fabric, storage wiped).
- `commissioned_relay`: the same rig with the relay commissioned
  (`.node_id`), by manual code, once per module.

Every process is killed at teardown; on a failure the report shows the tail
of each part's log. A test that needs network namespaces is skipped, with the
reason, where the machine cannot make them.

Tests that talk to a server from their own code need `socket_enabled` (Home
Assistant's harness blocks sockets); `matter_test_node` and `commissioned_relay`
request it themselves, and the rest of the fixtures' plumbing does not need it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

from tests.link_helpers import MINIR4M, import_test_node, node_dump
from tools.rig import client as rig_client
from tools.rig.netns import netns_unavailable_reason
from tools.rig.relay import VirtualRelay
from tools.rig.relay_rig import RelayRig
from tools.rig.server import MatterServer, RigError

RELAY_SERIAL = "RIGRELAY0001"


@cache
def _netns_problem() -> str | None:
    return netns_unavailable_reason()


def require_netns() -> None:
    """Skip the calling test, saying why, where network namespaces cannot be made."""
    if problem := _netns_problem():
        pytest.skip(f"virtual relay needs network namespaces and a veth pair: {problem}")


def _start(part: MatterServer | VirtualRelay) -> None:
    try:
        part.start()
    except RigError as err:
        pytest.fail(f"could not start the {type(part).__name__}: {err}", pytrace=False)


@pytest.fixture(scope="module")
def _matter_server_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MatterServer]:
    server = MatterServer(tmp_path_factory.mktemp("matter-server"))
    try:
        _start(server)
        yield server
    finally:
        server.close()


@pytest.fixture
def matter_server(_matter_server_module: MatterServer) -> MatterServer:
    """A running real Matter server (one per module; restarted if a test stopped it)."""
    _start(_matter_server_module)
    return _matter_server_module


@dataclass(frozen=True, kw_only=True)
class TestNode:
    """A node imported into a server from a dump."""

    __test__ = False  # not a test class, despite its name

    node_id: int
    serial: str
    dump: dict[str, Any]
    server: MatterServer


@pytest.fixture
def matter_test_node(matter_server: MatterServer, socket_enabled: None) -> TestNode:
    """A MINIR4M-like node imported into `matter_server` (forgotten on restart)."""
    dump = node_dump(MINIR4M)
    node_id = rig_client.run_sync(lambda: import_test_node(matter_server.url, MINIR4M))
    return TestNode(
        node_id=node_id,
        serial=dump["data"]["node"]["attributes"]["0/40/15"],
        dump=dump,
        server=matter_server,
    )


@pytest.fixture(scope="module")
def _relay_rig_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelayRig]:
    require_netns()
    rig = RelayRig(tmp_path_factory.mktemp("relay-rig"), serial=RELAY_SERIAL)
    try:
        yield rig
    finally:
        rig.close()


@pytest.fixture
def relay_rig(_relay_rig_module: RelayRig) -> RelayRig:
    """A server and a virtual relay that can reach each other, both running."""
    _start(_relay_rig_module.server)
    _start(_relay_rig_module.relay)
    return _relay_rig_module


@pytest.fixture
def virtual_relay(relay_rig: RelayRig) -> RelayRig:
    """The same as `relay_rig` (the name the issue uses)."""
    return relay_rig


@dataclass(frozen=True, kw_only=True)
class CommissionedRelay:
    """The relay rig with the relay on the server's fabric."""

    rig: RelayRig
    node_id: int

    @property
    def server(self) -> MatterServer:
        """The rig's server."""
        return self.rig.server

    @property
    def relay(self) -> VirtualRelay:
        """The rig's virtual relay."""
        return self.rig.relay


def reset_relay(rig: RelayRig) -> None:
    """Factory-reset the virtual relay: off the server's fabric, storage wiped, restarted."""
    rig.relay.stop()
    for node_id in rig_client.run_sync(lambda: rig_client.node_ids(rig.server.url)):
        rig_client.run_sync(lambda n=node_id: rig_client.remove_node(rig.server.url, n))
    shutil.rmtree(rig.relay.storage, ignore_errors=True)
    _start(rig.relay)


@pytest.fixture
def commissioned_relay(relay_rig: RelayRig, socket_enabled: None) -> CommissionedRelay:
    """The relay commissioned on the rig's server (by manual code, once per module)."""
    url = relay_rig.server.url
    # The relay is the rig server's only device: any node there is the relay.
    known = rig_client.run_sync(lambda: rig_client.node_ids(url))
    if known:
        return CommissionedRelay(rig=relay_rig, node_id=known[0])
    node_id = rig_client.run_sync(
        lambda: rig_client.commission(url, code=relay_rig.relay.manual_code)
    )
    return CommissionedRelay(rig=relay_rig, node_id=node_id)


def _parts(item: pytest.Item) -> list[tuple[str, MatterServer | VirtualRelay]]:
    parts: list[tuple[str, MatterServer | VirtualRelay]] = []
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, MatterServer):
            parts.append(("matter-server", value))
        elif isinstance(value, TestNode):
            parts.append(("matter-server", value.server))
        elif isinstance(value, (RelayRig, CommissionedRelay)):
            rig = value if isinstance(value, RelayRig) else value.rig
            parts += [("matter-server", rig.server), ("virtual relay", rig.relay)]
    return parts


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On a failure, add the tail of each rig part's log to the report."""
    report = yield
    if report.failed:
        seen: set[int] = set()
        for name, part in _parts(item):
            if id(part) not in seen:
                seen.add(id(part))
                report.sections.append((f"{name} log ({call.when})", part.log_tail(80)))
    return report
