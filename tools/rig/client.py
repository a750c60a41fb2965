"""
Short conversations with a running server through the real Matter client.

Fixtures and scripts use these to prepare a server (commission the virtual
relay, list or remove nodes) before the code under test connects. Each runs
its own event loop in a worker thread (`run_sync`), so a fixture may call it
while a test's loop exists, and it leaves no task or timer behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from matter_server.client import MatterClient


@asynccontextmanager
async def connected_client(url: str) -> AsyncIterator[MatterClient]:
    """Yield a MatterClient that is listening (without it, commands hang)."""
    async with aiohttp.ClientSession() as session:
        client = MatterClient(url, session)
        await client.connect()
        ready = asyncio.Event()
        listener = asyncio.create_task(client.start_listening(ready))
        try:
            ready_wait = asyncio.create_task(ready.wait())
            done, _ = await asyncio.wait(
                {ready_wait, listener}, return_when=asyncio.FIRST_COMPLETED
            )
            if listener in done:
                ready_wait.cancel()
                listener.result()  # raises why it stopped
            yield client
        finally:
            await client.disconnect()
            listener.cancel()
            # Closing anyway: how the listener ended does not matter here.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener


async def commission(
    url: str,
    *,
    code: str | None = None,
    pin: int | None = None,
    ip: str | None = None,
    timeout: float = 120,
) -> int:
    """Commission a device by pairing code, or by PIN and IP address; return its node id."""
    async with connected_client(url) as client:
        if code is not None:
            job = client.commission_with_code(code, network_only=True)
        else:
            if pin is None:
                msg = "commission needs a code, or a pin (and an ip)"
                raise ValueError(msg)
            job = client.commission_on_network(pin, ip)
        node = await asyncio.wait_for(job, timeout)
        return int(node.node_id)


async def node_ids(url: str) -> list[int]:
    """Return the ids of the nodes the server knows."""
    async with connected_client(url) as client:
        return [node.node_id for node in client.get_nodes()]


async def remove_node(url: str, node_id: int) -> None:
    """Remove a node from the server's fabric (the device leaves it too)."""
    async with connected_client(url) as client:
        await client.remove_node(node_id)


def run_sync[T](make: Callable[[], Coroutine[Any, Any, T]], timeout: float = 180) -> T:
    """Run a coroutine on a fresh event loop in a worker thread; return its result."""
    outcome: list[Any] = []

    def work() -> None:
        try:
            outcome.append(asyncio.run(asyncio.wait_for(make(), timeout)))
        except BaseException as err:  # noqa: BLE001 - handed to the caller
            outcome.append(err)

    thread = threading.Thread(target=work, name="rig-client")
    thread.start()
    thread.join()
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result  # type: ignore[no-any-return]
