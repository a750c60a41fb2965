"""
Bad input to the options flow and the config flow: a form error on the field at
fault (or the schema's own error naming it), never an exception, never a NaN
or an infinity stored in the entry.

The options flow runs on an entry that is not set up (the flow needs no
server); the config flow's server step runs against addresses on this machine
only (a closed port, or text that is not a URL).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import pytest_socket
from homeassistant.config_entries import ConfigEntryDisabler
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from hypothesis import strategies as st
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.no_neutral.circuit import parse_scenario
from custom_components.no_neutral.const import CONF_URL, DOMAIN
from custom_components.no_neutral.options import (
    CONF_AMBIENT_SENSOR,
    CONF_AMBIENT_TEMP_C,
    CONF_CAP_RATED_LIFE_H,
    CONF_CAP_RATED_TEMP_C,
    CONF_LAMP_COUNT,
    CONF_LAMP_TYPE,
    OPTION,
    SCENARIO_PATHS,
    default_options,
    scenario_from_options,
)
from custom_components.no_neutral.options_flow import OPTIONS_FORM_KEYS
from tests.adaptor_common import add_relay_entry
from tests.test_config_flow import form_defaults, form_input, open_settings

from .common import fuzz_in_hass
from .strategies import BAD_OR_ANY, valid_value

AGEING_RANGES = {
    CONF_CAP_RATED_LIFE_H: (1.0, 1e6),
    CONF_CAP_RATED_TEMP_C: (-40.0, 200.0),
    CONF_AMBIENT_TEMP_C: (-40.0, 100.0),
}


def _option_value(key: str) -> st.SearchStrategy[Any]:
    if key in SCENARIO_PATHS:
        # In the form's unit (the bleed resistor in kΩ).
        good = valid_value(SCENARIO_PATHS[key]).map(OPTION[key].to_form)
    elif key in AGEING_RANGES:
        good = st.floats(*AGEING_RANGES[key])
    else:  # the ambient sensor
        good = st.sampled_from(["", "sensor.outside"])
    return st.one_of(good, good.map(str), BAD_OR_ANY)


# The form errors of a bad option: the simulator's, a number out of the
# field's limits (NaN included), a fraction where a count is asked for, a
# value of the wrong type, a lamp type or entity that does not exist, an
# empty required field; and the message at the top that lists them.
FORM_ERRORS = frozenset(
    {
        "invalid_option",
        "invalid_number",
        "not_whole_number",
        "not_a_number",
        "invalid_choice",
        "entity_not_found",
        "required",
        "fields_invalid",
    }
)

# Fields not drawn keep the form's value (the options at their defaults).
OPTION_INPUTS = st.fixed_dictionaries(
    {}, optional={key: _option_value(key) for key in OPTIONS_FORM_KEYS}
).map(lambda drawn: form_input(form_defaults() | drawn))


def check_stored_options(options: dict[str, Any]) -> None:
    """What a flow stores is what the simulator and the ageing maths accept."""
    parse_scenario(scenario_from_options(options))
    for key, (low, high) in AGEING_RANGES.items():
        value = options[key]
        assert isinstance(value, float | int), (key, value)
        assert math.isfinite(value), (key, value)
        assert low <= value <= high, (key, value)
    assert isinstance(options[CONF_LAMP_COUNT], int)
    assert options[CONF_AMBIENT_SENSOR] in (None, "sensor.outside")


async def _options_entry(hass: HomeAssistant) -> MockConfigEntry:
    return await add_relay_entry(
        hass,
        "ws://127.0.0.1:9/ws",
        1,
        unique_id="0000000000001234-0000000000000001",
        # Disabled, so that a saved form does not reload (set up) the entry.
        disabled_by=ConfigEntryDisabler.USER,
    )


async def _submit_options(
    hass: HomeAssistant, entry: MockConfigEntry, user_input: dict[str, Any]
) -> None:
    """Submit one options form; assert the outcome is clean."""
    result = await open_settings(hass, entry)
    flow_id = result["flow_id"]
    # Every value is the flow's to check: never Home Assistant's schema error.
    result = await hass.config_entries.options.async_configure(flow_id, user_input)
    if result["type"] is FlowResultType.FORM:
        errors = result["errors"] or {}
        assert errors, "the form came back without saying why"
        assert set(errors) <= {*OPTIONS_FORM_KEYS, "base"}, errors
        assert set(errors.values()) <= FORM_ERRORS, errors
        if "invalid_option" in errors.values():
            # The simulator's reason goes into the message.
            assert result["description_placeholders"]["reason"]
        hass.config_entries.options.async_abort(flow_id)
        return
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    check_stored_options(dict(entry.options))
    # Back to sane options for the next input.
    hass.config_entries.async_update_entry(entry, options=default_options())


async def _fuzz_options(hass: HomeAssistant, examples: int) -> None:
    hass.states.async_set("sensor.outside", "12", {"device_class": "temperature"})
    entry = await _options_entry(hass)
    await fuzz_in_hass(
        hass,
        OPTION_INPUTS,
        lambda user_input: _submit_options(hass, entry, user_input),
        examples,
    )


async def test_options_flow_fuzz(hass: HomeAssistant) -> None:
    await _fuzz_options(hass, 150)


@pytest.mark.long
async def test_options_flow_fuzz_long(hass: HomeAssistant) -> None:
    await _fuzz_options(hass, 3000)


async def _refused(hass: HomeAssistant, user_input: dict[str, Any], key: str, error: str) -> None:
    """The form comes back with `error` on `key` alone, and the entry keeps its options."""
    entry = await _options_entry(hass)
    before = dict(entry.options)
    result = await open_settings(hass, entry)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], form_input(form_defaults() | user_input)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {key: error, "base": "fields_invalid"}
    assert dict(entry.options) == before
    hass.config_entries.options.async_abort(result["flow_id"])


@pytest.mark.parametrize("nan", ["nan", "NaN", math.nan], ids=["text", "Text", "float"])
@pytest.mark.parametrize("key", [CONF_CAP_RATED_LIFE_H, CONF_CAP_RATED_TEMP_C, CONF_AMBIENT_TEMP_C])
async def test_options_flow_refuses_nan_ageing_option(
    hass: HomeAssistant, key: str, nan: Any
) -> None:
    await _refused(hass, {key: nan}, key, "invalid_number")


@pytest.mark.parametrize("nan", ["nan", math.nan], ids=["text", "float"])
async def test_options_flow_refuses_nan_lamp_count(hass: HomeAssistant, nan: Any) -> None:
    await _refused(hass, {CONF_LAMP_COUNT: nan}, CONF_LAMP_COUNT, "invalid_number")


@pytest.mark.parametrize("count", [2.5, "2.5", 1.0001])
async def test_options_flow_refuses_fractional_lamp_count(hass: HomeAssistant, count: Any) -> None:
    await _refused(hass, {CONF_LAMP_COUNT: count}, CONF_LAMP_COUNT, "not_whole_number")


NUMBER_OPTIONS = sorted(key for key in OPTIONS_FORM_KEYS if OPTION[key].kind == "number")


@pytest.mark.parametrize("key", NUMBER_OPTIONS)
async def test_options_flow_refuses_nan_in_every_number(hass: HomeAssistant, key: str) -> None:
    """Every numeric option, not only the ageing ones."""
    assert len(NUMBER_OPTIONS) == len(SCENARIO_PATHS) - 1 + 3  # all but the lamp type
    await _refused(hass, {key: "nan"}, key, "invalid_number")


async def test_options_flow_takes_a_whole_count_given_as_a_float(hass: HomeAssistant) -> None:
    """3.0 is three lamps (the frontend's number box sends floats), stored as an int."""
    entry = await _options_entry(hass)
    result = await open_settings(hass, entry)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], form_input(form_defaults() | {CONF_LAMP_COUNT: 3.0})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_LAMP_COUNT] == 3
    assert isinstance(entry.options[CONF_LAMP_COUNT], int)


