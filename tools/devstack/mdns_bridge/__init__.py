"""
Develop stack only: hand the rig's mDNS announcements to Home Assistant's discovery.

The virtual relay advertises inside the rig's network namespaces, which Home
Assistant's zeroconf (on the machine's own interfaces) cannot see, and the rig
must send no mDNS out. tools/devstack/discovered.py watches the relay's real
advertisements there (tools/rig/mdns.py) and calls the `devstack_mdns.announce`
action with each; this starts (or, for "Removed", dismisses) the discovery
flows of the integrations whose manifest matches the service type, as HA's
zeroconf integration does for what it sees itself. Never shipped: scripts/develop
links it into its own config folder.
"""

from __future__ import annotations

from ipaddress import ip_address

import voluptuous as vol
from homeassistant import config_entries
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import discovery_flow
from homeassistant.helpers.discovery_flow import DiscoveryKey
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from homeassistant.helpers.typing import ConfigType
from homeassistant.loader import async_get_zeroconf

DOMAIN = "devstack_mdns"
CONFIG_SCHEMA = cv.empty_config_schema(DOMAIN)

ANNOUNCE_SCHEMA = vol.Schema(
    {
        vol.Required("event"): vol.In(("Added", "Updated", "Removed")),
        vol.Required("type"): str,
        vol.Required("name"): str,
        vol.Optional("server"): vol.Any(str, None),
        vol.Optional("port"): vol.Any(int, None),
        vol.Optional("addresses"): [str],
        vol.Optional("properties"): vol.Any(dict, None),
    }
)


async def async_setup(hass: HomeAssistant, _config: ConfigType) -> bool:
    """Register the action."""

    async def announce(call: ServiceCall) -> None:
        seen = call.data
        if seen["event"] == "Removed":
            hass.config_entries.flow.async_dismiss_discovery_flows(
                ZeroconfServiceInfo, lambda info: bool(info.name == seen["name"])
            )
            return
        # The link-local ones carry their interface's scope, which means nothing here.
        addresses = [ip_address(a) for a in seen.get("addresses", []) if "%" not in a]
        info = ZeroconfServiceInfo(
            ip_address=addresses[0],
            ip_addresses=addresses,
            port=seen.get("port"),
            hostname=seen.get("server") or "",
            type=seen["type"],
            name=seen["name"],
            properties={k: v for k, v in (seen.get("properties") or {}).items() if k},
        )
        key = DiscoveryKey(domain="zeroconf", key=(info.type, info.name), version=1)
        for matcher in (await async_get_zeroconf(hass)).get(info.type, []):
            if len(matcher) == 1:
                discovery_flow.async_create_flow(
                    hass,
                    matcher["domain"],
                    {"source": config_entries.SOURCE_ZEROCONF},
                    info,
                    discovery_key=key,
                )

    hass.services.async_register(DOMAIN, "announce", announce, schema=ANNOUNCE_SCHEMA)
    return True
