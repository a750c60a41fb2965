"""
Runtime data of a config entry.

Minimal version written with the Matter link (issue 5): only `relay`. The
adaptor engineer extends it with `adaptor: AdaptorCoordinator` and owns this
file from here on.
"""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from .relay import RelayLink


@dataclass(kw_only=True)
class NoNeutralRuntimeData:
    """Everything a loaded entry holds."""

    relay: RelayLink


type NoNeutralConfigEntry = ConfigEntry[NoNeutralRuntimeData]
