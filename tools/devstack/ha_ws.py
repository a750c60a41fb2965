"""
Home Assistant's websocket API, as the frontend speaks it.

Commands, and subscriptions whose events queue up until read.

The browser check uses it to read the entity registry and to watch every state
change of the adaptor's entities while the options are saved in the browser.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp


class HomeAssistantWSError(RuntimeError):
    """A websocket command failed."""


class HomeAssistantWS:
    """One authenticated websocket connection to Home Assistant."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Wrap an authenticated connection; use `connect` to open one."""
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._subscriptions: dict[int, asyncio.Queue[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            payload = message.json()
            for item in payload if isinstance(payload, list) else [payload]:
                ident = item.get("id")
                if item.get("type") == "event" and ident in self._subscriptions:
                    self._subscriptions[ident].put_nowait(item["event"])
                elif ident in self._pending:
                    self._pending.pop(ident).set_result(item)
        for future in self._pending.values():
            future.set_exception(HomeAssistantWSError("websocket closed"))

    async def command(self, command: dict[str, Any]) -> Any:
        """Send one command and return its result."""
        ident = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        await self._ws.send_json({"id": ident, **command})
        reply = await future
        if not reply.get("success"):
            msg = f"{command['type']}: {reply.get('error')}"
            raise HomeAssistantWSError(msg)
        return reply["result"]

    async def subscribe(self, event_type: str) -> asyncio.Queue[dict[str, Any]]:
        """Subscribe to an event type; its events queue up from the moment HA confirms."""
        ident = next(self._ids)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        # Registered before the command goes out: no event is lost in between.
        self._subscriptions[ident] = queue
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        await self._ws.send_json(
            {"id": ident, "type": "subscribe_events", "event_type": event_type}
        )
        reply = await future
        if not reply.get("success"):
            msg = f"subscribe_events {event_type}: {reply.get('error')}"
            raise HomeAssistantWSError(msg)
        return queue

    async def close(self) -> None:
        """Close the connection."""
        await self._ws.close()
        await self._reader


@asynccontextmanager
async def connect(base_url: str, token: str) -> AsyncIterator[HomeAssistantWS]:
    """Open and authenticate a websocket connection to the HA at `base_url`."""
    url = base_url.replace("http", "ws", 1) + "/api/websocket"
    # No permessage-deflate: HA sends a large compressed frame from a shielded
    # task, and a connection that closes while one is on its way has asyncio
    # log "ClientConnectionResetError exception in shielded future" at ERROR in
    # HA's log, which the develop tests keep free of errors.
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url, compress=0) as ws,
    ):
        if (await ws.receive_json())["type"] != "auth_required":
            msg = "websocket: no auth_required"
            raise HomeAssistantWSError(msg)
        await ws.send_json({"type": "auth", "access_token": token})
        auth = await ws.receive_json()
        if auth.get("type") != "auth_ok":
            msg = f"websocket auth failed: {auth}"
            raise HomeAssistantWSError(msg)
        client = HomeAssistantWS(ws)
        try:
            yield client
        finally:
            await client.close()
