"""
The relay of one config entry: its OnOff state, availability and device.

`RelayLink` follows one node through the shared server link (server.py):
entities never touch the Matter client. On reconnect every relay re-reads its
node from the fresh dump. The relay's own device shares its identifiers with
the one HA's Matter integration shows for the same node; the adaptor's device
hangs off it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import ClientError
from chip.clusters import Objects as clusters  # noqa: N813  (HA's Matter spelling)
from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from matter_server.client.exceptions import MatterClientException, NotConnected
from matter_server.client.models.node import MatterNode
from matter_server.common.errors import MatterError, NodeNotExists
from matter_server.common.helpers.util import create_attribute_path
from matter_server.common.models import EventType, MatterNodeEvent

from .const import (
    CONF_NODE_ID,
    DOMAIN,
    LOGGER,
    ONOFF_ATTRIBUTE_ID,
    ONOFF_CLUSTER_ID,
    RELAY_ENDPOINT,
)
from .data import NoNeutralConfigEntry
from .helpers import redact_url
from .repairs import issue_id
from .server import MatterServerLink

# A relay on the LAN answers in about 10 ms; without a bound, a relay that
# vanished keeps the caller waiting for the SDK's own timeout (over a minute).
COMMAND_TIMEOUT_MS: Final = 10_000

ONOFF_PATH: Final = create_attribute_path(RELAY_ENDPOINT, ONOFF_CLUSTER_ID, ONOFF_ATTRIBUTE_ID)
# General diagnostics (endpoint 0, cluster 0x33): reboot count and boot reason,
# the relay's own hint at brown-outs (its supply comes through the adaptor).
GENERAL_DIAGNOSTICS_CLUSTER_ID: Final = 0x33
REBOOT_COUNT_PATH: Final = create_attribute_path(0, GENERAL_DIAGNOSTICS_CLUSTER_ID, 1)
BOOT_REASON_PATH: Final = create_attribute_path(0, GENERAL_DIAGNOSTICS_CLUSTER_ID, 4)

ISSUE_NODE_REMOVED: Final = "node_removed"

# HA's Matter integration keys its node devices so; sharing these identifiers
# links our relay device to the one it shows for the same node.
MATTER_DOMAIN: Final = "matter"


def matter_device_id(compressed_fabric_id: int, node_id: int) -> str:
    """Return the stable id of a node, built as HA's Matter integration builds it."""
    return f"{compressed_fabric_id:016X}-{node_id:016X}"


def has_relay_output(node: MatterNode) -> bool:
    """Return whether the node has an OnOff cluster that this integration can switch."""
    return node.has_cluster(clusters.OnOff)


@dataclass(frozen=True, kw_only=True)
class RelayDeviceInfo:
    """What the relay's basic information cluster says about it."""

    unique_id: str
    matter_device_id: str
    vendor_id: int
    vendor_name: str | None
    product_id: int
    product_name: str | None
    node_label: str | None
    serial_number: str | None
    sw_version: str | None
    hw_version: str | None

    @classmethod
    def from_node(cls, node: MatterNode, compressed_fabric_id: int) -> RelayDeviceInfo:
        """Read the node's basic information (endpoint 0)."""
        info = node.device_info
        device_id = matter_device_id(compressed_fabric_id, node.node_id)
        return cls(
            unique_id=device_id,
            matter_device_id=device_id,
            vendor_id=int(info.vendorID),
            vendor_name=_clean(info.vendorName),
            product_id=int(info.productID),
            product_name=_clean(info.productLabel) or _clean(info.productName),
            node_label=_clean(info.nodeLabel),
            serial_number=_clean(info.serialNumber),
            sw_version=_clean(info.softwareVersionString),
            hw_version=_clean(info.hardwareVersionString),
        )

    @property
    def name(self) -> str:
        """Return the name HA's Matter integration would give the device."""
        return self.node_label or self.product_name or f"Matter node {self.unique_id}"


def _clean(value: Any) -> str | None:
    """Strip spaces and NUL characters, as HA's Matter integration does."""
    if not isinstance(value, str):
        return None
    return value.replace("\x00", "").strip() or None


