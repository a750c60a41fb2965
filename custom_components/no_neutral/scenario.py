"""The simulator's scenario, built from a config entry's options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .const import SCENARIO_PATHS


def scenario_from_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """
    Return the nested CIRCUIT.md scenario that the flat options describe.

    Options not given are left out, so the simulator's own defaults apply. A
    bleed resistance of None (in the options) means no bleed resistor fitted.
    """
    scenario: dict[str, Any] = {}
    for key, path in SCENARIO_PATHS.items():
        if key in options:
            section, name = path.split(".")
            scenario.setdefault(section, {})[name] = options[key]
    return scenario


def option_for_path(path: str) -> str | None:
    """Return the option key that sets a scenario's dotted path, if any."""
    for key, option_path in SCENARIO_PATHS.items():
        if option_path == path:
            return key
    return None
