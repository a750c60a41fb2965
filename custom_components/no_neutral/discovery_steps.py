"""
Discovery's way in: a node of HA's Matter server, announcing itself over mDNS.

zeroconf -> adaptor (config_flow.py), the server's URL taken from HA's Matter entry.
"""

from __future__ import annotations

from typing import Final, override

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo

from .const import CONF_URL, DOMAIN
from .discovery import (
    OperationalName,
    followed_by_companion,
    matter_server_urls,
    operational_name,
)
from .flow_steps import StepsBase
from .matter_steps import NodeChoice, ServerError, async_read_nodes

ABORT_NOT_MATTER_NODE: Final = "not_matter_node"
ABORT_NO_MATTER_ENTRY: Final = "no_matter_entry"
ABORT_OTHER_FABRIC: Final = "other_fabric"
ABORT_NOT_A_RELAY_NODE: Final = "not_a_relay_node"


class DiscoverySteps(StepsBase):
    """Discovery's step (mixed into the config flow)."""

    @override
    async def async_step_zeroconf(self, discovery_info: ZeroconfServiceInfo) -> ConfigFlowResult:
        """
        Offer a node of HA's Matter server, seen by its operational mDNS advertisement.

        The instance name carries the fabric and the node; the server is the
        one of HA's Matter entry whose fabric it is. A node followed already
        is not offered; its entry takes the Matter entry's URL if the server moved.
        """
        name = operational_name(discovery_info.name)
        if name is None:
            return self.async_abort(reason=ABORT_NOT_MATTER_NODE)
        await self.async_set_unique_id(name.unique_id)
        if followed_by_companion(self.hass, name):
            return self.async_abort(reason="already_configured")
        urls = matter_server_urls(self.hass)
        followed = self.hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, name.unique_id)
        if not urls or (followed is not None and followed.data.get(CONF_URL) in urls):
            self._abort_if_unique_id_configured()
            return self.async_abort(reason=ABORT_NO_MATTER_ENTRY)
        found = await self._async_find_node(name, urls)
        if isinstance(found, str):
            self._abort_if_unique_id_configured()
            return self.async_abort(reason=found)
        self._url, choices = found
        # The entry's update listener reloads it onto the new URL.
        self._abort_if_unique_id_configured(updates={CONF_URL: self._url}, reload_on_update=False)
        chosen = next((choice for choice in choices if choice.node_id == name.node_id), None)
        if chosen is None:
            return self.async_abort(reason=ABORT_NOT_A_RELAY_NODE)
        self._chosen = chosen
        self.context["title_placeholders"] = {"name": chosen.info.name}
        return await self.async_step_adaptor()

    async def _async_find_node(
        self, name: OperationalName, urls: list[str]
    ) -> tuple[str, list[NodeChoice]] | str:
        """Return the URL and relays of the server holding the node's fabric, or an abort reason."""
        reason = ABORT_OTHER_FABRIC
        for url in urls:
            try:
                fabric, choices = await async_read_nodes(self.hass, url)
            except ServerError as err:
                reason = err.key
                continue
            if fabric == name.compressed_fabric_id:
                return url, choices
        return reason
