"""
The Matter server link: one client per server URL, shared by every entry that uses it.

State is pushed by the server (attribute and node events); nothing here polls.
When the server goes away the link tells its listeners (every relay turns
unavailable at once), reconnects with backoff and, on reconnect, the client
holds the fresh full dump of every node that `start_listening` returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any, Final, cast

from aiohttp import ClientSession
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
    ConnectionClosed,
    InvalidServerVersion,
    MatterClientException,
    ServerVersionTooNew,
    ServerVersionTooOld,
)
from matter_server.client.models.node import MatterNode
from matter_server.common.errors import MatterError
from matter_server.common.helpers.util import dataclass_from_dict
from matter_server.common.models import (
    APICommand,
    CommandMessage,
    MatterNodeData,
    ServerInfoMessage,
    SuccessResultMessage,
)

from .const import DOMAIN, LOGGER
from .helpers import redact_url

CONNECT_TIMEOUT: Final = 10
LISTEN_READY_TIMEOUT: Final = 30
# Reconnect delays: 1, 2, 4, 8, 10, 10, ... seconds. A refused local connection
# costs nothing, and the cap bounds how long the lamp stays unavailable after
# the server is back (an add-on restart takes a few seconds).
BACKOFF_INITIAL: Final = 1.0
BACKOFF_MAX: Final = 10.0

ISSUE_SERVER_TOO_OLD: Final = "server_version_too_old"
ISSUE_SERVER_TOO_NEW: Final = "server_version_too_new"

# The shared links, keyed by server URL.
SERVER_LINKS: HassKey[dict[str, MatterServerLink]] = HassKey(f"{DOMAIN}_servers")


def parse_nodes(dump: list[dict[str, Any]]) -> dict[int, MatterNode]:
    """Build the MatterNode of each node in a start_listening result."""
    nodes = (MatterNode(dataclass_from_dict(MatterNodeData, node)) for node in dump)
    return {node.node_id: node for node in nodes}


class RelayClient(MatterClient):
    """
    A MatterClient that parses the node dump off the event loop.

    `MatterClient.start_listening` receives every node of the server in one
    message and builds a MatterNode of each in the same loop step: 12 ms for one
    MINIR4M, 550 ms for fifty, during which the event loop does nothing else
    (Home Assistant's own Matter integration pays the same). This subclass does
    exactly what its parent does (matter-python-client 1.4), but builds the nodes
    in an executor job, so the loop only waits for the message.
    """

    def __init__(self, hass: HomeAssistant, url: str, session: ClientSession) -> None:
        """Keep hass for its executor."""
        super().__init__(url, session)
        self.hass = hass

    async def start_listening(self, init_ready: asyncio.Event | None = None) -> None:
        """Start listening (as MatterClient does), the node dump parsed in the executor."""
        await self.connect()
        try:
            message = CommandMessage(
                message_id=uuid.uuid4().hex, command=APICommand.START_LISTENING
            )
            await self.connection.send_message(message)
            nodes_msg = cast(
                "SuccessResultMessage", await self.connection.receive_message_or_raise()
            )
            self._nodes = await self.hass.async_add_executor_job(parse_nodes, nodes_msg.result)
            self.logger.info("Matter client initialized.")
            if init_ready is not None:
                init_ready.set()
            while not self._stop_called:
                msg = await self.connection.receive_message_or_raise()
                self._handle_incoming_message(msg)
        except ConnectionClosed:
            pass
        finally:
            await self.disconnect()


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
        # Lost after having been connected, and not back yet.
        self._lost = False
        # A version mismatch was logged since the last good connection.
        self._mismatch_logged = False
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
                # Once per mismatch (the repair issue stays up meanwhile): every
                # retry, up to one each BACKOFF_MAX, would repeat it for ever.
                level = logging.DEBUG if self._mismatch_logged else logging.WARNING
                self._mismatch_logged = True
                LOGGER.log(level, "Matter server %s: %s", self.safe_url, redact_url(str(err)))
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
                # Once per loss (the failed retries log at debug), at INFO as
                # Home Assistant's log-when-unavailable rule asks.
                LOGGER.info("Lost the Matter server %s; reconnecting", self.safe_url)
                self._lost = True
                delay = BACKOFF_INITIAL
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)
            ready = asyncio.Event()

    async def _mark_connected(self, ready: asyncio.Event) -> None:
        await ready.wait()
        self._mismatch_logged = False
        async_delete_issue(self.hass, DOMAIN, ISSUE_SERVER_TOO_OLD)
        async_delete_issue(self.hass, DOMAIN, ISSUE_SERVER_TOO_NEW)
        if self._lost:
            # The pair of the "Lost" line; the first connection is no news.
            LOGGER.info("Matter server %s is back", self.safe_url)
            self._lost = False
        else:
            LOGGER.debug("Connected to the Matter server %s", self.safe_url)
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