# The config flow's first step: the server URL. Hosts are kept on this machine.
LOOPBACK_URLS = st.builds(
    lambda scheme, host, port, path: f"{scheme}://{host}:{port}{path}",
    st.sampled_from(["ws", "wss", "http", "WS", "ftp", ""]),
    st.sampled_from(["127.0.0.1", "localhost", "[::1]", "", "127.0.0.1:1"]),
    st.one_of(st.integers(-5, 70000).map(str), st.text(max_size=4)),
    st.sampled_from(["/ws", "", "/", "/ws?x=1", "/%zz", "/ws#f"]),
)
NOT_URLS = st.text(max_size=40).filter(lambda t: "://" not in t)


async def _submit_url(hass: HomeAssistant, url: Any) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "matter"}
    )
    try:
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_URL: url})
    except InvalidData as err:
        assert set(err.schema_errors) == {CONF_URL}, err.schema_errors
        hass.config_entries.flow.async_abort(result["flow_id"])
        return
    assert result["type"] is FlowResultType.FORM, result
    # Nothing listens on these addresses: either the URL is refused or nothing answers.
    assert result["errors"] in ({CONF_URL: "invalid_url"}, {"base": "cannot_connect"}), result
    hass.config_entries.flow.async_abort(result["flow_id"])


@pytest.fixture
def loopback_v6() -> None:
    """Let the harness's socket guard allow ::1 too ("localhost" and "[::1]" are fuzzed)."""
    pytest_socket.socket_allow_hosts(["127.0.0.1", "::1"])


@pytest.mark.usefixtures("socket_enabled", "loopback_v6")
async def test_config_flow_server_url_fuzz(hass: HomeAssistant) -> None:
    urls = st.one_of(LOOPBACK_URLS, NOT_URLS, BAD_OR_ANY)
    await fuzz_in_hass(hass, urls, lambda url: _submit_url(hass, url), 120)


@pytest.mark.long
@pytest.mark.usefixtures("socket_enabled", "loopback_v6")
async def test_config_flow_server_url_fuzz_long(hass: HomeAssistant) -> None:
    urls = st.one_of(LOOPBACK_URLS, NOT_URLS, BAD_OR_ANY)
    await fuzz_in_hass(hass, urls, lambda url: _submit_url(hass, url), 1500)


def test_the_options_form_shows_every_option() -> None:
    """So the fuzz above covers every option."""
    assert set(OPTIONS_FORM_KEYS) == set(OPTION)
    assert CONF_LAMP_TYPE in OPTIONS_FORM_KEYS
