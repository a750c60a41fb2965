"""
The Matter link: one client per server URL, one RelayLink per config entry.

State is pushed by the server (attribute and node events); nothing here polls.
When the server goes away the shared link marks every relay unavailable at
once, reconnects with backoff and, on reconnect, every relay re-reads its node
from the fresh full dump that `start_listening` returns.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Final

from chip.clusters import Objects as clusters  # noqa: N813  (HA's Matter spelling)
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.issue_registry import (
    IssueSeverity,
    async_create_issue,
    async_delete_issue,
)
from homeassistant.util.hass_dict import HassKey
from matter_server.client import MatterClient
from matter_server.client.exceptions import (
    InvalidServerVersion,
    MatterClientException,
    NotConnected,
    ServerVersionTooNew,
    ServerVersionTooOld,
)
from matter_server.client.models.node import MatterNode
from matter_server.common.errors import MatterError, NodeNotExists
from matter_server.common.helpers.util import create_attribute_path
from matter_server.common.models import EventType, MatterNodeEvent, ServerInfoMessage

from .const import (
    DOMAIN,
    LOGGER,
    ONOFF_ATTRIBUTE_ID,
    ONOFF_CLUSTER_ID,
    RELAY_ENDPOINT,
)
from .helpers import redact_url
from .matter_client import RelayClient

CONNECT_TIMEOUT: Final = 10
LISTEN_READY_TIMEOUT: Final = 30
# Reconnect delays: 1, 2, 4, 8, 10, 10, ... seconds. A refused local connection
# costs nothing, and the cap bounds how long the lamp stays unavailable after
# the server is back (an add-on restart takes a few seconds).
BACKOFF_INITIAL: Final = 1.0
BACKOFF_MAX: Final = 10.0
# A relay on the LAN answers in about 10 ms; without a bound, a relay that
# vanished keeps the caller waiting for the SDK's own timeout (over a minute).
COMMAND_TIMEOUT_MS: Final = 10_000

ISSUE_SERVER_TOO_OLD: Final = "server_version_too_old"
ISSUE_SERVER_TOO_NEW: Final = "server_version_too_new"

ONOFF_PATH: Final = create_attribute_path(RELAY_ENDPOINT, ONOFF_CLUSTER_ID, ONOFF_ATTRIBUTE_ID)
# General diagnostics (endpoint 0, cluster 0x33): reboot count and boot reason,
# the relay's own hint at brown-outs (its supply comes through the adaptor).
GENERAL_DIAGNOSTICS_CLUSTER_ID: Final = 0x33
REBOOT_COUNT_PATH: Final = create_attribute_path(0, GENERAL_DIAGNOSTICS_CLUSTER_ID, 1)
BOOT_REASON_PATH: Final = create_attribute_path(0, GENERAL_DIAGNOSTICS_CLUSTER_ID, 4)

# The shared links, keyed by server URL.
SERVER_LINKS: HassKey[dict[str, MatterServerLink]] = HassKey(f"{DOMAIN}_servers")


def matter_device_id(compressed_fabric_id: int, node_id: int) -> str:
    """Return the stable id of a node, built as HA's Matter integration builds it."""
    return f"{compressed_fabric_id:016X}-{node_id:016X}"


def has_relay_output(node: MatterNode) -> bool:
    """Return whether the node has an OnOff cluster that this integration can switch."""
    return node.has_cluster(clusters.OnOff)


