"""
The typed config entry, what a loaded entry holds, and the adaptor's identity.

Low in the import order: every module that takes an entry imports it, and at
run time it imports only const.py of the package (the runtime data's types
are imported for the type checker alone), so relay.py, repairs.py and
history.py, which coordinator.py imports, can take the typed entry too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from homeassistant.config_entries import ConfigEntry

from .const import DOMAIN

if TYPE_CHECKING:
    from homeassistant.core import CALLBACK_TYPE, Context
    from matter_server.common.models import MatterNodeEvent

    from .coordinator import AdaptorCoordinator


class Relay(Protocol):
    """
    What the adaptor needs of the relay it sits behind: its state, nothing to command.

    Two kinds: a Matter node this integration follows itself (relay.RelayLink)
    and a switch or light another integration controls (follower.EntityFollower).
    """

    # The relay's device in the registry (the adaptor's hangs off it), if known.
    device_id: str | None

    @property
    def available(self) -> bool:
        """Return whether the relay's state is known."""
        ...

    @property
    def is_on(self) -> bool | None:
        """Return whether the contact is closed, None when not known."""
        ...

    @property
    def reboot_count(self) -> int | None:
        """Return the relay's own reboot count (None: it reports none)."""
        ...

    @property
    def boot_reason(self) -> int | None:
        """Return Matter's BootReason of the last boot (None: not reported)."""
        ...

    @property
    def switched_by(self) -> Context | None:
        """
        Return the Home Assistant context behind the latest change, if it is known to have one.

        None leaves the judgement to the commands noted (switching.py).
        """
        ...

    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `update` on every change of state or availability."""
        ...

    def async_add_event_listener(self, handler: Callable[[MatterNodeEvent], None]) -> CALLBACK_TYPE:
        """Call `handler` with every Matter event of the relay (none for a followed entity)."""
        ...

    def diagnostics(self) -> dict[str, Any]:
        """Return what diagnostics show of the relay."""
        ...


@dataclass(kw_only=True)
class NoNeutralRuntimeData:
    """Everything a loaded entry holds."""

    relay: Relay
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
