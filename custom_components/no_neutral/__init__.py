"""The No-Neutral Adaptor integration."""

from __future__ import annotations

import asyncio

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.typing import ConfigType
from matter_server.client.exceptions import InvalidServerVersion, MatterClientException
from matter_server.common.errors import MatterError, NodeNotExists

from .const import CONF_NODE_ID, CONF_URL, DOMAIN
from .coordinator import (
    AdaptorCoordinator,
    NoNeutralConfigEntry,
    NoNeutralRuntimeData,
    async_remove_history,
)
from .helpers import redact_url
from .relay import (
    RelayDeviceInfo,
    RelayLink,
    async_acquire_server,
    async_release_server,
)
from .repairs import issue_id
from .services import async_setup_services

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.IMAGE,
    Platform.LIGHT,
    Platform.SENSOR,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

ISSUE_NODE_REMOVED = "node_removed"

# HA's Matter integration keys its node devices so; sharing these identifiers
# links our relay device to the one it shows for the same node.
MATTER_DOMAIN = "matter"


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:  # noqa: ARG001
    """Register the integration's actions."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: NoNeutralConfigEntry) -> bool:
    """Link the relay, register its device, then set up the platforms."""
    url: str = entry.data[CONF_URL]
    # HA logs a setup-retry reason and shows it in the UI: no credentials in it.
    safe_url = redact_url(url)
    try:
        server = await async_acquire_server(hass, url)
    except InvalidServerVersion as err:
        # async_acquire_server has raised the repair issue.
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="server_version",
            translation_placeholders={"url": safe_url, "error": redact_url(str(err))},
        ) from err
    except (MatterClientException, MatterError, TimeoutError, OSError) as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"url": safe_url},
        ) from err
    try:
        relay = RelayLink(hass, server, entry.data[CONF_NODE_ID])
    except NodeNotExists as err:
        await async_release_server(hass, server)
        # The setup retries, but a node gone from the server seldom comes back alone.
        _async_sync_node_issue(hass, entry, server.safe_url, removed=True)
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="node_not_found",
            translation_placeholders={"node_id": str(entry.data[CONF_NODE_ID]), "url": safe_url},
        ) from err

    async def _release() -> None:
        relay.async_stop()
        ir.async_delete_issue(hass, DOMAIN, issue_id(entry.entry_id, ISSUE_NODE_REMOVED))
        await async_release_server(hass, server)

    entry.async_on_unload(_release)
    relay.async_start()
    _async_sync_node_issue(hass, entry, server.safe_url, removed=False)

    @callback
    def _follow_node_presence() -> None:
        # Unknown while the server is away: leave the issue as it is.
        if server.connected:
            _async_sync_node_issue(hass, entry, server.safe_url, removed=relay.removed)

    entry.async_on_unload(relay.async_add_listener(_follow_node_presence))
    relay.device_id = _async_register_relay_device(hass, entry, relay.device_info)

    @callback
    def _follow_device_info() -> None:
        # Firmware updates and renames arrive as node updates; keep the registry current.
        if relay.device_info != registered[0]:
            registered[0] = relay.device_info
            _async_register_relay_device(hass, entry, relay.device_info)

    registered = [relay.device_info]
    entry.async_on_unload(relay.async_add_listener(_follow_device_info))

    adaptor = AdaptorCoordinator(hass, entry, relay)
    await adaptor.async_config_entry_first_refresh()
    entry.runtime_data = NoNeutralRuntimeData(relay=relay, adaptor=adaptor)
    # One platform at a time: HA starts every forwarded platform eagerly, inside
    # this very loop step; all six at once held the loop for about 20 ms.
    for platform in PLATFORMS:
        await asyncio.sleep(0)
        await hass.config_entries.async_forward_entry_setups(entry, [platform])
    return True


@callback
def _async_sync_node_issue(
    hass: HomeAssistant, entry: NoNeutralConfigEntry, safe_url: str, *, removed: bool
) -> None:
    """Raise the "relay left the server" issue, or clear it once the node is back."""
    if not removed:
        ir.async_delete_issue(hass, DOMAIN, issue_id(entry.entry_id, ISSUE_NODE_REMOVED))
        return
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


def relay_identifiers(info: RelayDeviceInfo) -> set[tuple[str, str]]:
    """Return the relay device's identifiers, HA's Matter integration's among them."""
    identifiers = {
        (DOMAIN, f"relay_{info.unique_id}"),
        (MATTER_DOMAIN, f"deviceid_{info.matter_device_id}-MatterNodeDevice"),
    }
    # The Matter integration skips serial numbers that say "test"; do the same.
    if info.serial_number and "test" not in info.serial_number.lower():
        identifiers.add((MATTER_DOMAIN, f"serial_{info.serial_number}"))
    return identifiers


@callback
def _async_register_relay_device(
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


async def async_unload_entry(hass: HomeAssistant, entry: NoNeutralConfigEntry) -> bool:
    """Unload the platforms; the relay link ends through async_on_unload."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: NoNeutralConfigEntry) -> None:
    """Forget the removed adaptor's ageing history (and a "relay left" issue of its retries)."""
    ir.async_delete_issue(hass, DOMAIN, issue_id(entry.entry_id, ISSUE_NODE_REMOVED))
    await async_remove_history(hass, entry.entry_id)
