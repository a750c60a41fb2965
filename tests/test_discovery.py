"""
Discovery: a relay that Home Assistant's Matter integration has is offered under "Discovered".

Real parts: HA's own `matter` integration set up against the real
python-matter-server, HA's own `zeroconf` integration routing by the
manifests' matchers, and the matter.js virtual relay's real operational mDNS
advertisement, captured inside the rig's namespace (tools/rig/mdns.py). Only
zeroconf's sockets are the harness's mock: the captured records are put in its
cache and its browser's callback is called, as the socket layer would.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from homeassistant import config_entries
from homeassistant.components.zeroconf.const import DATA_DISCOVERY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from homeassistant.loader import async_get_integration, async_get_zeroconf
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from zeroconf import ServiceStateChange
from zeroconf.asyncio import AsyncServiceInfo

from custom_components.no_neutral.const import (
    CONF_ENTITY,
    CONF_NODE_ID,
    CONF_URL,
    DEFAULT_URL,
    DOMAIN,
)
from tests.link_helpers import MINIR4M, NO_ONOFF, import_test_node, server_fabric, wait_for
from tests.rig import RELAY_SERIAL, reset_relay
from tests.test_config_flow import ADAPTOR_INPUT, start
from tools.rig import client as rig_client
from tools.rig.mdns import Advertisement, MdnsWatch
from tools.rig.relay_rig import RelayRig
from tools.rig.server import MatterServer

MATTER_TYPE = "_matter._tcp.local."
STRINGS = json.loads(
    (Path(__file__).parent.parent / "custom_components/no_neutral/strings.json").read_text()
)

pytestmark = pytest.mark.usefixtures("socket_enabled")


def instance(fabric: int, node_id: int) -> str:
    """The operational instance name (without the service type) a node advertises."""
    return f"{fabric:016X}-{node_id:016X}"


def service_info(name: str) -> ZeroconfServiceInfo:
    """An announcement shaped as the virtual relay's (see the capture in the rig tests)."""
    return ZeroconfServiceInfo(
        ip_address="fd12::2",  # type: ignore[arg-type]
        ip_addresses=["fd12::2"],  # type: ignore[list-item]
        port=5540,
        hostname="86501C9D3A0F0000.local.",
        type=MATTER_TYPE,
        name=f"{name}.{MATTER_TYPE}",
        properties={},
    )


async def add_matter_entry(hass: HomeAssistant, url: str) -> MockConfigEntry:
    """Set up Home Assistant's own Matter integration against a real server."""
    entry = MockConfigEntry(domain="matter", data={"url": url, "use_addon": False})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def discover(hass: HomeAssistant, name: str) -> Any:
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_ZEROCONF}, data=service_info(name)
    )


def offers(hass: HomeAssistant) -> list[Any]:
    """The discovered flows of this integration (what Settings > Discovered shows)."""
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == config_entries.SOURCE_ZEROCONF
    ]


def assert_translated_abort(result: Any, reason: str) -> None:
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == reason
    assert STRINGS["config"]["abort"][reason]


# --- with HA's zeroconf integration and the virtual relay's real advertisement


@pytest.fixture
async def zeroconf_up(hass: HomeAssistant, mock_async_zeroconf: Any) -> None:
    """Home Assistant's zeroconf integration, with every manifest's matchers (ours among them)."""
    assert await async_setup_component(hass, "zeroconf", {})
    await hass.async_block_till_done()
    # Imported now, our config flow is in progress from the moment discovery
    # starts it: the first discovery would otherwise import it first, out of
    # sight of settled(), which then finds no flow and returns too early.
    integration = await async_get_integration(hass, DOMAIN)
    await integration.async_get_platform("config_flow")


async def announce(hass: HomeAssistant, seen: Advertisement) -> None:
    """Hand an advertisement to HA's zeroconf as its browser would: records, then the change."""
    discovery = hass.data[DATA_DISCOVERY]
    zc = discovery.zeroconf
    if seen.event == "Removed":
        change = ServiceStateChange.Removed
    else:
        change = ServiceStateChange.Added
        assert seen.port is not None
        info = AsyncServiceInfo(
            seen.type,
            seen.name,
            port=seen.port,
            server=seen.server,
            properties={key: value for key, value in (seen.properties or {}).items() if key},
            # The link-local one carries its interface's scope, which means nothing here.
            parsed_addresses=[address for address in seen.addresses if "%" not in address],
        )
        records = [info.dns_pointer(), info.dns_service(), info.dns_text(), *info.dns_addresses()]
        zc.cache.async_add_records(records)
    discovery.async_service_update(zc, seen.type, seen.name, change)
    await settled(hass)


async def settled(hass: HomeAssistant) -> None:
    """Wait until no flow of ours is still starting (discovery starts them in the background)."""
    await hass.async_block_till_done()
    await wait_for(
        lambda: (
            not hass.config_entries.flow.async_progress_by_handler(
                DOMAIN, include_uninitialized=True, match_context={"source": "zeroconf"}
            )
            or offers(hass)
        )
    )


