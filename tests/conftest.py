"""Fixtures shared by every test."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from unittest.mock import patch

import pytest
import pytest_asyncio
from aiohttp import ClientWebSocketResponse
from aiohttp.resolver import AsyncResolver
from homeassistant.util.async_ import get_scheduled_timer_handles

# Imported before the hass fixture starts, so that Home Assistant's loader finds
# this project's custom_components rather than the harness's own.
import custom_components.no_neutral  # noqa: F401

pytest_plugins = ["tests.rig", "tests.adaptor_common"]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(request: pytest.FixtureRequest) -> None:
    """Let Home Assistant load integrations from custom_components.

    Only tests that run Home Assistant get it: the circuit tests need no hass.
    """
    if "hass" in request.fixturenames:
        request.getfixturevalue("enable_custom_integrations")


@pytest.fixture(autouse=True)
def fresh_dns_resolver() -> Iterator[None]:
    """
    Give each test's Home Assistant its own DNS resolver.

    The harness hands one session-wide resolver to every hass, and the first
    hass that stops closes it: any later test that connects to a host name
    (not an IP literal), such as the URL fuzz with "localhost", then fails
    inside aiohttp with "'NoneType' object has no attribute 'getaddrinfo'".
    """

    def make_resolver(_hass: object) -> AsyncResolver:
        resolver = AsyncResolver()
        resolver.real_close = resolver.close  # type: ignore[attr-defined]
        return resolver

    with patch(
        "homeassistant.helpers.aiohttp_client._async_make_resolver", side_effect=make_resolver
    ):
        yield


@pytest.fixture(autouse=True, scope="session")
def no_heartbeat_on_closing_websockets() -> Iterator[None]:
    """
    Keep aiohttp from arming a heartbeat on a websocket that is closing or closed.

    aiohttp 3.14 restarts a websocket's heartbeat when data arrives, and the
    server's answer to the client's close frame arrives after close() has
    cancelled it: a timer is left on a closing or closed socket, or not, as
    the timing falls (the Matter client's link, ours and the rig's). Home
    Assistant's harness runs the loop once more at teardown (to shut its
    executor down) before it looks for lingering timers, so a late answer
    re-armed it even after a per-test clean-up (seen with both cores busy).
    For the whole session, so that the harness's own teardown is covered; an
    open socket keeps its heartbeat, and any other timer left behind, one of
    this integration's above all, still fails the test.
    """
    reset = ClientWebSocketResponse._reset_heartbeat

    def reset_unless_closing(self: ClientWebSocketResponse) -> None:
        if self._closing or self._closed:
            return
        reset(self)

    with patch.object(ClientWebSocketResponse, "_reset_heartbeat", reset_unless_closing):
        yield


@pytest_asyncio.fixture(autouse=True)
def closed_websocket_heartbeats() -> Iterator[None]:
    """Cancel the heartbeat timers of websockets closed before their answer came (see above)."""
    yield
    loop = asyncio.get_event_loop()
    # Run what is already due first: the restart is a call_soon that arms the timer.
    loop.run_until_complete(asyncio.sleep(0))
    for handle in get_scheduled_timer_handles(loop):
        owner = getattr(handle._callback, "__self__", None)
        if isinstance(owner, ClientWebSocketResponse):
            handle.cancel()
