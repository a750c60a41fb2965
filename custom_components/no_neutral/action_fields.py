"""
What the actions (`simulate`, `diagnose`, `recommend_parts`) share: entry, fields, errors.

Each action checks every value itself, not with a schema, so that every bad
input gets the same translated error naming its field (a schema error would
reach the user untranslated).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

import probatio
from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.service import async_get_config_entry

from .circuit import ScenarioError
from .const import DOMAIN
from .data import NoNeutralConfigEntry
from .options import option_for_path

if TYPE_CHECKING:
    from .coordinator import AdaptorCoordinator

ATTR_SCENARIO: Final = "scenario"
# Lets every field through: the action checks each value itself (see above).
ANY_FIELDS_SCHEMA: Final = probatio.Schema({}, extra=probatio.ALLOW_EXTRA)


def async_register_action(
    hass: HomeAssistant,
    service: str,
    handler: Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]],
) -> None:
    """Register an action that answers with data and checks its own fields."""
    hass.services.async_register(
        DOMAIN, service, handler, schema=ANY_FIELDS_SCHEMA, supports_response=SupportsResponse.ONLY
    )


def invalid_field(field: str, reason: str) -> ServiceValidationError:
    """Return the translated error that names a bad field and why."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="invalid_field",
        translation_placeholders={"field": field, "reason": reason},
    )


def simulation_failed(err: ArithmeticError) -> HomeAssistantError:
    """Return the translated error of a scenario the simulator could not solve."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="simulation_failed",
        translation_placeholders={"error": str(err)},
    )


@contextmanager
def simulator_errors(field_for_path: Callable[[str], str]) -> Iterator[None]:
    """Raise the simulator's errors as the action's: a bad path named by its field, or unsolved."""
    try:
        yield
    except ScenarioError as err:
        raise invalid_field(field_for_path(err.key), err.reason) from err
    except ArithmeticError as err:
        raise simulation_failed(err) from err


def call_adaptor(call: ServiceCall, fields: frozenset[str]) -> AdaptorCoordinator:
    """
    Return the adaptor of the call's entry, once every field of the call is known.

    The entry may be left out when there is only one.
    """
    for name in call.data:
        if name not in fields:
            raise invalid_field(str(name), "unknown field")
    entry_id = call.data.get(ATTR_CONFIG_ENTRY_ID)
    entry: NoNeutralConfigEntry = async_get_config_entry(
        call.hass, DOMAIN, None if entry_id is None else str(entry_id)
    )
    return entry.runtime_data.adaptor


def given_in_scenario(node: Any, path: str) -> bool:
    """
    Whether a call's `scenario` object sets this dotted path.

    The simulator names an unknown key by its own text, which may hold dots
    ("mains.voltage_rms" as a section name), so the path may be one key.
    """
    if not isinstance(node, Mapping):
        return False
    if path in node:
        return True
    section, _, rest = path.partition(".")
    return bool(rest) and given_in_scenario(node.get(section), rest)


def entry_field(path: str) -> str:
    """Name a scenario path the call did not set: by the entry's option that set it."""
    return option_for_path(path) or f"{ATTR_SCENARIO}.{path}"