def fresh_node(rig: RelayRig) -> int:
    """Factory-reset the relay and commission it on the rig's server; return its node id."""
    reset_relay(rig)
    url = rig.server.url
    return rig_client.run_sync(lambda: rig_client.commission(url, code=rig.relay.manual_code))


@dataclass(frozen=True, kw_only=True)
class RelayOnMatter:
    """The relay paired on its rig's server, with HA's Matter integration set up there."""

    rig: RelayRig
    node_id: int
    fabric: int
    matter: MockConfigEntry

    @property
    def name(self) -> str:
        """The operational instance name the relay advertises."""
        return instance(self.fabric, self.node_id)


@pytest.fixture
async def relay_on_matter(
    hass: HomeAssistant, relay_rig: RelayRig, zeroconf_up: None
) -> AsyncIterator[RelayOnMatter]:
    """Pair the relay afresh, set HA's Matter integration up on its server (and HA's zeroconf)."""
    node_id = await hass.async_add_executor_job(fresh_node, relay_rig)
    fabric = await server_fabric(relay_rig.url)
    matter = await add_matter_entry(hass, relay_rig.url)
    yield RelayOnMatter(rig=relay_rig, node_id=node_id, fabric=fabric, matter=matter)
    await hass.config_entries.async_unload(matter.entry_id)


async def imported_node_on_matter(
    hass: HomeAssistant, server: MatterServer, dump: str
) -> tuple[int, int]:
    """Import a test node, set HA's Matter integration up on its server; node and fabric."""
    node_id = await import_test_node(server.url, dump)
    await add_matter_entry(hass, server.url)
    return node_id, await server_fabric(server.url)


async def test_our_matcher_is_in_home_assistants_zeroconf(hass: HomeAssistant) -> None:
    assert {"domain": DOMAIN} in (await async_get_zeroconf(hass))[MATTER_TYPE]


@pytest.mark.matter
@pytest.mark.netns
async def test_relay_of_the_matter_integration_is_offered_and_added_without_a_url(
    hass: HomeAssistant, relay_on_matter: RelayOnMatter
) -> None:
    paired = relay_on_matter
    node_id, name, matter = paired.node_id, paired.name, paired.matter

    def capture() -> Advertisement:
        with MdnsWatch(paired.rig.server_ns, MATTER_TYPE) as watch:
            return watch.next("Added", name)

    seen = await hass.async_add_executor_job(capture)
    # The name matter.js gives a commissioned node: <fabric>-<node>, upper-case hex.
    assert seen.name == f"{name}.{MATTER_TYPE}"
    await announce(hass, seen)

    (offer,) = offers(hass)
    # Named as the relay names itself (the virtual relay's node label).
    assert offer["context"]["title_placeholders"] == {"name": f"MINIR4M {RELAY_SERIAL}"}
    assert offer["step_id"] == "adaptor"
    result = await hass.config_entries.flow.async_configure(offer["flow_id"], ADAPTOR_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    # The URL came from HA's Matter entry: nobody typed it.
    assert entry.data == {CONF_URL: matter.data["url"], CONF_NODE_ID: node_id}
    assert entry.unique_id == name
    assert entry.title == f"MINIR4M {RELAY_SERIAL}"
    await hass.async_block_till_done()
    assert entry.state is config_entries.ConfigEntryState.LOADED

    # Announced again (a new address, a restart): a followed node is not offered again.
    await announce(hass, seen)
    assert offers(hass) == []
    assert_translated_abort(await discover(hass, name), "already_configured")

    # Unfollowed, it is offered again (HA's zeroconf rediscovers for a removed entry).
    assert await hass.config_entries.async_remove(entry.entry_id)
    await settled(hass)
    assert len(offers(hass)) == 1


@pytest.mark.matter
@pytest.mark.netns
async def test_node_removed_from_matter_withdraws_its_offer(
    hass: HomeAssistant, relay_on_matter: RelayOnMatter
) -> None:
    paired = relay_on_matter
    name = paired.name
    watch = await hass.async_add_executor_job(MdnsWatch, paired.rig.server_ns, MATTER_TYPE)
    try:
        seen = await hass.async_add_executor_job(watch.next, "Added", name)
        await announce(hass, seen)
        assert len(offers(hass)) == 1

        # Removed from the fabric, the relay says goodbye; HA's zeroconf drops the offer.
        await rig_client.remove_node(paired.rig.url, paired.node_id)
        gone = await hass.async_add_executor_job(watch.next, "Removed", name)
        await announce(hass, gone)
        assert offers(hass) == []
    finally:
        await hass.async_add_executor_job(watch.close)

    # A late or repeated announcement of the removed node offers nothing.
    await announce(hass, seen)
    assert offers(hass) == []
    assert_translated_abort(await discover(hass, name), "not_a_relay_node")


# --- the discovery step against a real server (test nodes: no relay, no mDNS needed)


@pytest.mark.matter
async def test_offer_of_a_node_removed_meanwhile_aborts_on_confirm(
    hass: HomeAssistant, matter_server: MatterServer
) -> None:
    """The goodbye never came (lost, or HA was down): confirming finds the node gone."""
    node_id, fabric = await imported_node_on_matter(hass, matter_server, MINIR4M)
    result = await discover(hass, instance(fabric, node_id))
    assert result["step_id"] == "adaptor"
    await rig_client.remove_node(matter_server.url, node_id)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], ADAPTOR_INPUT)
    assert_translated_abort(result, "node_removed")
    assert hass.config_entries.async_entries(DOMAIN) == []


