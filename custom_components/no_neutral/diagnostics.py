"""Diagnostics: the entry's options, the latest figures and the adaptor's history."""

from __future__ import annotations

from typing import Any, Final

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_URL
from .data import NoNeutralConfigEntry
from .helpers import redact_url

# Pairing codes and PINs never belong in a shared file.
TO_REDACT: Final = {"code", "pairing_code", "manual_code", "qr_code", "setup_pin_code", "pin"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant,  # noqa: ARG001
    entry: NoNeutralConfigEntry,
) -> dict[str, Any]:
    """Return what a maintainer needs to reproduce the entry's figures."""
    adaptor = entry.runtime_data.adaptor
    relay = entry.runtime_data.relay
    data = adaptor.data
    entry_data = dict(entry.data)
    if CONF_URL in entry_data:  # a companion entry follows an entity, no server
        entry_data[CONF_URL] = redact_url(entry_data[CONF_URL], marker=REDACTED)
    return async_redact_data(
        {
            "entry": {"data": entry_data, "options": dict(entry.options)},
            "relay": relay.diagnostics(),
            "scenario": data.scenario,
            "figures": data.figures,
            "warnings": list(data.warnings),
            "history": adaptor.history.as_dict(),
            "derived": {
                "ambient_c": data.ambient_c,
                "core_temp_c": data.core_temp_c,
                "cap_health_pct": data.cap_health_pct,
                "cap_remaining_life_h": data.cap_remaining_life_h,
                "capacitance_uf": data.capacitance_uf,
                "esr_ohm": data.esr_ohm,
                "fuse_stress_pct": data.fuse_stress_pct,
            },
        },
        TO_REDACT,
    )