@contextlib.asynccontextmanager
async def listening_client(hass: HomeAssistant, url: str) -> AsyncIterator[MatterClient]:
    """
    Connect to a server and listen for as long as the block runs.

    For short jobs (the config flow): commands hang unless a listener reads the
    answers, and the node list only arrives with `start_listening`. Raises the
    client's CannotConnect / InvalidServerVersion, or TimeoutError.
    """
    client = RelayClient(hass, url, async_get_clientsession(hass))
    async with asyncio.timeout(CONNECT_TIMEOUT):
        await client.connect()
    init_ready = asyncio.Event()
    listen = hass.async_create_background_task(
        client.start_listening(init_ready), f"{DOMAIN} flow listener {redact_url(url)}"
    )
    try:
        waiter = asyncio.ensure_future(init_ready.wait())
        async with asyncio.timeout(LISTEN_READY_TIMEOUT):
            await asyncio.wait({waiter, listen}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if not init_ready.is_set():
            # The listener ended before the node dump: re-raise its error.
            listen.result()
            msg = "server closed before sending its nodes"
            raise MatterClientException(msg)
        yield client
    finally:
        await client.disconnect()
        listen.cancel()
        with contextlib.suppress(asyncio.CancelledError, MatterClientException, MatterError):
            await listen


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


class MatterServerLink:
    """
    One connection to a Matter server, shared by every entry that uses it.

    `async_start` connects once (and raises when it cannot), then a background
    task listens, and reconnects with backoff whenever the server goes away.
    """

    def __init__(self, hass: HomeAssistant, url: str) -> None:
        """Initialise; nothing connects until async_start."""
        self.hass = hass
        self.url = url
        # What logs, errors and repair issues show: no credentials.
        self.safe_url = redact_url(url)
        self.client = RelayClient(hass, url, async_get_clientsession(hass))
        self.connected = False
        self.users = 0
        self._listeners: list[CALLBACK_TYPE] = []
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._unsub_stop: CALLBACK_TYPE | None = None
        # Done when async_start has connected (or failed).
        self.started: asyncio.Future[None] = hass.loop.create_future()

    @property
    def server_info(self) -> ServerInfoMessage:
        """Return the connected server's info (its fabric)."""
        info = self.client.server_info
        if info is None:  # pragma: no cover - only read after connecting
            msg = "not connected"
            raise RuntimeError(msg)
        return info

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `update` whenever the connection comes up or goes down."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    def _set_connected(self, *, connected: bool) -> None:
        if connected == self.connected:
            return
        self.connected = connected
        for update in list(self._listeners):
            update()

    async def async_start(self) -> None:
        """Connect, start listening and return once the node dump has arrived."""
        init_ready = asyncio.Event()
        await self._async_connect()
        self._task = self.hass.async_create_background_task(
            self._async_run(init_ready), f"{DOMAIN} Matter listener {self.safe_url}"
        )
        waiter = asyncio.ensure_future(init_ready.wait())
        try:
            async with asyncio.timeout(LISTEN_READY_TIMEOUT):
                await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            await self.async_stop()
            raise
        finally:
            waiter.cancel()
        if not init_ready.is_set():
            await self.async_stop()
            msg = "server closed the connection before sending its nodes"
            raise MatterClientException(msg)
        # Relays created right after this return must see the link as connected.
        self._set_connected(connected=True)
        self._unsub_stop = self.hass.bus.async_listen_once(
            EVENT_HOMEASSISTANT_STOP, self._async_on_hass_stop
        )

    async def _async_on_hass_stop(self, _event: Event) -> None:
        self._unsub_stop = None
        await self.async_stop()

    async def _async_connect(self) -> None:
        """Connect once; raise the issue that fits a version mismatch."""
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                await self.client.connect()
        except InvalidServerVersion as err:
            self._raise_version_issue(err)
            raise
        async_delete_issue(self.hass, DOMAIN, ISSUE_SERVER_TOO_OLD)
        async_delete_issue(self.hass, DOMAIN, ISSUE_SERVER_TOO_NEW)

    def _raise_version_issue(self, err: InvalidServerVersion) -> None:
        issue = ISSUE_SERVER_TOO_OLD if isinstance(err, ServerVersionTooOld) else None
        if isinstance(err, ServerVersionTooNew):
            issue = ISSUE_SERVER_TOO_NEW
        if issue is None:  # pragma: no cover - the client raises only the two
            return
        async_create_issue(
            self.hass,
            DOMAIN,
            issue,
            is_fixable=False,
            severity=IssueSeverity.ERROR,
            translation_key=issue,
            translation_placeholders={"url": self.safe_url},
        )

    async def _async_run(self, init_ready: asyncio.Event) -> None:
        """Listen; whenever the server goes away, reconnect with backoff."""
        delay = BACKOFF_INITIAL
        ready = init_ready
        while not self._stop.is_set():
            watcher = asyncio.ensure_future(self._mark_connected(ready))
            try:
                if not self.client.connection.connected:
                    # A version mismatch leaves the closed socket in place, and
                    # connect() refuses to run while it is there.
                    await self.client.connection.disconnect()
                    async with asyncio.timeout(CONNECT_TIMEOUT):
                        await self.client.connect()
                await self.client.start_listening(ready)
            except InvalidServerVersion as err:
                self._raise_version_issue(err)
                LOGGER.warning("Matter server %s: %s", self.safe_url, redact_url(str(err)))
            except (MatterClientException, MatterError, OSError, TimeoutError) as err:
                LOGGER.debug("Matter server %s: %s", self.safe_url, redact_url(str(err)))
            finally:
                watcher.cancel()
            self._set_connected(connected=False)
            if self._stop.is_set():
                break
            if ready is init_ready and not ready.is_set():
                # The first listen ended before the node dump: async_start
                # reports it (the entry retries) instead of waiting it out.
                return
            if ready.is_set():
                LOGGER.warning("Lost the Matter server %s; reconnecting", self.safe_url)
                delay = BACKOFF_INITIAL
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)
            ready = asyncio.Event()

    async def _mark_connected(self, ready: asyncio.Event) -> None:
        await ready.wait()
        async_delete_issue(self.hass, DOMAIN, ISSUE_SERVER_TOO_OLD)
        async_delete_issue(self.hass, DOMAIN, ISSUE_SERVER_TOO_NEW)
        LOGGER.info("Connected to the Matter server %s", self.safe_url)
        self._set_connected(connected=True)

    async def async_stop(self) -> None:
        """Disconnect for good and end the listener."""
        self._stop.set()
        if self._unsub_stop is not None:
            self._unsub_stop()
            self._unsub_stop = None
        await self.client.disconnect()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._set_connected(connected=False)


async def async_acquire_server(hass: HomeAssistant, url: str) -> MatterServerLink:
    """Return the running link to `url`, starting it if no entry uses it yet."""
    links = hass.data.setdefault(SERVER_LINKS, {})
    link = links.get(url)
    if link is None:
        link = MatterServerLink(hass, url)
        links[url] = link
        try:
            await link.async_start()
        except BaseException as err:
            del links[url]
            link.started.set_exception(err)
            # Entries waiting on the same start hear of it; this caller raises.
            link.started.exception()
            raise
        link.started.set_result(None)
    else:
        # Entries set up at the same time share the first one's start.
        await asyncio.shield(link.started)
    link.users += 1
    return link


async def async_release_server(hass: HomeAssistant, link: MatterServerLink) -> None:
    """Drop one user of the link; the last one disconnects it."""
    link.users -= 1
    if link.users > 0:
        return
    links = hass.data.get(SERVER_LINKS, {})
    if links.get(link.url) is link:
        del links[link.url]
    await link.async_stop()


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
            value = self.node.get_attribute_value(0, GENERAL_DIAGNOSTICS_CLUSTER_ID, attribute_id)
        except NodeNotExists, KeyError:
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

    def _notify(self) -> None:
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
