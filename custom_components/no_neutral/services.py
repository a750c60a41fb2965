"""The `no_neutral.simulate` action: the figures of a what-if scenario."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import probatio
from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.service import async_get_config_entry

from .circuit import ScenarioError, parse_scenario
from .const import DOMAIN, SCENARIO_PATHS
from .coordinator import NoNeutralConfigEntry, merge_scenario
from .scenario import option_for_path, scenario_from_options

SERVICE_SIMULATE: Final = "simulate"
ATTR_FUSE_BLOWN: Final = "fuse_blown"
ATTR_RELAY_CLOSED: Final = "relay_closed"
ATTR_SCENARIO: Final = "scenario"

# Values (and unknown fields) are checked here and by the simulator's own
# validation, not by the schema, so that every bad input is reported the same
# way: a translated error that names the field. (A schema error would reach the
# user untranslated.)
FIELDS: Final = frozenset(
    {ATTR_CONFIG_ENTRY_ID, *SCENARIO_PATHS, ATTR_FUSE_BLOWN, ATTR_RELAY_CLOSED, ATTR_SCENARIO}
)
SIMULATE_SCHEMA = probatio.Schema({}, extra=probatio.ALLOW_EXTRA)

# Action fields that set a scenario path directly (not through the options).
DIRECT_FIELDS: Final = {
    ATTR_FUSE_BLOWN: "smoothing.fuse_blown",
    ATTR_RELAY_CLOSED: "relay.closed",
}


def _invalid(field: str, reason: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="invalid_field",
        translation_placeholders={"field": field, "reason": reason},
    )


def _field_for_path(path: str) -> str:
    """Return the action field that sets a scenario path (or `scenario.<path>`)."""
    if option := option_for_path(path):
        return option
    for field, field_path in DIRECT_FIELDS.items():
        if field_path == path:
            return field
    return f"{ATTR_SCENARIO}.{path}"


def overrides_from_call(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the nested scenario overrides that the action's fields ask for."""
    overrides = scenario_from_options({k: v for k, v in data.items() if k in SCENARIO_PATHS})
    for field, path in DIRECT_FIELDS.items():
        if field in data:
            section, name = path.split(".")
            overrides.setdefault(section, {})[name] = data[field]
    if (extra := data.get(ATTR_SCENARIO)) is not None:
        if not isinstance(extra, Mapping):
            raise _invalid(ATTR_SCENARIO, "not an object of scenario sections")
        overrides = merge_scenario(merge_scenario({}, extra), overrides)
    return overrides


async def _async_simulate(call: ServiceCall) -> ServiceResponse:
    for field in call.data:
        if field not in FIELDS:
            raise _invalid(str(field), "unknown field")
    entry_id = call.data.get(ATTR_CONFIG_ENTRY_ID)
    entry: NoNeutralConfigEntry = async_get_config_entry(
        call.hass, DOMAIN, None if entry_id is None else str(entry_id)
    )
    adaptor = entry.runtime_data.adaptor
    scenario = merge_scenario(adaptor.data.scenario, overrides_from_call(call.data))
    try:
        parse_scenario(scenario)
        figures = await adaptor.async_simulate(scenario)
    except ScenarioError as err:
        raise _invalid(_field_for_path(err.key), err.reason) from err
    except ArithmeticError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="simulation_failed",
            translation_placeholders={"error": str(err)},
        ) from err
    return {"scenario": scenario, "figures": figures}


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_SIMULATE,
        _async_simulate,
        schema=SIMULATE_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