class RelayLink:
    """The relay of one config entry: its OnOff state, availability and device info."""

    def __init__(self, hass: HomeAssistant, server: MatterServerLink, node_id: int) -> None:
        """Subscribe to the node's events on the shared client."""
        self.hass = hass
        self.server = server
        self.node_id = node_id
        self._listeners: list[CALLBACK_TYPE] = []
        self._event_listeners: list[Callable[[MatterNodeEvent], None]] = []
        self._unsubscribe: list[CALLBACK_TYPE] = []
        self.device_info: RelayDeviceInfo = RelayDeviceInfo.from_node(
            self.node, server.server_info.compressed_fabric_id
        )
        # The client signals a removal before it forgets the node.
        self._removed = False
        # Availability as last logged, known only while the server is connected.
        self._logged_available = True
        # The relay's own device in the registry, set by the entry's setup; the
        # adaptor's device hangs off it (via_device_id).
        self.device_id: str | None = None

    @property
    def node(self) -> MatterNode:
        """Return the node as the client knows it now; raises NodeNotExists."""
        return self.server.client.get_node(self.node_id)

    @callback
    def async_start(self) -> None:
        """Follow the OnOff attribute, the node's updates and events, and the server."""
        client = self.server.client
        node_id = self.node_id
        self._unsubscribe = [
            client.subscribe_events(
                self._on_attribute,
                EventType.ATTRIBUTE_UPDATED,
                node_filter=node_id,
                attr_path_filter=ONOFF_PATH,
            ),
            *(
                client.subscribe_events(
                    self._on_attribute,
                    EventType.ATTRIBUTE_UPDATED,
                    node_filter=node_id,
                    attr_path_filter=path,
                )
                for path in (REBOOT_COUNT_PATH, BOOT_REASON_PATH)
            ),
            client.subscribe_events(self._on_node, EventType.NODE_ADDED, node_filter=node_id),
            client.subscribe_events(self._on_node, EventType.NODE_UPDATED, node_filter=node_id),
            client.subscribe_events(self._on_node, EventType.NODE_REMOVED, node_filter=node_id),
            client.subscribe_events(self._on_event, EventType.NODE_EVENT, node_filter=node_id),
            self.server.async_add_listener(self._on_server),
        ]
        self._log_availability()

    @callback
    def async_stop(self) -> None:
        """Stop following the relay."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    @property
    def available(self) -> bool:
        """Return whether the server is connected and the node is reachable."""
        if not self.server.connected or self._removed:
            return False
        try:
            return self.node.available
        except NodeNotExists:
            return False

    @property
    def removed(self) -> bool:
        """
        Return whether the connected server no longer has the relay's node.

        Either the server said so (NODE_REMOVED) or its node dump after a
        reconnect lacks the node (its storage was reset, or it was removed
        while the link was down).
        """
        if not self.server.connected:
            return False
        if self._removed:
            return True
        try:
            self.node  # noqa: B018  (the lookup is the question)
        except NodeNotExists:
            return True
        return False

    @property
    def is_on(self) -> bool | None:
        """Return the relay's OnOff attribute, or None when it is not known."""
        if not self.available:
            return None
        value = self.node.get_attribute_value(RELAY_ENDPOINT, ONOFF_CLUSTER_ID, ONOFF_ATTRIBUTE_ID)
        return value if isinstance(value, bool) else None

    @property
    def switched_by(self) -> Context | None:
        """Return None: a node reports no context, the light's commands are noted instead."""
        return None

    def diagnostics(self) -> dict[str, Any]:
        """Return the node and its state."""
        return {"node_id": self.node_id, "available": self.available, "is_on": self.is_on}

    @property
    def reboot_count(self) -> int | None:
        """Return how often the relay has rebooted (general diagnostics), if known."""
        return self._diagnostic(1)

    @property
    def boot_reason(self) -> int | None:
        """
        Return why the relay last booted, if known.

        Matter's BootReasonEnum: 0 unspecified, 1 power-on, 2 brown-out reset,
        3 software watchdog, 4 hardware watchdog, 5 software update, 6 software reset.
        """
        return self._diagnostic(4)

    def _diagnostic(self, attribute_id: int) -> int | None:
        try:
            node = self.node
        except NodeNotExists:
            return None
        # Only what the relay reported: the client's cluster object fills an
        # attribute it never sent with the default (a reboot count of 0).
        path = create_attribute_path(0, GENERAL_DIAGNOSTICS_CLUSTER_ID, attribute_id)
        if path not in node.node_data.attributes:
            return None
        try:
            value = node.get_attribute_value(0, GENERAL_DIAGNOSTICS_CLUSTER_ID, attribute_id)
        except KeyError:
            return None
        return int(value) if isinstance(value, int) else None

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `update` on every state or availability change (and reboot count change)."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    @callback
    def async_add_event_listener(self, handler: Callable[[MatterNodeEvent], None]) -> CALLBACK_TYPE:
        """Call `handler` with every event the node reports (for example a reboot)."""
        self._event_listeners.append(handler)
        return lambda: self._event_listeners.remove(handler)

    def _log_availability(self) -> None:
        """Log once at INFO when the relay turns unavailable, once when it is back."""
        # The server's loss is the server link's line: only the relay's own
        # absence is news here, judged once the server is connected again.
        if not self.server.connected:
            return
        available = self.available
        if available == self._logged_available:
            return
        self._logged_available = available
        name = self.device_info.name
        if available:
            LOGGER.info("Relay %s (node %s) is available again", name, self.node_id)
        elif self.removed:
            LOGGER.info(
                "Relay %s (node %s) is unavailable: the Matter server %s no longer has it",
                name,
                self.node_id,
                self.server.safe_url,
            )
        else:
            LOGGER.info(
                "Relay %s (node %s) is unavailable: the Matter server cannot reach it",
                name,
                self.node_id,
            )

    def _notify(self) -> None:
        self._log_availability()
        for update in list(self._listeners):
            update()

    def _on_attribute(self, _event: EventType, _value: Any) -> None:
        self._notify()

    def _on_node(self, event: EventType, _data: Any) -> None:
        self._removed = event is EventType.NODE_REMOVED
        if not self._removed:
            self._refresh_device_info()
        self._notify()

    def _on_event(self, _event: EventType, data: MatterNodeEvent) -> None:
        for handler in list(self._event_listeners):
            handler(data)

    def _on_server(self) -> None:
        # On reconnect the client holds a fresh dump of every node: re-read it.
        if self.server.connected:
            self._refresh_device_info()
        self._notify()

    def _refresh_device_info(self) -> None:
        with contextlib.suppress(NodeNotExists):
            self.device_info = RelayDeviceInfo.from_node(
                self.node, self.server.server_info.compressed_fabric_id
            )

    async def async_turn_on(self) -> None:
        """Close the relay."""
        await self._async_command(clusters.OnOff.Commands.On())

    async def async_turn_off(self) -> None:
        """Open the relay."""
        await self._async_command(clusters.OnOff.Commands.Off())

    async def _async_command(self, command: clusters.ClusterCommand) -> None:
        try:
            await self.server.client.send_device_command(
                self.node_id,
                RELAY_ENDPOINT,
                command,
                interaction_timeout_ms=COMMAND_TIMEOUT_MS,
            )
        except asyncio.CancelledError:
            # The client cancels the commands in flight when the server goes
            # away; that is a failed command, not a cancelled caller.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            msg = "the Matter server went away before the relay answered"
            raise NotConnected(msg) from None