@pytest.mark.matter
async def test_node_without_onoff_is_not_offered(
    hass: HomeAssistant, matter_server: MatterServer
) -> None:
    node_id, fabric = await imported_node_on_matter(hass, matter_server, NO_ONOFF)
    assert_translated_abort(await discover(hass, instance(fabric, node_id)), "not_a_relay_node")


@pytest.mark.matter
async def test_node_of_another_fabric_is_not_offered(
    hass: HomeAssistant, matter_server: MatterServer
) -> None:
    """A relay shared with another controller advertises one name per fabric: only ours counts."""
    node_id, fabric = await imported_node_on_matter(hass, matter_server, MINIR4M)
    other = instance(fabric ^ 0xFFFF, node_id)
    assert_translated_abort(await discover(hass, other), "other_fabric")


@pytest.mark.matter
async def test_node_followed_in_companion_mode_is_not_offered(
    hass: HomeAssistant, matter_server: MatterServer
) -> None:
    """A relay followed through HA's own Matter light (companion mode) is one adaptor already."""
    node_id, fabric = await imported_node_on_matter(hass, matter_server, MINIR4M)

    node = f"deviceid_{instance(fabric, node_id)}-"

    def relay_entities() -> list[er.RegistryEntry]:
        """The node's own light or switch (the server may hold other tests' nodes)."""
        devices = dr.async_get(hass)
        return [
            entity
            for entity in er.async_get(hass).entities.values()
            if entity.platform == "matter"
            and entity.domain in {"light", "switch"}
            and entity.device_id is not None
            and (device := devices.async_get(entity.device_id)) is not None
            and any(ident.startswith(node) for _, ident in device.identifiers)
        ]

    # HA's Matter integration adds the node's entities once it has read the node
    # (the test dump has more than one on/off entity; following any one counts).
    await wait_for(relay_entities)
    light, *_ = relay_entities()
    companion = MockConfigEntry(
        domain=DOMAIN, unique_id=light.id, data={CONF_ENTITY: light.id, "relay_model": "minir4m"}
    )
    companion.add_to_hass(hass)
    assert_translated_abort(await discover(hass, instance(fabric, node_id)), "already_configured")
    # Without the companion entry the same node is offered.
    await hass.config_entries.async_remove(companion.entry_id)
    result = await discover(hass, instance(fabric, node_id))
    assert result["step_id"] == "adaptor"


async def test_without_a_matter_entry_nothing_is_offered(hass: HomeAssistant) -> None:
    result = await discover(hass, instance(0xA867793C32D5E5D4, 1))
    assert_translated_abort(result, "no_matter_entry")


async def test_other_names_of_the_matter_type_are_not_offered(hass: HomeAssistant) -> None:
    result = await discover(hass, "Living room speaker")
    assert_translated_abort(result, "not_matter_node")


@pytest.mark.matter
async def test_discovery_moves_a_followed_relay_to_the_matter_entrys_server(
    hass: HomeAssistant, matter_server: MatterServer
) -> None:
    """discovery-update-info: the server moved; the entry follows HA's Matter entry's URL."""
    node_id = await import_test_node(matter_server.url, MINIR4M)
    fabric = await server_fabric(matter_server.url)
    followed = MockConfigEntry(
        domain=DOMAIN,
        unique_id=instance(fabric, node_id),
        data={CONF_URL: "ws://127.0.0.1:1/ws", CONF_NODE_ID: node_id},
    )
    followed.add_to_hass(hass)
    await add_matter_entry(hass, matter_server.url)
    assert_translated_abort(await discover(hass, instance(fabric, node_id)), "already_configured")
    assert followed.data == {CONF_URL: matter_server.url, CONF_NODE_ID: node_id}


# --- the URL step


async def test_url_step_starts_with_the_matter_entrys_url(hass: HomeAssistant) -> None:
    ((marker, _selector),) = (await start(hass))["data_schema"].schema.items()
    assert marker.default() == DEFAULT_URL
    url = "ws://core-matter-server.local.hass.io:5580/ws"
    MockConfigEntry(domain="matter", data={"url": url, "use_addon": True}).add_to_hass(hass)
    ((marker, _selector),) = (await start(hass))["data_schema"].schema.items()
    assert marker.default() == url
