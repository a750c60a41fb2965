"""Fixtures shared by every test."""

from __future__ import annotations

from collections.abc import Iterator
from unittest.mock import patch

import pytest
from aiohttp.resolver import AsyncResolver

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
