"""
Secrets never leave: URL credentials, pairing codes and setup PINs are absent
from diagnostics, from every log line and from every repair issue's text.

The server URL carries credentials (`ws://user:pass@host/ws`, which a server
behind a reverse proxy needs); the real python-matter-server ignores them.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.no_neutral.const import CONF_URL, DOMAIN
from tests.adaptor_common import (  # noqa: F401 (fixture)
    _shared_simulations,
    add_relay_entry,
    import_node,
)
from tests.link_helpers import (
    fake_version_server,
    server_command,
    server_fabric,
    wait_for,
)
from tests.rig import MatterServer
from tools.rig.sockets import free_port

from .common import watch_logs

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled"),
]

USER = "hauser"
PASSWORD = "Pa55-s3cret-word"  # noqa: S105 - the secret the test looks for
SECRETS = (USER, PASSWORD)


def with_credentials(url: str) -> str:
    return url.replace("ws://", f"ws://{USER}:{PASSWORD}@", 1)


def leaks(text: str, secrets: tuple[str, ...] = SECRETS) -> list[str]:
    return [secret for secret in secrets if secret in text]


def issue_texts(hass: HomeAssistant) -> str:
    """Everything an issue of this integration would show: placeholders and data."""
    parts: list[str] = []
    for issue in ir.async_get(hass).issues.values():
        if issue.domain == DOMAIN:
            parts.append(repr(issue.translation_placeholders))
            parts.append(repr(issue.data))
            parts.append(repr(issue.learn_more_url))
    return "\n".join(parts)


async def _entry(hass: HomeAssistant, url: str, node_id: int, unique_id: str) -> MockConfigEntry:
    entry = await add_relay_entry(hass, url, node_id, unique_id=unique_id)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def test_diagnostics_hide_url_credentials(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, matter_server: MatterServer
) -> None:
    node_id = await import_node(matter_server.url, relay_on=True)
    fabric = await server_fabric(matter_server.url)
    entry = await _entry(
        hass, with_credentials(matter_server.url), node_id, f"{fabric:016X}-{node_id:016X}"
    )
    assert entry.state is ConfigEntryState.LOADED
    diagnostics: dict[str, Any] = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert not leaks(repr(diagnostics))
    # Still useful: the host and port stay.
    assert f"127.0.0.1:{matter_server.port}" in diagnostics["entry"]["data"][CONF_URL]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_logs_hide_url_credentials_through_a_server_restart(
    hass: HomeAssistant, matter_server: MatterServer
) -> None:
    node_id = await import_node(matter_server.url, relay_on=True)
    fabric = await server_fabric(matter_server.url)
    with watch_logs(level=logging.DEBUG) as logs:
        entry = await _entry(
            hass, with_credentials(matter_server.url), node_id, f"{fabric:016X}-{node_id:016X}"
        )
        link = entry.runtime_data.relay.server
        await hass.async_add_executor_job(matter_server.stop)
        await wait_for(lambda: not link.connected)
        await hass.async_add_executor_job(matter_server.start)
        await wait_for(lambda: link.connected, limit=40)
        await hass.config_entries.async_unload(entry.entry_id)
    assert not leaks(logs.text()), [line for line in logs.text().splitlines() if leaks(line)][:5]


async def test_setup_retry_reason_hides_url_credentials(hass: HomeAssistant) -> None:
    url = with_credentials(f"ws://127.0.0.1:{free_port()}/ws")
    with watch_logs(level=logging.DEBUG) as logs:
        entry = await _entry(hass, url, 1, "0000000000000000-0000000000000001")
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert not leaks(str(entry.reason))
    assert not leaks(logs.text())


async def test_version_repair_issue_hides_url_credentials(hass: HomeAssistant) -> None:
    async with fake_version_server(schema_version=5, min_supported_schema_version=5) as url:
        entry = await _entry(hass, with_credentials(url), 1, "0000000000000000-0000000000000001")
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert issue_texts(hass), "no issue raised"
    assert not leaks(issue_texts(hass))


async def test_node_removed_issue_hides_url_credentials(
    hass: HomeAssistant, matter_server: MatterServer
) -> None:
    node_id = await import_node(matter_server.url, relay_on=True)
    fabric = await server_fabric(matter_server.url)
    entry = await _entry(
        hass, with_credentials(matter_server.url), node_id, f"{fabric:016X}-{node_id:016X}"
    )
    await server_command(matter_server.url, "remove_node", node_id=node_id)
    await wait_for(lambda: not entry.runtime_data.relay.available)
    await hass.async_block_till_done()
    texts = issue_texts(hass)
    await hass.config_entries.async_unload(entry.entry_id)
    assert f"127.0.0.1:{matter_server.port}" in texts, "no issue naming the server"
    assert not leaks(texts)
