"""
The simulator's scenario, built from a config entry's options.

Also the parts as the options describe them (for the ageing maths), the
scenario of the adaptor as it is now (its parts worn), and the merging of a
what-if's overrides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .circuit import DEFAULT_SCENARIO
from .circuit.ageing import CapacitorSpec, FuseSpec, History, quantize_consumed
from .const import (
    CONF_CAP_RATED_LIFE_H,
    CONF_CAP_RATED_TEMP_C,
    CONF_CAPACITANCE_UF,
    CONF_ESR_OHM,
    CONF_FUSE_POWER_RATING_W,
    DEFAULT_CAP_RATED_LIFE_H,
    DEFAULT_CAP_RATED_TEMP_C,
    SCENARIO_PATHS,
)


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


def capacitor_spec(options: Mapping[str, Any]) -> CapacitorSpec:
    """Return the capacitor as the options describe it (new values)."""
    smoothing = DEFAULT_SCENARIO["smoothing"]
    return CapacitorSpec(
        capacitance_uf=float(options.get(CONF_CAPACITANCE_UF, smoothing["capacitance_uf"])),
        esr_ohm=float(options.get(CONF_ESR_OHM, smoothing["esr_ohm"])),
        rated_life_h=float(options.get(CONF_CAP_RATED_LIFE_H, DEFAULT_CAP_RATED_LIFE_H)),
        rated_temp_c=float(options.get(CONF_CAP_RATED_TEMP_C, DEFAULT_CAP_RATED_TEMP_C)),
    )


def fuse_spec(options: Mapping[str, Any]) -> FuseSpec:
    """Return the fusible resistor's rating as the options describe it."""
    rating = options.get(
        CONF_FUSE_POWER_RATING_W, DEFAULT_SCENARIO["smoothing"]["fuse_power_rating_w"]
    )
    return FuseSpec(power_rating_w=float(rating))


def aged_scenario(options: Mapping[str, Any], history: History) -> dict[str, Any]:
    """
    Return the scenario of the adaptor as it is now: its parts worn, its fuse as the model has it.

    The worn capacitor's values use the consumed life rounded down to
    `CONSUMED_STEP` (0.5 % of its life), so ageing re-simulates only every
    step, not every minute; the values are rounded to 6 digits so the cache key
    is stable.

    The relay's state is not part of it: CIRCUIT.md's figures cover both
    states (the lamp figures with the relay closed, the off-state figures with
    it open), and `relay.closed` changes none of them (measured), so putting
    it in would only simulate the same circuit twice. The relay's state goes
    into what depends on it: the core temperature, the wear and the fuse heat.
    """
    scenario = scenario_from_options(options)
    cap = capacitor_spec(options)
    wear = quantize_consumed(history.cap_consumed)
    smoothing = scenario.setdefault("smoothing", {})
    smoothing["capacitance_uf"] = round(cap.aged_capacitance_uf(wear), 6)
    smoothing["esr_ohm"] = round(cap.aged_esr_ohm(wear), 6)
    smoothing["fuse_blown"] = history.fuse_blown
    return scenario


def merge_scenario(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Return `base` with the sections of `overrides` laid over it, key by key."""
    merged: dict[str, Any] = {
        section: dict(values) if isinstance(values, Mapping) else values
        for section, values in base.items()
    }
    for section, values in overrides.items():
        if isinstance(values, Mapping) and isinstance(merged.get(section, {}), dict):
            merged.setdefault(section, {}).update(values)
        else:
            # Not a section: let the simulator's validation name it.
            merged[section] = values
    return merged
