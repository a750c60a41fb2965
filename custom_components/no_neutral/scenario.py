"""
The scenario of the adaptor as it is now (its parts worn), and the merging of a what-if's overrides.

The scenario that the options describe is built in options.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .circuit.ageing import History, quantize_consumed
from .options import capacitor_spec, scenario_from_options


def aged_scenario(options: Mapping[str, Any], history: History) -> dict[str, Any]:
    """
    Return the scenario of the adaptor as it is now: its parts worn, its fuse as the model has it.

    The worn capacitor's values use the consumed life rounded down to
    `CONSUMED_STEP` (0.5 % of its life), so ageing re-simulates only every
    step, not every minute; the values are rounded to 6 digits so the cache key
    is stable. The sensors show these same values: what was simulated.

    The relay's state is not part of it: the model's figures cover both
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
