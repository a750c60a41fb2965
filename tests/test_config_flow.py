"""
Config, reconfigure and options flows, against a real python-matter-server.

The server is a real process (the rig's fixture) with MINIR4M-like test nodes
imported into it. Only the server-version errors use a fake: a real websocket
that sends a server_info with a chosen schema (tests/link_helpers.py), because
a real server cannot be made to report another schema.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.no_neutral.circuit import ScenarioError, parse_scenario
from custom_components.no_neutral.circuit.params import number_range
from custom_components.no_neutral.const import CONF_NODE_ID, CONF_URL, DEFAULT_URL, DOMAIN
from custom_components.no_neutral.options import (
    CONF_AMBIENT_SENSOR,
    CONF_BLEED_RESISTANCE_OHM,
    CONF_CAPACITANCE_UF,
    CONF_FUSE_POWER_RATING_W,
    CONF_LAMP_COUNT,
    CONF_LAMP_POWER_W,
    CONF_LAMP_TYPE,
    CONF_MAINS_FREQUENCY,
    CONF_MAINS_VOLTAGE,
    OPTION,
    OPTIONS,
    SCENARIO_PATHS,
    default_options,
    scenario_from_options,
)
from tools.rig.relay_rig import RelayRig
from tools.rig.server import MatterServer
from tools.rig.sockets import free_port

from .adaptor_common import add_relay_entry
from .link_helpers import (
    MINIR4M,
    NO_ONOFF,
    OTHER_PLUG,
    fake_version_server,
    import_test_node,
    node_dump,
    server_command,
    server_fabric,
)
from .rig import reset_relay

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled"),
]

FLAT_ADAPTOR_INPUT = {
    CONF_LAMP_TYPE: "led",
    CONF_LAMP_COUNT: 2,
    CONF_LAMP_POWER_W: 7.5,
    CONF_MAINS_VOLTAGE: 230,
    CONF_MAINS_FREQUENCY: 50,
}


def form_input(flat: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return values as the frontend sends them: each field in its section."""
    nested: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        nested.setdefault(OPTION[key].section, {})[key] = value
    return nested