def matter_relay(entry: NoNeutralConfigEntry) -> RelayLink:
    """Return the Matter relay of an entry (only a Matter entry sets up the light)."""
    relay = entry.runtime_data.relay
    if not isinstance(relay, RelayLink):
        msg = f"{entry.title} follows no Matter relay"
        raise TypeError(msg)
    return relay


@contextlib.contextmanager
def relay_command(relay: RelayLink) -> Iterator[None]:
    """
    Wrap a command to the relay; report a failure in the user's language.

    Refuses up front when the server or the relay is unreachable, so the user
    reads why instead of waiting for a command that cannot arrive. A connection
    that dies while the command is written surfaces as aiohttp's or the OS's
    own error (ClientConnectionResetError); the user gets the translated
    "server went away" instead of a raw traceback.
    """
    url = redact_url(relay.server.url)
    if not relay.server.connected:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="server_unavailable",
            translation_placeholders={"url": url},
        )
    if not relay.available:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="relay_unavailable",
            translation_placeholders={"node_id": str(relay.node_id)},
        )
    try:
        yield
    except (MatterError, MatterClientException) as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_failed",
            translation_placeholders={"error": redact_url(str(err)) or type(err).__name__},
        ) from err
    except (ClientError, OSError, TimeoutError) as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="connection_lost",
            translation_placeholders={"url": url},
        ) from err


