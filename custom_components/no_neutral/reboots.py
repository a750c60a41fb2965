"""
The relay's reboots, from its own GeneralDiagnostics: counted, judged, kept.

The relay's supply runs through the lamp circuit, so its reboots are evidence
of the adaptor: a brown-out reset (or a power-on one, a dip deep enough to
restart it cold) twice within a day raises the relay_brown_outs warning.
What that needs across restarts (the count last seen, the recent supply
resets) is written with the history (history.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util

from .circuit.ageing import HistoryError
from .const import DOMAIN, LOGGER
from .data import NoNeutralConfigEntry, adaptor_identifier

# Matter's BootReasonEnum (0/51/4) in its order: the enum sensor's states.
BOOT_REASONS: Final = (
    "unspecified",
    "power_on_reboot",
    "brown_out_reset",
    "software_watchdog_reset",
    "hardware_watchdog_reset",
    "software_update_completed",
    "software_reset",
)
# The resets a dip of the relay's supply causes.
SUPPLY_RESETS: Final = frozenset({"power_on_reboot", "brown_out_reset"})
# This many supply resets within the window: a warning, not bad luck.
REPEAT_COUNT: Final = 2
REPEAT_WINDOW: Final = timedelta(hours=24)

# The event entity's type and the device trigger's, and the bus event behind
# the trigger: {device_id, entry_id, type, boot_reason, reboot_count}.
RELAY_REBOOTED: Final = "relay_rebooted"
REBOOT_EVENT: Final = f"{DOMAIN}_relay_rebooted"
ATTR_BOOT_REASON: Final = "boot_reason"
ATTR_REBOOT_COUNT: Final = "reboot_count"


def boot_reason_name(value: int | None) -> str | None:
    """Return the enum sensor's state for a BootReason value (unknown values: None)."""
    if value is None or not 0 <= value < len(BOOT_REASONS):
        return None
    return BOOT_REASONS[value]


@callback
def async_fire_reboot_event(
    hass: HomeAssistant, entry: NoNeutralConfigEntry, reason: str | None, count: int
) -> None:
    """Fire the bus event behind the "relay rebooted" device trigger."""
    device = dr.async_get(hass).async_get_device_by_identifier(
        adaptor_identifier(entry), entry.entry_id
    )
    LOGGER.debug("%s: %s (%s)", entry.title, RELAY_REBOOTED, reason)
    hass.bus.async_fire(
        REBOOT_EVENT,
        {
            "device_id": device.id if device else None,
            "entry_id": entry.entry_id,
            "type": RELAY_REBOOTED,
            ATTR_BOOT_REASON: reason,
            ATTR_REBOOT_COUNT: count,
        },
    )


@dataclass(kw_only=True)
class RebootLog:
    """The relay's reboot count last seen and its recent supply resets."""

    count: int | None = None
    supply_resets: list[datetime] = field(default_factory=list)

    def rebooted(self, count: int | None) -> bool:
        """
        Take the relay's RebootCount; return whether it went up (a reboot).

        The first count seen is the starting point. A lower count is a relay
        reset to factory or replaced: the new starting point, no reboot.
        """
        if count is None or count == self.count:
            return False
        previous, self.count = self.count, count
        return previous is not None and count > previous

    def record(self, reason: str | None, now: datetime) -> None:
        """Keep a reboot's time if a supply dip caused it."""
        if reason in SUPPLY_RESETS:
            self.supply_resets.append(now)

    def repeated(self, now: datetime) -> bool:
        """Return whether supply resets repeat (forgetting those out of the window)."""
        self.supply_resets = [t for t in self.supply_resets if now - t < REPEAT_WINDOW]
        return len(self.supply_resets) >= REPEAT_COUNT

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form, written with the history."""
        return {
            "count": self.count,
            "supply_resets": [t.isoformat() for t in self.supply_resets],
        }

    @classmethod
    def from_dict(cls, data: object) -> RebootLog:
        """Read the JSON form back (missing: none seen yet); raise HistoryError."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise HistoryError(key="reboots", reason=f"not an object but {type(data).__name__}")
        count = data.get("count")
        if count is not None and (type(count) is not int or count < 0):
            raise HistoryError(key="reboots.count", reason=f"not a count: {count!r}")
        resets = data.get("supply_resets", [])
        if not isinstance(resets, list):
            raise HistoryError(key="reboots.supply_resets", reason="must be a list")
        times: list[datetime] = []
        for value in resets:
            moment = dt_util.parse_datetime(value) if isinstance(value, str) else None
            if moment is None or moment.tzinfo is None:
                raise HistoryError(
                    key="reboots.supply_resets", reason=f"not a time with its zone: {value!r}"
                )
            times.append(moment)
        return cls(count=count, supply_resets=times)