def form_fields(result: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Return each field of a form with sections: (its marker, its selector)."""
    fields = {}
    for group in result["data_schema"].schema.values():
        for marker, selector in group.schema.schema.items():
            fields[str(marker)] = (marker, selector)
    return fields


def shown(result: dict[str, Any]) -> dict[str, Any]:
    """Return the value each field of a form shows."""
    return {
        key: (marker.description or {}).get("suggested_value")
        for key, (marker, _selector) in form_fields(result).items()
    }


def with_base(errors: dict[str, str]) -> dict[str, str]:
    """A form's errors: each field's, and the message at the top that lists them."""
    return {**errors, "base": "fields_invalid"}


ADAPTOR_INPUT = form_input(FLAT_ADAPTOR_INPUT)


def form_defaults() -> dict[str, Any]:
    """Every option at its default as the form takes it (kΩ), no ambient sensor."""
    return {
        key: OPTION[key].to_form(value)
        for key, value in default_options().items()
        if key != CONF_AMBIENT_SENSOR
    }


def uid(fabric: int, node_id: int) -> str:
    return f"{fabric:016X}-{node_id:016X}"


@pytest.fixture
def matter_url(matter_server: MatterServer) -> str:
    """The rig's real Matter server (tests/rig.py), one per module."""
    return matter_server.url


@pytest.fixture
async def nodes(matter_url: str) -> dict[str, int]:
    """Import a plug from another vendor, a MINIR4M and a sensor without OnOff."""
    # The plug goes first, so that the MINIR4M being listed first is the sort's doing.
    return {
        "plug": await import_test_node(matter_url, OTHER_PLUG),
        "minir4m": await import_test_node(matter_url, MINIR4M),
        "sensor": await import_test_node(matter_url, NO_ONOFF),
    }


async def start(hass: HomeAssistant) -> dict[str, Any]:
    """Start a flow and take the Matter way: the server URL form."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] == "menu"
    assert result["step_id"] == "start"
    return await hass.config_entries.flow.async_configure(  # type: ignore[no-any-return]
        result["flow_id"], {"next_step_id": "matter"}
    )


async def submit(hass: HomeAssistant, result: dict[str, Any], data: dict[str, Any]) -> Any:
    return await hass.config_entries.flow.async_configure(result["flow_id"], data)


async def to_adaptor_step(hass: HomeAssistant, matter_url: str, nodes: dict[str, int]) -> Any:
    """Walk a new flow to the adaptor step for the MINIR4M test node."""
    result = await submit(hass, await start(hass), {CONF_URL: matter_url})
    result = await submit(hass, result, {"next_step_id": "node"})
    return await submit(hass, result, {"node": str(nodes["minir4m"])})


async def recover_with_the_server(
    hass: HomeAssistant, result: dict[str, Any], matter_url: str, nodes: dict[str, int]
) -> None:
    """Go on in the same flow, from the user form, with the real server: on to a created entry."""
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    result = await submit(hass, result, {CONF_URL: matter_url})
    result = await submit(hass, result, {"next_step_id": "node"})
    result = await submit(hass, result, {"node": str(nodes["minir4m"])})
    result = await submit(hass, result, ADAPTOR_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.data == {CONF_URL: matter_url, CONF_NODE_ID: nodes["minir4m"]}
    await hass.config_entries.async_unload(entry.entry_id)


def node_options(result: dict[str, Any]) -> list[dict[str, str]]:
    schema = result["data_schema"].schema
    (selector,) = schema.values()
    return list(selector.config["options"])


async def test_user_form_defaults_to_the_local_server(hass: HomeAssistant) -> None:
    result = await start(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    ((marker, selector),) = result["data_schema"].schema.items()
    assert marker.default() == DEFAULT_URL
    # A URL field (the frontend's URL keyboard and check), not plain text.
    assert selector.config["type"] == "url"


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:5580/ws", "127.0.0.1:5580", "ws://", "ws://[zz/ws", "mqtt://host/ws"],
)
async def test_user_rejects_a_url_that_is_not_ws(
    hass: HomeAssistant, url: str, matter_url: str, nodes: dict[str, int]
) -> None:
    result = await submit(hass, await start(hass), {CONF_URL: url})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_URL: "invalid_url"}
    await recover_with_the_server(hass, result, matter_url, nodes)


async def test_user_cannot_connect(
    hass: HomeAssistant, matter_url: str, nodes: dict[str, int]
) -> None:
    # A real port on which nothing listens.
    result = await submit(hass, await start(hass), {CONF_URL: f"ws://127.0.0.1:{free_port()}/ws"})
    assert result["errors"] == {"base": "cannot_connect"}
    # The form keeps what the user typed.
    (marker,) = result["data_schema"].schema
    assert marker.default().startswith("ws://127.0.0.1:")
    await recover_with_the_server(hass, result, matter_url, nodes)


@pytest.mark.parametrize(
    ("schema", "error"),
    [(5, "server_too_old"), (99, "server_too_new")],
)
async def test_user_server_version(
    hass: HomeAssistant, schema: int, error: str, matter_url: str, nodes: dict[str, int]
) -> None:
    # The server supports only its own schema.
    async with fake_version_server(
        schema_version=schema, min_supported_schema_version=schema
    ) as url:
        result = await submit(hass, await start(hass), {CONF_URL: url})
    assert result["errors"] == {"base": error}
    # The user updates the server (here: gives the real one).
    await recover_with_the_server(hass, result, matter_url, nodes)


async def test_pick_node_then_adaptor_creates_entry(
    hass: HomeAssistant, matter_url: str, nodes: dict[str, int]
) -> None:
    result = await submit(hass, await start(hass), {CONF_URL: matter_url})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["node", "commission_code", "commission_ip"]

    result = await submit(hass, result, {"next_step_id": "node"})
    assert result["step_id"] == "node"
    options = node_options(result)
    values = [option["value"] for option in options]
    # Only nodes with an OnOff cluster; a MINIR4M before any other vendor's node.
    # (The server may hold nodes of earlier tests: only ours are checked.)
    assert str(nodes["sensor"]) not in values
    assert values.index(str(nodes["minir4m"])) < values.index(str(nodes["plug"]))
    labels = {option["value"]: option["label"] for option in options}
    assert labels[str(nodes["minir4m"])] == f"MINIR4M (SONOFF MINIR4M, node {nodes['minir4m']})"
    assert labels[str(nodes["plug"])] == f"Desk plug (Acme Smart Plug, node {nodes['plug']})"

    result = await submit(hass, result, {"node": str(nodes["minir4m"])})
    assert result["step_id"] == "adaptor"
    result = await submit(hass, result, ADAPTOR_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    fabric = await server_fabric(matter_url)
    assert entry.unique_id == uid(fabric, nodes["minir4m"])
    assert entry.title == "MINIR4M"
    assert entry.data == {CONF_URL: matter_url, CONF_NODE_ID: nodes["minir4m"]}
    # Every scenario option is filled: the user's lamp and mains, defaults for the rest.
    assert set(SCENARIO_PATHS) <= set(entry.options)
    assert entry.options[CONF_LAMP_COUNT] == 2
    assert isinstance(entry.options[CONF_LAMP_COUNT], int)
    assert entry.options[CONF_LAMP_POWER_W] == 7.5
    assert entry.options[CONF_CAPACITANCE_UF] == 15
    assert entry.options[CONF_BLEED_RESISTANCE_OHM] == 220000
    assert entry.options[CONF_AMBIENT_SENSOR] is None
    await hass.config_entries.async_unload(entry.entry_id)


async def test_configured_nodes_are_not_offered(
    hass: HomeAssistant, matter_url: str, nodes: dict[str, int]
) -> None:
    fabric = await server_fabric(matter_url)
    MockConfigEntry(domain=DOMAIN, unique_id=uid(fabric, nodes["minir4m"])).add_to_hass(hass)
    result = await submit(hass, await start(hass), {CONF_URL: matter_url})
    result = await submit(hass, result, {"next_step_id": "node"})
    values = [option["value"] for option in node_options(result)]
    assert str(nodes["minir4m"]) not in values
    assert str(nodes["plug"]) in values

    # With every node configured, nothing is left to pick: only commissioning.
    for node in await server_command(matter_url, "get_nodes"):
        if node["node_id"] != nodes["minir4m"]:
            MockConfigEntry(domain=DOMAIN, unique_id=uid(fabric, node["node_id"])).add_to_hass(hass)
    result = await submit(hass, await start(hass), {CONF_URL: matter_url})
    assert result["menu_options"] == ["commission_code", "commission_ip"]


async def test_node_configured_meanwhile_aborts(
    hass: HomeAssistant, matter_url: str, nodes: dict[str, int]
) -> None:
    result = await submit(hass, await start(hass), {CONF_URL: matter_url})
    result = await submit(hass, result, {"next_step_id": "node"})
    fabric = await server_fabric(matter_url)
    MockConfigEntry(domain=DOMAIN, unique_id=uid(fabric, nodes["minir4m"])).add_to_hass(hass)
    result = await submit(hass, result, {"node": str(nodes["minir4m"])})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.parametrize(
    ("field", "value", "reason_part"),
    [
        # Within the field's limits (the simulator's), refused by its validation.
        (CONF_LAMP_POWER_W, 0, "must be positive"),
    ],
)
async def test_adaptor_errors_name_the_field(
    *,
    hass: HomeAssistant,
    matter_url: str,
    nodes: dict[str, int],
    field: str,
    value: float,
    reason_part: str,
) -> None:
    result = await submit(
        hass,
        await to_adaptor_step(hass, matter_url, nodes),
        form_input(FLAT_ADAPTOR_INPUT | {field: value}),
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == with_base({field: "invalid_option"})
    problems = result["description_placeholders"]["problems"]
    # The field's label and the model's reason, not its internal key.
    assert problems.startswith(
        f"Power of each lamp: The circuit model refuses this value: {reason_part}"
    )
    assert "lamp." not in problems
    assert shown(result)[field] == value
    # Fixing the field creates the entry.
    result = await submit(hass, result, ADAPTOR_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.config_entries.async_unload(result["result"].entry_id)


async def test_mains_above_the_capacitor_rating_is_simulated_and_warned(
    hass: HomeAssistant, matter_url: str, nodes: dict[str, int]
) -> None:
    """300 V mains peaks at 424 V, above the default capacitor's 400 V: a real build, warned."""
    result = await submit(
        hass,
        await to_adaptor_step(hass, matter_url, nodes),
        form_input(FLAT_ADAPTOR_INPUT | {CONF_MAINS_VOLTAGE: 300}),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    await hass.async_block_till_done()
    assert "cap_overvoltage" in entry.runtime_data.adaptor.data.warnings
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        # The simulator's limits, where the old form took 5000 W, 1000 V, 1000 Hz.
        (CONF_LAMP_POWER_W, math.nextafter(1000, math.inf)),
        (CONF_MAINS_VOLTAGE, 401),
        (CONF_MAINS_VOLTAGE, 5),
        (CONF_MAINS_FREQUENCY, 0),
        (CONF_LAMP_COUNT, 101),
    ],
)
async def test_adaptor_step_refuses_what_the_simulator_would(
    *, hass: HomeAssistant, matter_url: str, nodes: dict[str, int], field: str, value: float
) -> None:
    result = await to_adaptor_step(hass, matter_url, nodes)
    result = await submit(hass, result, form_input(FLAT_ADAPTOR_INPUT | {field: value}))
    assert result["errors"] == with_base({field: "invalid_number"})
    assert shown(result)[field] == value
    result = await submit(hass, result, ADAPTOR_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.config_entries.async_unload(result["result"].entry_id)


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        (CONF_LAMP_COUNT, "nan", "invalid_number"),
        (CONF_LAMP_COUNT, 2.5, "not_whole_number"),
        (CONF_LAMP_POWER_W, "nan", "invalid_number"),
        (CONF_MAINS_VOLTAGE, float("nan"), "invalid_number"),
        (CONF_MAINS_FREQUENCY, "NaN", "invalid_number"),
    ],
)
async def test_adaptor_refuses_nan_and_fractional_counts(
    *,
    hass: HomeAssistant,
    matter_url: str,
    nodes: dict[str, int],
    field: str,
    value: Any,
    error: str,
) -> None:
    """NaN passes HA's NumberSelector and a fraction its step: the form names the field."""
    result = await submit(
        hass,
        await to_adaptor_step(hass, matter_url, nodes),
        form_input(FLAT_ADAPTOR_INPUT | {field: value}),
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "adaptor"
    assert result["errors"] == with_base({field: error})
    # The form shows what the user typed, not the default.
    assert shown(result)[field] is value
    result = await submit(hass, result, ADAPTOR_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"][CONF_LAMP_COUNT] == 2
    await hass.config_entries.async_unload(result["result"].entry_id)


@pytest.mark.parametrize("code", ["1234", "MX:ABC", "12345-6789"])
async def test_commission_code_rejects_what_is_not_a_code(
    hass: HomeAssistant, matter_url: str, code: str
) -> None:
    result = await submit(hass, await start(hass), {CONF_URL: matter_url})
    result = await submit(hass, result, {"next_step_id": "commission_code"})
    assert result["step_id"] == "commission_code"
    result = await submit(hass, result, {"code": code})
    assert result["errors"] == {"code": "invalid_code"}


async def _run_progress(hass: HomeAssistant, result: dict[str, Any]) -> dict[str, Any]:
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["progress_action"] == "commissioning"
    # When the task ends, the flow moves on by itself (progress done).
    await hass.async_block_till_done(wait_background_tasks=True)
    return await hass.config_entries.flow.async_configure(result["flow_id"])


async def test_commission_code_failure_shows_the_error(
    hass: HomeAssistant, matter_url: str
) -> None:
    """Nothing answers this code (no relay in pairing mode): the server reports failure."""
    result = await submit(hass, await start(hass), {CONF_URL: matter_url})
    result = await submit(hass, result, {"next_step_id": "commission_code"})
    result = await _run_progress(hass, await submit(hass, result, {"code": "3497-011-2332"}))
    assert result["step_id"] == "commission_code"
    assert result["errors"] == {"base": "commission_failed"}
    assert result["description_placeholders"]["error"]
    # Shown once: the next display of the form is clean.
    result = await submit(hass, result, {"code": "bad"})
    assert result["errors"] == {"code": "invalid_code"}


@pytest.mark.netns
async def test_commission_failure_then_the_right_pin_creates_the_entry(
    hass: HomeAssistant, relay_rig: RelayRig
) -> None:
    """
    A wrong PIN fails; the same flow then pairs the relay with the right one.

    Against the rig's server and matter.js relay (a relay in pairing mode), so
    that the right PIN really commissions.
    """
    await hass.async_add_executor_job(reset_relay, relay_rig)
    url, relay = relay_rig.server.url, relay_rig.relay
    result = await submit(hass, await start(hass), {CONF_URL: url})
    result = await submit(hass, result, {"next_step_id": "commission_ip"})
    wrong = {"pin": relay.passcode + 1, "ip_address": relay.ip}
    result = await _run_progress(hass, await submit(hass, result, wrong))
    assert result["step_id"] == "commission_ip"
    assert result["errors"] == {"base": "commission_failed"}

    right = {"pin": relay.passcode, "ip_address": relay.ip}
    result = await _run_progress(hass, await submit(hass, result, right))
    assert result["step_id"] == "adaptor", result.get("errors")
    result = await submit(hass, result, ADAPTOR_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.data[CONF_URL] == url
    assert entry.title
    await hass.config_entries.async_unload(entry.entry_id)


async def test_commission_ip_rejects_a_bad_address(hass: HomeAssistant, matter_url: str) -> None:
    result = await submit(hass, await start(hass), {CONF_URL: matter_url})
    result = await submit(hass, result, {"next_step_id": "commission_ip"})
    assert result["step_id"] == "commission_ip"
    result = await submit(hass, result, {"pin": 20202021, "ip_address": "300.1.1.1"})
    assert result["errors"] == {"ip_address": "invalid_ip"}


@pytest.mark.parametrize(
    ("pin", "error"),
    [("nan", "invalid_number"), (float("nan"), "invalid_number"), (20202021.5, "not_whole_number")],
)
async def test_commission_ip_refuses_a_pin_that_is_not_a_whole_number(
    hass: HomeAssistant, matter_url: str, pin: Any, error: str
) -> None:
    """NaN passes the PIN's NumberSelector and a fraction its step; neither is cut to a PIN."""
    result = await submit(hass, await start(hass), {CONF_URL: matter_url})
    result = await submit(hass, result, {"next_step_id": "commission_ip"})
    result = await submit(hass, result, {"pin": pin})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "commission_ip"
    assert result["errors"] == {"pin": error}


async def test_commission_ip_failure_shows_the_error(hass: HomeAssistant, matter_url: str) -> None:
    """No device at this address: the server reports failure and the form says so."""
    result = await submit(hass, await start(hass), {CONF_URL: matter_url})
    result = await submit(hass, result, {"next_step_id": "commission_ip"})
    result = await _run_progress(
        hass, await submit(hass, result, {"pin": 20202021, "ip_address": "fd12::99"})
    )
    assert result["step_id"] == "commission_ip"
    assert result["errors"] == {"base": "commission_failed"}


async def _entry(hass: HomeAssistant, matter_url: str, node_id: int) -> MockConfigEntry:
    return await add_relay_entry(hass, matter_url, node_id, title="MINIR4M")


async def test_reconfigure_changes_the_node(
    hass: HomeAssistant, matter_url: str, nodes: dict[str, int]
) -> None:
    entry = await _entry(hass, matter_url, nodes["minir4m"])
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    (marker,) = result["data_schema"].schema
    assert marker.default() == matter_url

    result = await submit(hass, result, {CONF_URL: f"ws://127.0.0.1:{free_port()}/ws"})
    assert result["errors"] == {"base": "cannot_connect"}
    result = await submit(hass, result, {CONF_URL: "tcp://x"})
    assert result["errors"] == {CONF_URL: "invalid_url"}

    result = await submit(hass, result, {CONF_URL: matter_url})
    assert result["step_id"] == "reconfigure_node"
    # Its own node is offered (and preselected); others' are not.
    values = [option["value"] for option in node_options(result)]
    assert str(nodes["minir4m"]) in values
    assert str(nodes["plug"]) in values
    (marker,) = result["data_schema"].schema
    assert marker.default() == str(nodes["minir4m"])

    result = await submit(hass, result, {"node": str(nodes["plug"])})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    fabric = await server_fabric(matter_url)
    assert entry.unique_id == uid(fabric, nodes["plug"])
    assert entry.data == {CONF_URL: matter_url, CONF_NODE_ID: nodes["plug"]}
    # The entry was reloaded onto the new node.
    await hass.async_block_till_done()
    assert entry.state is config_entries.ConfigEntryState.LOADED
    assert entry.runtime_data.relay.node_id == nodes["plug"]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_without_free_nodes(
    hass: HomeAssistant, matter_url: str, nodes: dict[str, int]
) -> None:
    entry = await _entry(hass, matter_url, 4242)  # its node is gone from the server
    fabric = await server_fabric(matter_url)
    for node in await server_command(matter_url, "get_nodes"):
        MockConfigEntry(domain=DOMAIN, unique_id=uid(fabric, node["node_id"])).add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, {CONF_URL: matter_url})
    assert result["errors"] == {"base": "no_nodes"}


async def _options_entry(hass: HomeAssistant) -> MockConfigEntry:
    # The options flow needs no server: a plain entry that is not set up.
    return await add_relay_entry(
        hass,
        f"ws://127.0.0.1:{free_port()}/ws",
        1,
        unique_id="0000000000001234-0000000000000001",
    )


async def open_settings(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    """Open the entry's options menu and choose the adaptor's settings (the form)."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["settings", "troubleshoot", "parts"]
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )


async def test_options_flow_edits_every_part(hass: HomeAssistant) -> None:
    entry = await _options_entry(hass)
    result = await open_settings(hass, entry)
    assert result["step_id"] == "settings"
    assert set(SCENARIO_PATHS) | {CONF_AMBIENT_SENSOR} <= set(form_fields(result))
    # Not one long column: the lamp; mains and cable; the bypass module's parts;
    # the capacitor's datasheet; the environment; the relay's own draw.
    sections = [str(name) for name in result["data_schema"].schema]
    assert sections == ["lamp", "mains", "bypass", "datasheet", "environment", "relay"]
    # The bleed resistor in kΩ.
    assert shown(result)[CONF_BLEED_RESISTANCE_OHM] == 220
    assert form_fields(result)[CONF_BLEED_RESISTANCE_OHM][1].config["unit_of_measurement"] == "kΩ"

    hass.states.async_set("sensor.ceiling_temperature", "21.5", {"device_class": "temperature"})
    values = {
        key: value
        for key, value in default_options().items()
        if key not in (CONF_BLEED_RESISTANCE_OHM, CONF_AMBIENT_SENSOR)
    }
    values[CONF_CAPACITANCE_UF] = 10
    values[CONF_AMBIENT_SENSOR] = "sensor.ceiling_temperature"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], form_input(values)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # Left empty: no bleed resistor.
    assert entry.options[CONF_BLEED_RESISTANCE_OHM] is None
    assert entry.options[CONF_CAPACITANCE_UF] == 10
    assert entry.options[CONF_AMBIENT_SENSOR] == "sensor.ceiling_temperature"


async def test_options_flow_takes_the_bleed_resistor_in_kilohms(hass: HomeAssistant) -> None:
    """Stored in ohms, as before (stored entries need no migration)."""
    entry = await _options_entry(hass)
    result = await open_settings(hass, entry)
    values = form_defaults()
    values[CONF_BLEED_RESISTANCE_OHM] = 150
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], form_input(values)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_BLEED_RESISTANCE_OHM] == 150000


@pytest.mark.parametrize(
    ("field", "value"),
    [
        # The form's lowest, which the simulator excludes.
        (CONF_LAMP_POWER_W, 0),
        (CONF_FUSE_POWER_RATING_W, 0),
    ],
)
async def test_options_flow_errors_name_the_field(
    hass: HomeAssistant, field: str, value: float
) -> None:
    entry = await _options_entry(hass)
    result = await open_settings(hass, entry)
    values = form_defaults()
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], form_input(values | {field: value})
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == with_base({field: "invalid_option"})
    assert result["description_placeholders"]["reason"]
    assert "smoothing." not in result["description_placeholders"]["problems"]
    # Corrected in the same form, the options are saved.
    await _save_options(hass, entry, result, values | {CONF_CAPACITANCE_UF: 10})


async def _save_options(
    hass: HomeAssistant, entry: MockConfigEntry, result: dict[str, Any], values: dict[str, Any]
) -> None:
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], form_input(values)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_CAPACITANCE_UF] == 10


async def test_options_flow_refuses_out_of_range_ageing(hass: HomeAssistant) -> None:
    entry = await _options_entry(hass)
    result = await open_settings(hass, entry)
    values = form_defaults()
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], form_input(values | {"cap_rated_life_h": 0})
    )
    assert result["errors"] == with_base({"cap_rated_life_h": "invalid_number"})
    await _save_options(hass, entry, result, values | {CONF_CAPACITANCE_UF: 10})


@pytest.mark.parametrize(
    ("step", "user_input"),
    [
        ("commission_code", {"code": "MT:Y.K9042C00KA0648G00"}),
        # By PIN alone (no IP address: the server discovers the device).
        ("commission_ip", {"pin": 20202021}),
    ],
)
async def test_commissioned_device_without_onoff_is_refused(
    hass: HomeAssistant, step: str, user_input: dict[str, Any]
) -> None:
    """
    A device that cannot switch the lamp is refused with a clear error.

    The rig's only device is a relay, so this runs against the fake server of
    tests/link_helpers.py, which "commissions" a contact sensor.
    """
    sensor = node_dump(NO_ONOFF)["data"]["node"]
    async with fake_version_server(
        schema_version=11, min_supported_schema_version=9, commission_node=sensor
    ) as url:
        result = await submit(hass, await start(hass), {CONF_URL: url})
        # No node to pick on this server: only commissioning is offered.
        assert result["menu_options"] == ["commission_code", "commission_ip"]
        result = await submit(hass, result, {"next_step_id": step})
        result = await _run_progress(hass, await submit(hass, result, user_input))
    assert result["step_id"] == step
    assert result["errors"] == {"base": "not_a_relay"}


async def test_user_server_hangs_up_before_its_nodes(
    hass: HomeAssistant, matter_url: str, nodes: dict[str, int]
) -> None:
    """A server that closes before sending its nodes cannot be used."""
    async with fake_version_server(
        schema_version=11, min_supported_schema_version=9, close_on_listen=True
    ) as url:
        result = await submit(hass, await start(hass), {CONF_URL: url})
    assert result["errors"] == {"base": "cannot_connect"}
    await recover_with_the_server(hass, result, matter_url, nodes)


SCENARIO_NUMBERS = [option for option in OPTIONS if option.kind == "number" and option.path]


def _form_selectors(result: dict[str, Any]) -> dict[str, Any]:
    return {key: selector for key, (_marker, selector) in form_fields(result).items()}


async def test_form_limits_are_the_simulators(hass: HomeAssistant) -> None:
    """Every number that sets a scenario value: the form takes exactly the simulator's range."""
    entry = await _options_entry(hass)
    result = await open_settings(hass, entry)
    selectors = _form_selectors(result)
    assert len(SCENARIO_NUMBERS) == len(SCENARIO_PATHS) - 1  # all but the lamp type
    for option in SCENARIO_NUMBERS:
        assert option.path is not None
        limits = number_range(option.path)
        config = selectors[option.key].config
        low, high = limits.low / option.scale, limits.high / option.scale
        assert (config["min"], config["max"]) == (low, high), option.key
    hass.config_entries.options.async_abort(result["flow_id"])


@pytest.mark.parametrize("option", SCENARIO_NUMBERS, ids=lambda option: option.key)
async def test_options_form_refuses_just_over_the_simulators_limit(
    hass: HomeAssistant, option: Any
) -> None:
    """Refused at once, on the field, not later by the simulator with another error."""
    limits = number_range(option.path)
    over = limits.high + 1 if option.whole else math.nextafter(limits.high, math.inf)
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(scenario_from_options({option.key: over}))
    assert refused.value.key == option.path
    # The same in the form's unit (kΩ for the bleed resistor).
    high = limits.high / option.scale
    over_in_the_form = high + 1 if option.whole else math.nextafter(high, math.inf)
    entry = await _options_entry(hass)
    result = await open_settings(hass, entry)
    values = form_defaults()
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], form_input(values | {option.key: over_in_the_form})
    )
    assert result["errors"] == with_base({option.key: "invalid_number"})
    hass.config_entries.options.async_abort(result["flow_id"])


async def test_adaptor_step_reports_every_error_at_once(
    hass: HomeAssistant, matter_url: str, nodes: dict[str, int]
) -> None:
    """Not Home Assistant's schema error first, then ours on the next submit."""
    result = await to_adaptor_step(hass, matter_url, nodes)
    values = FLAT_ADAPTOR_INPUT | {
        CONF_LAMP_COUNT: 2.5,
        CONF_MAINS_VOLTAGE: 1000,
        CONF_MAINS_FREQUENCY: True,
    }
    result = await submit(hass, result, form_input(values))
    assert result["errors"] == with_base(
        {
            CONF_LAMP_COUNT: "not_whole_number",
            CONF_MAINS_VOLTAGE: "invalid_number",
            CONF_MAINS_FREQUENCY: "not_a_number",
        }
    )
    problems = result["description_placeholders"]["problems"]
    assert problems.startswith("Number of lamps: Enter a whole number. Mains voltage: ")
    assert "Mains frequency: Enter a number." in problems
    # Every value as typed.
    assert shown(result)[CONF_LAMP_COUNT] == 2.5
    assert shown(result)[CONF_MAINS_VOLTAGE] == 1000
    result = await submit(hass, result, ADAPTOR_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.config_entries.async_unload(result["result"].entry_id)


@pytest.mark.parametrize(
    ("country", "voltage", "frequency"),
    [("US", 120, 60), ("CA", 120, 60), ("DE", 230, 50), ("FR", 230, 50), (None, 230, 50)],
)
async def test_adaptor_step_mains_from_the_country(
    *,
    hass: HomeAssistant,
    matter_url: str,
    nodes: dict[str, int],
    country: str | None,
    voltage: float,
    frequency: float,
) -> None:
    hass.config.country = country
    result = await to_adaptor_step(hass, matter_url, nodes)
    assert shown(result)[CONF_MAINS_VOLTAGE] == voltage
    assert shown(result)[CONF_MAINS_FREQUENCY] == frequency
    # Sections: the lamp, then the mains.
    assert [str(name) for name in result["data_schema"].schema] == ["lamp", "mains"]
    # Submitted as shown, the entry keeps the country's mains.
    lamp = {CONF_LAMP_TYPE: "led", CONF_LAMP_COUNT: 1, CONF_LAMP_POWER_W: 10}
    result = await submit(hass, result, form_input(lamp | shown(result)))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"][CONF_MAINS_VOLTAGE] == voltage
    assert result["options"][CONF_MAINS_FREQUENCY] == frequency
    await hass.config_entries.async_unload(result["result"].entry_id)
