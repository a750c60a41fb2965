"""The `no_neutral.simulate` action: the figures of a what-if scenario."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any, Final

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, callback

from .action_fields import (
    ATTR_SCENARIO,
    async_register_action,
    call_adaptor,
    entry_field,
    given_in_scenario,
    invalid_field,
    simulator_errors,
)
from .circuit import DEFAULT_SCENARIO, parse_scenario
from .circuit.params import merge_scenario
from .options import SCENARIO_PATHS, option_for_path, scenario_from_options
from .recommend_action import async_register as async_register_recommend_parts
from .troubleshoot import async_register as async_register_diagnose

SERVICE_SIMULATE: Final = "simulate"
ATTR_FUSE_BLOWN: Final = "fuse_blown"
ATTR_RELAY_CLOSED: Final = "relay_closed"

# Values (and unknown fields) are checked here and by the simulator's own
# validation, not by the schema (action_fields.py).
FIELDS: Final = frozenset(
    {ATTR_CONFIG_ENTRY_ID, *SCENARIO_PATHS, ATTR_FUSE_BLOWN, ATTR_RELAY_CLOSED, ATTR_SCENARIO}
)

# Action fields that set a scenario path directly (not through the options).
DIRECT_FIELDS: Final = {
    ATTR_FUSE_BLOWN: "smoothing.fuse_blown",
    ATTR_RELAY_CLOSED: "relay.closed",
}


# A relation between two paths is reported on the first; when the call gave
# only the second, the call's field is the one to name.
RELATED_PATHS: Final = {
    "lamp.led_stop_v": "lamp.led_start_v",
}


def _given_field(data: Mapping[str, Any], path: str) -> str | None:
    """Return the call's field that set a path, if the call set it."""
    # The flat fields win over `scenario` (see overrides_from_call).
    option = option_for_path(path)
    if option is not None and option in data:
        return option
    for field, field_path in DIRECT_FIELDS.items():
        if field_path == path and field in data:
            return field
    if given_in_scenario(data.get(ATTR_SCENARIO), path):
        return f"{ATTR_SCENARIO}.{path}"
    return None


def _field_for_path(data: Mapping[str, Any], path: str) -> str:
    """
    Return the field to name for a bad scenario path: the one the call gave it as.

    A path the call did not set comes from the entry's options (named by its
    option) unless the call set its partner in a relation; anything else (an
    unknown section or key) was given under `scenario`.
    """
    scenario = data.get(ATTR_SCENARIO)
    if isinstance(scenario, Mapping) and path in scenario and path not in DEFAULT_SCENARIO:
        # An unknown section named like a path ("mains.voltage_rms"): the
        # simulator checks section names first, so this is the one it means.
        return f"{ATTR_SCENARIO}.{path}"
    if field := _given_field(data, path):
        return field
    if (partner := RELATED_PATHS.get(path)) and (field := _given_field(data, partner)):
        return field
    return entry_field(path)


def overrides_from_call(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the nested scenario overrides that the action's fields ask for."""
    overrides = scenario_from_options({k: v for k, v in data.items() if k in SCENARIO_PATHS})
    for field, path in DIRECT_FIELDS.items():
        if field in data:
            section, name = path.split(".")
            overrides.setdefault(section, {})[name] = data[field]
    if (extra := data.get(ATTR_SCENARIO)) is not None:
        if not isinstance(extra, Mapping):
            raise invalid_field(ATTR_SCENARIO, "not an object of scenario sections")
        overrides = merge_scenario(merge_scenario({}, extra), overrides)
    return overrides


async def _async_simulate(call: ServiceCall) -> ServiceResponse:
    adaptor = call_adaptor(call, FIELDS)
    scenario = merge_scenario(adaptor.data.scenario, overrides_from_call(call.data))
    with simulator_errors(partial(_field_for_path, call.data)):
        parse_scenario(scenario)
        figures = await adaptor.async_simulate(scenario)
    return {"scenario": scenario, "figures": figures}


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions."""
    async_register_action(hass, SERVICE_SIMULATE, _async_simulate)
    async_register_diagnose(hass)
    async_register_recommend_parts(hass)
