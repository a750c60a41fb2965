"""The No-Neutral Adaptor integration."""

from __future__ import annotations

import asyncio
import sys
from functools import partial
from typing import TYPE_CHECKING, Any

from .const import CONF_ENTITY, CONF_NODE_ID, CONF_URL, DOMAIN

# `python -m custom_components.no_neutral.circuit` imports this package first and
# must run where only numpy is installed (docs/model.md). Home Assistant has
# always imported itself before it loads an integration; a plain command has
# not, and skips Home Assistant and the modules built on it (3-5 s of imports
# even where it is installed). The definitions stay at the top level, where
# hassfest reads them; postponed annotations are never evaluated.
_HOME_ASSISTANT = "homeassistant" in sys.modules
if TYPE_CHECKING or _HOME_ASSISTANT:
    from homeassistant.config_entries import ConfigEntryState
    from homeassistant.const import Platform
    from homeassistant.core import HomeAssistant
    from homeassistant.exceptions import ConfigEntryNotReady
    from homeassistant.helpers import config_validation as cv
    from homeassistant.helpers import device_registry as dr
    from homeassistant.helpers.typing import ConfigType
    from matter_server.client.exceptions import InvalidServerVersion, MatterClientException
    from matter_server.common.errors import MatterError, NodeNotExists

    from .binary_sensor import async_migrate_unique_ids
    from .coordinator import AdaptorCoordinator
    from .data import NoNeutralConfigEntry, NoNeutralRuntimeData, Relay, adaptor_identifier
    from .entity import async_migrate_adaptor_identity
    from .follower import async_delete_entity_issue, async_follow_entity
    from .helpers import redact_url
    from .history import async_remove_history
    from .relay import (
        RelayLink,
        async_create_node_issue,
        async_delete_node_issue,
        async_follow_relay,
        relay_identifier,
    )
    from .server import async_acquire_server, async_release_server
    from .services import async_setup_services

    PLATFORMS: list[Platform] = [
        Platform.BINARY_SENSOR,
        Platform.BUTTON,
        Platform.EVENT,
        Platform.IMAGE,
        Platform.LIGHT,
        Platform.SENSOR,
    ]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN) if _HOME_ASSISTANT else None


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:  # noqa: ARG001
    """Register the integration's actions."""
    async_setup_services(hass)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: NoNeutralConfigEntry) -> bool:
    """Bring an entry of an older version up to this one; refuse a downgrade."""
    if entry.version > 1:
        # Made by a newer major version: its data may mean something else.
        return False
    if entry.minor_version < 2:  # noqa: PLR2004
        await async_migrate_unique_ids(hass, entry)
        hass.config_entries.async_update_entry(entry, minor_version=2)
    if entry.minor_version < 3:  # noqa: PLR2004
        await async_migrate_adaptor_identity(hass, entry)
        hass.config_entries.async_update_entry(entry, minor_version=3)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: NoNeutralConfigEntry) -> bool:
    """Link the relay (a Matter node or a followed entity), then set up the platforms."""
    relay: Relay
    if CONF_ENTITY in entry.data:
        # Companion mode: the relay's own entity stays the control (no light).
        relay = async_follow_entity(hass, entry)
    else:
        relay = await _async_link_matter_relay(hass, entry)
    adaptor = AdaptorCoordinator(hass, entry, relay)
    await adaptor.async_config_entry_first_refresh()
    entry.runtime_data = NoNeutralRuntimeData(relay=relay, adaptor=adaptor)
    entry.async_on_unload(
        entry.add_update_listener(partial(_async_entry_updated, loaded_with=dict(entry.data)))
    )
    # One platform at a time: HA starts every forwarded platform eagerly, inside
    # this very loop step; all six at once held the loop for about 20 ms.
    for platform in _platforms(entry):
        await asyncio.sleep(0)
        await hass.config_entries.async_forward_entry_setups(entry, [platform])
    return True


def _platforms(entry: NoNeutralConfigEntry) -> list[Platform]:
    """Return the entry's platforms: a companion entry makes no light."""
    if CONF_ENTITY in entry.data:
        return [platform for platform in PLATFORMS if platform is not Platform.LIGHT]
    return PLATFORMS


async def _async_link_matter_relay(hass: HomeAssistant, entry: NoNeutralConfigEntry) -> RelayLink:
    """Link the entry's Matter node through the shared server and register its device."""
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
        async_create_node_issue(hass, entry, server.safe_url)
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="node_not_found",
            translation_placeholders={"node_id": str(entry.data[CONF_NODE_ID]), "url": safe_url},
        ) from err
    # Unloading runs last-in first-out: the relay stops before the link is released.
    entry.async_on_unload(partial(async_release_server, hass, server))
    async_follow_relay(hass, entry, relay)
    _async_remove_stale_devices(hass, entry, relay)
    return relay


async def _async_entry_updated(
    hass: HomeAssistant, entry: NoNeutralConfigEntry, *, loaded_with: dict[str, Any]
) -> None:
    """Apply new options in place; a new server or relay (Reconfigure) reloads the entry."""
    if entry.data != loaded_with:
        hass.config_entries.async_schedule_reload(entry.entry_id)
    elif entry.state is ConfigEntryState.LOADED:
        # A reload would turn every entity unavailable and start afresh. A
        # tracked task: unloading the entry waits for it.
        await entry.async_create_task(
            hass, entry.runtime_data.adaptor.async_apply_options(), f"{DOMAIN} options"
        )


def _async_remove_stale_devices(
    hass: HomeAssistant, entry: NoNeutralConfigEntry, relay: RelayLink
) -> None:
    """
    Remove the entry's devices other than the adaptor's and the followed relay's.

    After Reconfigure onto another relay (or another node of a relay paired
    again that the registry cannot tell is the same), the previous relay's
    device would stay behind, empty.
    """
    devices = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(devices, entry.entry_id):
        if device.id != relay.device_id and adaptor_identifier(entry) not in device.identifiers:
            devices.async_remove_device(device.id)


async def async_remove_config_entry_device(
    hass: HomeAssistant,  # noqa: ARG001
    entry: NoNeutralConfigEntry,
    device: dr.DeviceEntry,
) -> bool:
    """Let the user delete a relay's device the entry no longer follows, never the two in use."""
    followed = {adaptor_identifier(entry), relay_identifier(str(entry.unique_id))}
    if device.identifiers & followed:
        return False
    # A loaded entry knows its relay's device even where the identifiers differ.
    return (
        entry.state is not ConfigEntryState.LOADED
        or device.id != entry.runtime_data.relay.device_id
    )


async def async_unload_entry(hass: HomeAssistant, entry: NoNeutralConfigEntry) -> bool:
    """Unload the platforms; the relay link ends through async_on_unload."""
    return await hass.config_entries.async_unload_platforms(entry, _platforms(entry))


async def async_remove_entry(hass: HomeAssistant, entry: NoNeutralConfigEntry) -> None:
    """Forget the removed adaptor's ageing history (and a "relay left" issue of its retries)."""
    async_delete_node_issue(hass, entry.entry_id)
    async_delete_entity_issue(hass, entry.entry_id)
    await async_remove_history(hass, entry.entry_id)
