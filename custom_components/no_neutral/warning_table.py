"""
The adaptor's warnings: one row per code, everything the platforms show of it.

The code is the vocabulary everywhere: the simulator's figures and the
history name a warning by it, and it is the key and translation key of its
binary sensor, its repair issue and its trigger and event types. Binary
sensors, the event entity, device triggers, repairs and the coordinator read
this table; no other module lists warning codes (the simulator's own,
`circuit.WARNING_CODES`, are its contract, and a test holds the two equal).
The relay's own warnings (Source.RELAY) exist only for a relay that reports
its reboots.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.helpers.issue_registry import IssueSeverity

from .const import DOMAIN

# Bus event behind the device triggers: {device_id, entry_id, code, type}.
WARNING_EVENT: Final = f"{DOMAIN}_warning"

RAISED: Final = "raised"
CLEARED: Final = "cleared"


class Source(StrEnum):
    """What raises a warning."""

    SIMULATION = "simulation"  # one simulation's figures
    HISTORY = "history"  # the adaptor's wear and stress over time
    RELAY = "relay"  # what the relay itself reports (its reboots)


class Part(StrEnum):
    """A part whose replacement fixes a warning (and starts its history again)."""

    FUSE = "fuse"
    CAPACITOR = "capacitor"


@dataclass(frozen=True, kw_only=True)
class AdaptorWarning:
    """One warning of the adaptor."""

    code: str
    source: Source
    # Of its repair issue: ERROR where something can burn or a socket stays live.
    severity: IssueSeverity
    device_class: BinarySensorDeviceClass = BinarySensorDeviceClass.PROBLEM
    # The repair issue is fixable by confirming this part's replacement.
    part: Part | None = None
    # The lamp types it can happen with; None: every type.
    lamp_types: frozenset[str] | None = None
    # Its binary sensor's key (unique id suffix) before entry version 1.2.
    former_key: str | None = None

    def trigger_type(self, change: str) -> str:
        """Return its device trigger and event type for a change (RAISED or CLEARED)."""
        return f"{self.code}_{change}"

    @property
    def trigger_types(self) -> tuple[str, str]:
        """Return its device trigger and event types: raised, then cleared."""
        return (self.trigger_type(RAISED), self.trigger_type(CLEARED))

    def applies_to(self, lamp_type: str) -> bool:
        """Return whether it can happen with this lamp type."""
        return self.lamp_types is None or lamp_type in self.lamp_types


_ERROR = IssueSeverity.ERROR
_WARNING = IssueSeverity.WARNING
# Ghosting and dropout are what a switch-mode LED driver does.
_LED = frozenset({"led"})

# In the simulator's order, then the history's: the order of every list of
# active warnings (entity attributes, the stored history).
WARNINGS: Final[tuple[AdaptorWarning, ...]] = (
    AdaptorWarning(
        code="no_load", source=Source.SIMULATION, severity=_ERROR, former_key="no_load_risk"
    ),
    AdaptorWarning(code="incompatible_lamp", source=Source.SIMULATION, severity=_WARNING),
    AdaptorWarning(
        code="led_dropout",
        source=Source.SIMULATION,
        severity=_WARNING,
        lamp_types=_LED,
        former_key="flicker",
    ),
    AdaptorWarning(
        code="ghost_flash",
        source=Source.SIMULATION,
        severity=_WARNING,
        lamp_types=_LED,
        former_key="ghost_flashing",
    ),
    AdaptorWarning(code="fuse_overstress", source=Source.SIMULATION, severity=_ERROR),
    AdaptorWarning(
        code="cap_overvoltage",
        source=Source.SIMULATION,
        severity=_ERROR,
        former_key="capacitor_overvoltage",
    ),
    AdaptorWarning(
        code="device_supply_low",
        source=Source.SIMULATION,
        severity=_WARNING,
        former_key="relay_supply_low",
    ),
    AdaptorWarning(
        code="slow_discharge",
        source=Source.SIMULATION,
        severity=_ERROR,
        # On means unsafe: the lamp socket stays live after switching off.
        device_class=BinarySensorDeviceClass.SAFETY,
    ),
    AdaptorWarning(code="short_circuit", source=Source.SIMULATION, severity=_ERROR),
    AdaptorWarning(code="fuse_blows", source=Source.SIMULATION, severity=_ERROR),
    AdaptorWarning(code="fuse_switching", source=Source.HISTORY, severity=_ERROR),
    AdaptorWarning(code="fuse_blown", source=Source.HISTORY, severity=_ERROR, part=Part.FUSE),
    AdaptorWarning(
        code="cap_end_of_life",
        source=Source.HISTORY,
        severity=_WARNING,
        part=Part.CAPACITOR,
        former_key="capacitor_end_of_life",
    ),
    # Core over its rated temperature, or less than a year of life left at
    # the present use: cooler conditions or a better part, before it dies.
    AdaptorWarning(code="cap_fast_wear", source=Source.HISTORY, severity=_WARNING),
    # Brown-out or power-on resets of the relay repeat (reboots.py): its supply,
    # which comes through the adaptor, dips. Only with a relay that reports them.
    AdaptorWarning(code="relay_brown_outs", source=Source.RELAY, severity=_WARNING),
)
BY_CODE: Final[dict[str, AdaptorWarning]] = {warning.code: warning for warning in WARNINGS}
CODES: Final[tuple[str, ...]] = tuple(BY_CODE)
TRIGGER_TYPES: Final[tuple[str, ...]] = tuple(
    trigger_type for warning in WARNINGS for trigger_type in warning.trigger_types
)


def in_order(active: Collection[str]) -> tuple[str, ...]:
    """Return active warning codes in the table's order; an unknown code is a bug."""
    if unknown := set(active) - BY_CODE.keys():
        msg = f"Unknown warning codes: {sorted(unknown)}"
        raise ValueError(msg)
    return tuple(code for code in CODES if code in active)


@dataclass(frozen=True, kw_only=True)
class WarningChanges:
    """The active warnings, in order, and what changed since the previous ones."""

    warnings: tuple[str, ...]
    raised: tuple[str, ...]
    cleared: tuple[str, ...]

    @property
    def changed(self) -> bool:
        """Return whether a warning was raised or cleared."""
        return bool(self.raised or self.cleared)


def warning_changes(previous: tuple[str, ...], active: Collection[str]) -> WarningChanges:
    """Return the active warnings and which of them were raised or cleared since `previous`."""
    warnings = in_order(active)
    return WarningChanges(
        warnings=warnings,
        raised=tuple(code for code in warnings if code not in previous),
        cleared=tuple(code for code in previous if code not in warnings),
    )
