"""Helpers for the tests that talk to a Matter server: test nodes, a fake server, polling."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from tools.rig.sockets import free_port

FIXTURES = Path(__file__).parent / "fixtures"
MINIR4M = "minir4m_node.json"
OTHER_PLUG = "other_plug_node.json"
NO_ONOFF = "no_onoff_node.json"


def node_dump(name: str) -> dict[str, Any]:
    """Return a node dump (HA diagnostics shape) from tests/fixtures."""
    return json.loads((FIXTURES / name).read_text())


async def server_command(url: str, command: str, **args: Any) -> Any:
    """Send one command to a real Matter server over its websocket; return the result."""
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.receive_json()  # server_info, sent on connect
        await ws.send_json({"message_id": "1", "command": command, "args": args})
        while True:
            msg = await ws.receive_json()
            if msg.get("message_id") == "1":
                if "error_code" in msg:
                    raise RuntimeError(msg)
                return msg.get("result")


async def import_test_node(
    url: str, name: str = MINIR4M, *, available: bool = True, **attributes: Any
) -> int:
    """
    Import a node dump from tests/fixtures into a running server; return its new id.

    `attributes` overrides attribute values by path (`**{"1/6/0": True}` for a
    relay that is on); `available=False` imports a node the server cannot reach.
    The server numbers test nodes from 900000 up and forgets them on restart.
    """
    dump = node_dump(name)
    dump["data"]["node"]["attributes"].update(attributes)
    dump["data"]["node"]["available"] = available
    before = {node["node_id"] for node in await server_command(url, "get_nodes")}
    await server_command(url, "import_test_node", dump=json.dumps(dump))
    after = {node["node_id"] for node in await server_command(url, "get_nodes")}
    (new,) = after - before
    return int(new)


async def import_with_id(url: str, name: str, node_id: int, **changes: Any) -> None:
    """
    Import a node dump until the server hands out `node_id` again.

    A restarted server forgets its test nodes and numbers new ones from 900000,
    so the entry's node id comes back only by importing up to it.
    """
    ids = {node["node_id"] for node in await server_command(url, "get_nodes")}
    while node_id not in ids:
        assert not ids or max(ids) < node_id, "the server skipped the node id"
        ids.add(await import_test_node(url, name, **changes))


async def server_fabric(url: str) -> int:
    """Return the server's compressed fabric id (part of every unique id)."""
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        info = await ws.receive_json()
    return int(info["compressed_fabric_id"])


@contextlib.asynccontextmanager
async def fake_version_server(
    *,
    schema_version: int,
    min_supported_schema_version: int,
    port: int | None = None,
    commission_node: dict[str, Any] | None = None,
    close_on_listen: bool = False,
    connections: list[None] | None = None,
) -> AsyncIterator[str]:
    """
    Serve a websocket that speaks just enough of the Matter server's protocol.

    It sends a server_info with the given schema, answers start_listening with
    no nodes, and commissioning with `commission_node`. For what a real
    python-matter-server cannot be made to do: report another schema, or
    commission a device without an OnOff cluster (the rig has none), or hang
    up before sending its nodes (`close_on_listen`). Each connection appends
    to `connections`, for a test that counts the client's attempts. It is a
    real socket; nothing of the integration is mocked.
    """

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        if connections is not None:
            connections.append(None)
        await ws.send_json(
            {
                "fabric_id": 1,
                "compressed_fabric_id": 0x1234,
                "schema_version": schema_version,
                "min_supported_schema_version": min_supported_schema_version,
                "sdk_version": "fake",
                "wifi_credentials_set": False,
                "thread_credentials_set": False,
                "bluetooth_enabled": False,
            }
        )
        with contextlib.suppress(asyncio.CancelledError):
            async for msg in ws:
                command = json.loads(msg.data)
                if close_on_listen and command["command"] == "start_listening":
                    await ws.close()
                    break
                reply: dict[str, Any] = {"message_id": command["message_id"]}
                if command["command"] == "start_listening":
                    reply["result"] = []
                elif command["command"].startswith("commission") and commission_node:
                    reply["result"] = commission_node
                else:
                    reply |= {"error_code": 0, "details": "not offered by the fake server"}
                await ws.send_json(reply)
        return ws

    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = port or free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        await runner.cleanup()


async def wait_for(
    predicate: Callable[[], object], limit: float = 60.0, interval: float = 0.005
) -> float:
    """
    Wait until predicate() is true; return the seconds it took (fails past `limit`).

    For a condition a user would see (a state, an issue, a connection); give
    `limit` room enough for a machine twice as slow: the poll ends as soon as
    the condition holds, so a generous limit costs nothing when it passes.
    `predicate` may be a coroutine function (a question to a server).
    """
    loop = asyncio.get_running_loop()
    began = loop.time()

    async def holds() -> bool:
        answer = predicate()
        return bool(await answer if inspect.isawaitable(answer) else answer)

    async with asyncio.timeout(limit):
        # The test watches from outside, as a user would; the integration itself never polls.
        while not await holds():  # noqa: ASYNC110
            await asyncio.sleep(interval)
    return loop.time() - began
