"""
The typed config entry, what a loaded entry holds, and the adaptor's identity.

Low in the import order: every module that takes an entry imports it, and at
run time it imports only const.py of the package (the runtime data's types
are imported for the type checker alone), so relay.py, repairs.py and
history.py, which coordinator.py imports, can take the typed entry too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry

from .const import DOMAIN

if TYPE_CHECKING:
    from .coordinator import AdaptorCoordinator
    from .relay import RelayLink


@dataclass(kw_only=True)
class NoNeutralRuntimeData:
    """Everything a loaded entry holds."""

    relay: RelayLink
    adaptor: AdaptorCoordinator


type NoNeutralConfigEntry = ConfigEntry[NoNeutralRuntimeData]


# The adaptor has no identity of its own: no serial number, no address, nothing
# on the network; it is the part the user described in this entry. The relay's
# node identity (fabric and node id), which keyed it up to entry version 1.2,
# changes whenever the relay is paired again, and Reconfigure moves the entry
# onto the new node: the adaptor, its entities and their history stay. The
# entry's own id is the one identity that lives exactly as long as the
# adaptor (Home Assistant's last resort for a unique id, and the right one here).
def adaptor_identifier(entry: NoNeutralConfigEntry) -> tuple[str, str]:
    """Return the adaptor device's identifier."""
    return (DOMAIN, entry.entry_id)


def adaptor_unique_id(entry: NoNeutralConfigEntry, key: str) -> str:
    """Return the unique id of the adaptor's entity `key`."""
    return f"{entry.entry_id}_{key}"
