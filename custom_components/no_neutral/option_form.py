"""
The forms of the options (the add flow's adaptor step, the options flow): sections, checks, errors.

Every submitted value is checked here, not by the selectors' own validation:
so one submit reports all its errors at once, and the REST API's raw dict (any
JSON type) gets the same form errors as the frontend's. Nothing is guessed: a
required field that is missing, a bool or text where a number goes, an entity
that does not exist are refused; only an optional field left empty means
"none" (no bleed resistor, no ambient sensor).

The frontend shows an error only beside a top-level item (a section, not a
field inside one), so every error also goes into one message at the top,
naming each field by its label, in the user's words.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import probatio
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.const import ATTR_DEVICE_CLASS
from homeassistant.core import HomeAssistant, valid_entity_id
from homeassistant.data_entry_flow import section
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.translation import async_get_translations

from .circuit import ScenarioError, parse_scenario
from .circuit.params import DEFAULT_SCENARIO, LAMP_TYPES
from .const import DOMAIN
from .options import (
    CONF_MAINS_FREQUENCY,
    CONF_MAINS_VOLTAGE,
    OPTION,
    SECTIONS,
    Option,
    option_for_path,
    scenario_from_options,
)

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigFlow, OptionsFlow

ERROR_REQUIRED: Final = "required"
ERROR_NOT_A_NUMBER: Final = "not_a_number"
ERROR_INVALID_NUMBER: Final = "invalid_number"
ERROR_NOT_WHOLE_NUMBER: Final = "not_whole_number"
ERROR_INVALID_CHOICE: Final = "invalid_choice"
ERROR_INVALID_OPTION: Final = "invalid_option"
ERROR_ENTITY_NOT_FOUND: Final = "entity_not_found"
ERROR_NOT_TEMPERATURE: Final = "not_temperature_sensor"
ERROR_OWN_ENTITY: Final = "own_entity"
# The form's own error, at the top: it lists every field's.
ERROR_FIELDS: Final = "fields_invalid"

# Mains by Home Assistant's country (ISO 3166 alpha-2): North America's 120 V
# (Mexico's 127 V) at 60 Hz; elsewhere the model's default (230 V, 50 Hz:
# Europe and most of the world).
COUNTRY_MAINS: Final[dict[str, tuple[float, float]]] = {
    "US": (120, 60),
    "CA": (120, 60),
    "MX": (127, 60),
    "PR": (120, 60),
}


def country_mains(country: str | None) -> dict[str, float]:
    """Return the mains voltage and frequency options usual in a country."""
    default = DEFAULT_SCENARIO["mains"]
    voltage, frequency = COUNTRY_MAINS.get(
        (country or "").upper(), (default["voltage_rms"], default["frequency_hz"])
    )
    return {CONF_MAINS_VOLTAGE: voltage, CONF_MAINS_FREQUENCY: frequency}


class _CheckedByTheFlow(section):
    """
    A section whose values reach the flow as submitted.

    Home Assistant would validate them with the selectors first and stop at
    its own errors; the flow checks them itself (see the module's docstring).
    """

    def __call__(self, value: Any) -> Any:
        """Pass the submitted values on unchecked."""
        return value


def own_entity_ids(hass: HomeAssistant) -> list[str]:
    """Return every entity of this integration (never an ambient sensor: a loop)."""
    return sorted(
        entry.entity_id
        for entry in er.async_get(hass).entities.values()
        if entry.platform == DOMAIN
    )


def form_schema(
    hass: HomeAssistant, keys: tuple[str, ...], shown: Mapping[str, Any]
) -> probatio.Schema:
    """
    Return the form: its fields in sections, each showing `shown[key]` (the form's units).

    Required fields are marked so (the frontend asks for them), with no
    default, so nothing fills in what a submission leaves out.
    """
    sections: dict[str, dict[Any, Any]] = {}
    own = own_entity_ids(hass)
    for key in keys:
        option = OPTION[key]
        marker_type = probatio.Optional if option.optional else probatio.Required
        marker = marker_type(key, description={"suggested_value": shown.get(key)})
        sections.setdefault(option.section, {})[marker] = option.selector(own)
    return probatio.Schema(
        {
            probatio.Optional(name): _CheckedByTheFlow(
                probatio.Schema(sections[name]), {"collapsed": False}
            )
            for name in SECTIONS
            if name in sections
        }
    )


def shown_values(keys: tuple[str, ...], options: Mapping[str, Any]) -> dict[str, Any]:
    """Return the options as the form shows them (the bleed resistor in kΩ)."""
    return {key: OPTION[key].to_form(options.get(key)) for key in keys}


def submitted_values(keys: tuple[str, ...], user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Return the flat values of a submission, by field (a field left out is absent)."""
    values: dict[str, Any] = {}
    for key in keys:
        group = user_input.get(OPTION[key].section)
        if isinstance(group, Mapping) and key in group:
            values[key] = group[key]
    return values


def _is_empty(value: Any) -> bool:
    return value is None or value == ""


def _number(option: Option, value: Any) -> tuple[Any, str | None]:
    """Return a submitted number in the options' unit, or the error."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        # bool is an int in Python: true is not one lamp.
        return None, ERROR_NOT_A_NUMBER
    try:
        number = float(value)
    except ValueError:
        return None, ERROR_NOT_A_NUMBER
    except OverflowError:  # an int beyond any float: out of every field's limits
        return None, ERROR_INVALID_NUMBER
    low, high = option.form_limits
    # NaN compares false with every bound; HA's selector lets it through.
    if not math.isfinite(number) or not low <= number <= high:
        return None, ERROR_INVALID_NUMBER
    if option.whole:
        # A fraction where a count is asked for is refused, not cut.
        return (int(number), None) if number.is_integer() else (None, ERROR_NOT_WHOLE_NUMBER)
    return option.from_form(number), None


def _sensor_error(hass: HomeAssistant, value: Any) -> str | None:
    """
    Return why an entity cannot be the ambient temperature, or None.

    Any entity of this integration is refused, not only the entry's own: a
    core temperature follows the ambient, so one adaptor reading its own (or
    two reading each other's) would update without end.
    """
    if not isinstance(value, str) or not valid_entity_id(value):
        return ERROR_ENTITY_NOT_FOUND
    registered = er.async_get(hass).async_get(value)
    if registered is not None and registered.platform == DOMAIN:
        return ERROR_OWN_ENTITY
    state = hass.states.get(value)
    if state is not None:
        device_class = state.attributes.get(ATTR_DEVICE_CLASS)
    elif registered is not None:
        # Registered but not reporting yet (its integration is still starting).
        device_class = registered.device_class or registered.original_device_class
    else:
        return ERROR_ENTITY_NOT_FOUND
    if not value.startswith("sensor.") or device_class != SensorDeviceClass.TEMPERATURE:
        return ERROR_NOT_TEMPERATURE
    return None


@dataclass
class Checked:
    """A submission read: the options it sets, and an error by field."""

    options: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    reason: str = ""


def check_fields(hass: HomeAssistant, keys: tuple[str, ...], values: Mapping[str, Any]) -> Checked:
    """Check each submitted field on its own; return its option or its error."""
    checked = Checked()
    for key in keys:
        option = OPTION[key]
        value = values.get(key)
        error: str | None = None
        if _is_empty(value):
            if option.optional:
                checked.options[key] = None
                continue
            error = ERROR_REQUIRED
        elif option.kind == "number":
            value, error = _number(option, value)
        elif option.kind == "lamp_type":
            error = None if isinstance(value, str) and value in LAMP_TYPES else ERROR_INVALID_CHOICE
        else:
            error = _sensor_error(hass, value)
        if error is None:
            checked.options[key] = value
        else:
            checked.errors[key] = error
    return checked


async def async_check_scenario(
    hass: HomeAssistant, options: dict[str, Any], checked: Checked
) -> None:
    """Check the whole set with the simulator's own validation; its error goes on its field."""
    try:
        await hass.async_add_executor_job(parse_scenario, scenario_from_options(options))
    except ScenarioError as err:
        # A relation with a part the form does not show (the adaptor step has
        # no capacitor rating) goes on that part's field all the same: the
        # message names it.
        checked.errors[option_for_path(err.key) or "base"] = ERROR_INVALID_OPTION
        checked.reason = err.reason


async def async_error_message(hass: HomeAssistant, checked: Checked) -> str:
    """
    Return every error of a submission in words: "<field label>: <what is wrong>".

    In Home Assistant's language (the form's labels and error texts, from the
    integration's translations); the options form's labels name every field.
    """
    texts = await async_get_translations(hass, hass.config.language, "options", {DOMAIN})
    prefix = f"component.{DOMAIN}.options"
    lines = []
    for key, error in checked.errors.items():
        message = texts.get(f"{prefix}.error.{error}", error)
        message = message.replace("{reason}", checked.reason)
        if key == "base":
            lines.append(message)
            continue
        section_name = OPTION[key].section
        label = texts.get(f"{prefix}.step.settings.sections.{section_name}.data.{key}", key)
        lines.append(f"{label}: {message}")
    return " ".join(lines)


async def async_submit(
    hass: HomeAssistant, keys: tuple[str, ...], options: dict[str, Any], user_input: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """
    Return the options with a submission's values, its form errors and their placeholders.

    Each field is checked, then (when all are sound) the whole set by the
    simulator's own validation. With an error, nothing is to be saved.
    """
    checked = check_fields(hass, keys, submitted_values(keys, user_input))
    options = options | checked.options
    if not checked.errors:
        await async_check_scenario(hass, options, checked)
    if not checked.errors:
        return options, {}, {}
    problems = await async_error_message(hass, checked)
    errors = {**checked.errors, "base": ERROR_FIELDS}
    return options, errors, {"problems": problems, "reason": checked.reason}


def form_with_input(
    flow: ConfigFlow | OptionsFlow,
    keys: tuple[str, ...],
    options: dict[str, Any],
    user_input: dict[str, Any] | None,
) -> probatio.Schema:
    """Return the form showing the options, or what the user submitted (kept on an error)."""
    schema = form_schema(flow.hass, keys, shown_values(keys, options))
    if user_input is None:
        return schema
    submitted = submitted_values(keys, user_input)
    # Every field of the form as sent: one left empty shows empty.
    kept: dict[str, dict[str, Any]] = {}
    for key in keys:
        kept.setdefault(OPTION[key].section, {})[key] = submitted.get(key)
    return flow.add_suggested_values_to_schema(schema, kept)
