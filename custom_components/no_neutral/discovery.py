"""
What discovery reads: Matter operational mDNS names and HA's Matter config entries.

A node commissioned onto a fabric advertises `_matter._tcp.local.` with the
instance name `<compressed fabric id>-<node id>` (16 upper-case hex digits
each), the same pair our unique id is made of; the Matter server that holds
that fabric is the one HA's Matter integration (domain `matter`) is set up
with, and its entry keeps the server's URL in `data["url"]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from .const import CONF_ENTITY, CONF_URL, DOMAIN
from .relay import MATTER_DOMAIN, matter_device_id

_OPERATIONAL_NAME: Final = re.compile(
    r"^(?P<fabric>[0-9A-F]{16})-(?P<node>[0-9A-F]{16})\._matter\._tcp\.local\.?$", re.IGNORECASE
)


@dataclass(frozen=True, kw_only=True)
class OperationalName:
    """The fabric and node an operational instance name stands for."""

    compressed_fabric_id: int
    node_id: int

    @property
    def unique_id(self) -> str:
        """Return the unique id an entry following this node has."""
        return matter_device_id(self.compressed_fabric_id, self.node_id)

    @property
    def matter_identifier_prefix(self) -> str:
        """Return how HA's Matter integration's device identifiers for this node begin."""
        return f"deviceid_{self.compressed_fabric_id:016X}-{self.node_id:016X}-"


def operational_name(name: str) -> OperationalName | None:
    """Read an operational instance name; None for any other name."""
    if (match := _OPERATIONAL_NAME.match(name)) is None:
        return None
    return OperationalName(
        compressed_fabric_id=int(match["fabric"], 16), node_id=int(match["node"], 16)
    )


def matter_server_urls(hass: HomeAssistant) -> list[str]:
    """Return the server URLs of HA's Matter entries: loaded entries first, disabled ones never."""
    entries = [
        entry
        for entry in hass.config_entries.async_entries(MATTER_DOMAIN, include_disabled=False)
        if isinstance(entry.data.get(CONF_URL), str)
    ]
    entries.sort(key=lambda entry: entry.state is not ConfigEntryState.LOADED)
    return list(dict.fromkeys(str(entry.data[CONF_URL]) for entry in entries))


def followed_by_companion(hass: HomeAssistant, name: OperationalName) -> bool:
    """
    Return whether a companion entry already follows this node through HA's Matter entity.

    Such an entry follows the relay's own switch or light (made by HA's Matter
    integration), whose device carries the node in its identifiers; offering the
    node again would make a second adaptor for the same lamp.
    """
    entities = er.async_get(hass)
    devices = dr.async_get(hass)
    for entry in hass.config_entries.async_entries(DOMAIN):
        if not isinstance(reference := entry.data.get(CONF_ENTITY), str):
            continue
        found = entities.async_get(reference)
        if found is None or found.device_id is None:
            continue
        device = devices.async_get(found.device_id)
        if device is not None and any(
            domain == MATTER_DOMAIN and ident.startswith(name.matter_identifier_prefix)
            for domain, ident in device.identifiers
        ):
            return True
    return False