@callback
def async_follow_relay(hass: HomeAssistant, entry: NoNeutralConfigEntry, relay: RelayLink) -> None:
    """
    Start following the relay and register its device; stop when the entry unloads.

    Firmware updates and renames arrive as node updates and reach the registry;
    the "relay left the server" issue follows the node's presence.
    """

    @callback
    def _stop() -> None:
        relay.async_stop()
        async_delete_node_issue(hass, entry.entry_id)

    entry.async_on_unload(_stop)
    relay.async_start()
    async_delete_node_issue(hass, entry.entry_id)

    @callback
    def _follow_node_presence() -> None:
        # Unknown while the server is away: leave the issue as it is.
        if not relay.server.connected:
            return
        if relay.removed:
            async_create_node_issue(hass, entry, relay.server.safe_url)
        else:
            async_delete_node_issue(hass, entry.entry_id)

    entry.async_on_unload(relay.async_add_listener(_follow_node_presence))
    relay.device_id = _async_register_device(hass, entry, relay.device_info)
    registered = [relay.device_info]

    @callback
    def _follow_device_info() -> None:
        if relay.device_info != registered[0]:
            registered[0] = relay.device_info
            _async_register_device(hass, entry, relay.device_info)

    entry.async_on_unload(relay.async_add_listener(_follow_device_info))


def relay_identifier(unique_id: str) -> tuple[str, str]:
    """Return this integration's identifier of the relay device of a node's unique id."""
    return (DOMAIN, f"relay_{unique_id}")


def relay_identifiers(info: RelayDeviceInfo) -> set[tuple[str, str]]:
    """Return the relay device's identifiers, HA's Matter integration's among them."""
    identifiers = {
        relay_identifier(info.unique_id),
        (MATTER_DOMAIN, f"deviceid_{info.matter_device_id}-MatterNodeDevice"),
    }
    # The Matter integration skips serial numbers that say "test"; do the same.
    if info.serial_number and "test" not in info.serial_number.lower():
        identifiers.add((MATTER_DOMAIN, f"serial_{info.serial_number}"))
    return identifiers


@callback
def _async_register_device(
    hass: HomeAssistant, entry: NoNeutralConfigEntry, info: RelayDeviceInfo
) -> str:
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers=relay_identifiers(info),
        name=info.name,
        manufacturer=info.vendor_name,
        model=info.product_name,
        model_id=str(info.product_id),
        serial_number=info.serial_number,
        sw_version=info.sw_version,
        hw_version=info.hw_version,
    )
    return device.id


@callback
def async_create_node_issue(
    hass: HomeAssistant, entry: NoNeutralConfigEntry, safe_url: str
) -> None:
    """Raise the "relay left the server" issue."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(entry.entry_id, ISSUE_NODE_REMOVED),
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_NODE_REMOVED,
        translation_placeholders={
            "name": entry.title,
            "node_id": str(entry.data[CONF_NODE_ID]),
            "url": safe_url,
        },
    )


@callback
def async_delete_node_issue(hass: HomeAssistant, entry_id: str) -> None:
    """Clear the "relay left the server" issue: the node is back, or the entry is gone."""
    ir.async_delete_issue(hass, DOMAIN, issue_id(entry_id, ISSUE_NODE_REMOVED))
