"""
The advisor in the forms: the options menu's Troubleshoot and "Which parts to buy", the fix flows.

Each runs its work as a progress step, then shows the answer in words and
changes nothing. The parts recommender's stock is narrowed to a few parts
here (the whole sweep takes minutes); its judgement is the core's, tested in
tests/circuit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, Final

import pytest
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.no_neutral import advice
from custom_components.no_neutral.circuit.recommend import Stock
from custom_components.no_neutral.const import DOMAIN
from custom_components.no_neutral.options import (
    CONF_LAMP_COUNT,
    CONF_LAMP_POWER_W,
    CONF_LAMP_TYPE,
    CONF_MAINS_FREQUENCY,
    CONF_MAINS_VOLTAGE,
)
from custom_components.no_neutral.repairs import async_sync_supply_evidence_issue, issue_id
from tests.adaptor_common import add_relay_entry, tick

# One circuit (three capacitor ratings, four fusible-resistor ratings): one
# simulation, about a second.
SMALL_STOCK = Stock(
    capacitances_uf=(15.0,), fuse_resistances_ohm=(4.7,), bleed_resistances_ohm=(220e3,)
)
# The default entry's lamp and mains, as the parts form shows them.
ENTRY_LAMP_AND_MAINS: dict[str, Any] = {
    CONF_LAMP_TYPE: "led",
    CONF_LAMP_COUNT: 1,
    CONF_LAMP_POWER_W: 10.0,
    CONF_MAINS_VOLTAGE: 230.0,
    CONF_MAINS_FREQUENCY: 50.0,
}


@pytest.fixture
def small_stock(monkeypatch: pytest.MonkeyPatch) -> Stock:
    monkeypatch.setattr(advice, "PARTS_STOCK", SMALL_STOCK)
    return SMALL_STOCK


async def _entry(hass: HomeAssistant, **options: Any) -> MockConfigEntry:
    # Not set up (nothing listens there): the options' advisor needs no relay.
    return await add_relay_entry(
        hass, "ws://127.0.0.1:9/ws", 1, unique_id="0000000000001234-0000000000000001", **options
    )


async def _menu(hass: HomeAssistant, entry: MockConfigEntry, choice: str) -> Any:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": choice}
    )


async def _progress(hass: HomeAssistant, result: Any, action: str, manager: Any) -> Any:
    """The work runs as a progress step; once it ends, the flow moves on by itself."""
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["progress_action"] == action
    # The work is a task of Home Assistant's (not a background one, as the
    # relay's link is): waiting for it ends with the work.
    await hass.async_block_till_done()
    return await manager.async_configure(result["flow_id"])


async def _close(manager: Any, result: Any) -> None:
    """Close the answer: the flow ends, having shown its advice."""
    result = await manager.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "advice_shown"


async def test_troubleshoot_refuses_no_symptom_on_its_field(hass: HomeAssistant) -> None:
    entry = await _entry(hass)
    result = await _menu(hass, entry, "troubleshoot")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "troubleshoot"
    assert set(result["data_schema"].schema) == {"symptoms", "ambient_c"}
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["errors"] == {"symptoms": "no_symptom"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"symptoms": ["ghosting"], "ambient_c": float("nan")}
    )
    assert result["errors"] == {"ambient_c": "advice_input"}
    assert result["description_placeholders"]["reason"] == "must be between -40 and 85"


@pytest.mark.long
@pytest.mark.matter
@pytest.mark.usefixtures("socket_enabled")
async def test_troubleshoot_finds_the_missing_bleed_resistor(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    """Ghosting on the default adaptor: the answer names the bleed resistor, what to measure."""
    entry = await entry_factory()
    before = dict(entry.options)
    result = await _menu(hass, entry, "troubleshoot")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"symptoms": ["ghosting"]}
    )
    manager = hass.config_entries.options
    result = await _progress(hass, result, "troubleshoot_run", manager)
    assert result["step_id"] == "troubleshoot_answer"
    answer = result["description_placeholders"]["answer"]
    first = answer.split("\n\n")[0].splitlines()
    assert first[0] == "**1. Bleed resistor missing**"
    assert first[1] == "- Explains: The lamp glows or flashes while off"
    assert "- Measure: resistance of the bleed resistor: good 198-242 kΩ; faulty: open" in first
    assert "- Fix: fit the bleed resistor: 220 kΩ" in first
    assert answer.endswith("measure each part out of the circuit.")
    await _close(manager, result)
    assert dict(entry.options) == before


@pytest.mark.usefixtures("small_stock")
async def test_parts_for_the_entrys_lamp_then_nothing_changes(hass: HomeAssistant) -> None:
    entry = await _entry(hass)
    before = dict(entry.options)
    result = await _menu(hass, entry, "parts")
    assert result["step_id"] == "parts"
    keys = [CONF_LAMP_TYPE, CONF_LAMP_COUNT, CONF_LAMP_POWER_W, CONF_MAINS_VOLTAGE]
    assert [str(key) for key in result["data_schema"].schema] == [*keys, CONF_MAINS_FREQUENCY]
    shown = {str(key): key.description["suggested_value"] for key in result["data_schema"].schema}
    assert shown == {
        CONF_LAMP_TYPE: "led",
        CONF_LAMP_COUNT: 1,
        CONF_LAMP_POWER_W: 10.0,
        CONF_MAINS_VOLTAGE: 230.0,
        CONF_MAINS_FREQUENCY: 50.0,
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], shown)
    result = await _progress(hass, result, "parts_run", hass.config_entries.options)
    assert result["step_id"] == "parts_answer"
    lines = result["description_placeholders"]["answer"].splitlines()
    # The best is the circuit's lowest passing ratings; its margins in words.
    assert lines[0].endswith(" of 12 parts combinations qualify.")
    assert lines[2].startswith("**1. capacitor 15 µF 450 V, fusible resistor 4.7 Ω 1 W")
    assert lines[2].endswith(", bleed resistor 220 kΩ**")
    assert lines[3].startswith("- Margins: lamp power +")
    assert "Why the others lost (combinations): " in lines[-1]
    await _close(hass.config_entries.options, result)
    assert dict(entry.options) == before


@pytest.mark.usefixtures("small_stock")
async def test_parts_for_no_lamp_say_what_to_change(hass: HomeAssistant) -> None:
    entry = await _entry(hass)
    result = await _menu(hass, entry, "parts")
    given = ENTRY_LAMP_AND_MAINS | {CONF_LAMP_TYPE: "capacitive_dropper", CONF_LAMP_POWER_W: 7}
    result = await hass.config_entries.options.async_configure(result["flow_id"], given)
    result = await _progress(hass, result, "parts_run", hass.config_entries.options)
    answer = result["description_placeholders"]["answer"]
    assert answer.startswith("0 of 12 parts combinations qualify.")
    assert answer.endswith(
        "No combination qualifies. What to change:\n- another lamp type (no load)"
    )


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({CONF_LAMP_POWER_W: float("nan")}, CONF_LAMP_POWER_W, "invalid_number"),
        ({CONF_LAMP_COUNT: 1.5}, CONF_LAMP_COUNT, "not_whole_number"),
        ({CONF_LAMP_POWER_W: 0}, CONF_LAMP_POWER_W, "invalid_option"),
    ],
)
async def test_parts_refuses_bad_input_on_its_field(
    hass: HomeAssistant, change: dict[str, Any], field: str, error: str
) -> None:
    entry = await _entry(hass)
    result = await _menu(hass, entry, "parts")
    given = {
        CONF_LAMP_TYPE: "led",
        CONF_LAMP_COUNT: 1,
        CONF_LAMP_POWER_W: 10,
        CONF_MAINS_VOLTAGE: 230,
        CONF_MAINS_FREQUENCY: 50,
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], given | change)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error, "base": "fields_invalid"}
    assert result["description_placeholders"]["problems"]


# --- the repair issues' fix flows ---------------------------------------------


def _issue(hass: HomeAssistant, entry: MockConfigEntry, code: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, issue_id(entry.entry_id, code))


async def _fix_flow(hass: HomeAssistant, entry: MockConfigEntry, code: str) -> tuple[Any, Any]:
    """Open the fix flow of the entry's issue `code`, as the Repairs panel does."""
    issue = _issue(hass, entry, code)
    assert issue is not None
    assert issue.is_fixable
    manager = repairs_flow_manager(hass)
    assert manager is not None
    return manager, await manager.async_init(DOMAIN, context={"issue_id": issue.issue_id})


@pytest.mark.matter
@pytest.mark.usefixtures("socket_enabled", "small_stock")
async def test_no_load_fix_flow_shows_what_to_change(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    """The issue stays: a lamp cures it, and the issue clears when the options say so."""
    assert await async_setup_component(hass, "repairs", {})
    entry = await entry_factory(lamp_type="none")
    manager, flow = await _fix_flow(hass, entry, "no_load")
    assert flow["step_id"] == "intro"
    assert flow["description_placeholders"] == {"name": "Hall lamp"}
    result = await manager.async_configure(flow["flow_id"], {})
    result = await _progress(hass, result, "run", manager)
    assert result["step_id"] == "answer"
    answer = result["description_placeholders"]["answer"]
    assert answer.endswith("- another lamp type (no load)")
    await _close(manager, result)
    assert _issue(hass, entry, "no_load") is not None


@pytest.mark.matter
@pytest.mark.usefixtures("socket_enabled", "small_stock")
async def test_end_of_life_offers_which_capacitor_to_buy(
    hass: HomeAssistant, nearly_worn: Callable[..., Any], freezer: Any
) -> None:
    assert await async_setup_component(hass, "repairs", {})
    entry = await nearly_worn()
    await tick(hass, freezer, timedelta(minutes=1))
    manager, flow = await _fix_flow(hass, entry, "cap_end_of_life")
    assert flow["type"] is FlowResultType.MENU
    assert flow["menu_options"] == ["run", "confirm"]
    result = await manager.async_configure(flow["flow_id"], {"next_step_id": "run"})
    result = await _progress(hass, result, "run", manager)
    assert "**1. capacitor 15 µF 450 V" in result["description_placeholders"]["answer"]
    await _close(manager, result)
    # Not replaced yet: the issue stays.
    assert _issue(hass, entry, "cap_end_of_life") is not None


# As the coordinator raises the issue when the relay browned out with the light on.
BROWN_OUT: Final = {"closed_v": "9", "open_v": "8", "min_v": "3"}


async def _supply_evidence_flow(hass: HomeAssistant, entry: MockConfigEntry) -> tuple[Any, Any]:
    """Raise the brown-out issue (light on) and open its fix flow."""
    assert await async_setup_component(hass, "repairs", {})
    async_sync_supply_evidence_issue(hass, entry, BROWN_OUT, light_on=True)
    return await _fix_flow(hass, entry, "supply_evidence")


@pytest.mark.long
@pytest.mark.matter
@pytest.mark.usefixtures("socket_enabled")
async def test_supply_evidence_runs_the_fault_finder_with_the_light_as_observed(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    entry = await entry_factory()
    manager, flow = await _supply_evidence_flow(hass, entry)
    assert flow["description_placeholders"] == {"name": "Hall lamp", **BROWN_OUT}
    result = await manager.async_configure(flow["flow_id"], {})
    result = await _progress(hass, result, "run", manager)
    answer = result["description_placeholders"]["answer"]
    light_on = "The relay will not stay connected or keeps restarting (light on)"
    assert f"- Explains: {light_on}" in answer
    assert "(light off)" not in answer.split("- Explains: ")[1].splitlines()[0]
    await _close(manager, result)
    assert _issue(hass, entry, "supply_evidence") is not None


@pytest.mark.matter
@pytest.mark.usefixtures("socket_enabled")
async def test_supply_evidence_past_the_fault_finders_ambient_says_why(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    """The options allow 100 °C, the fault finder 85 °C: the fix flow says so, no crash."""
    entry = await entry_factory(ambient_temp_c=90.0)
    manager, flow = await _supply_evidence_flow(hass, entry)
    result = await manager.async_configure(flow["flow_id"], {})
    result = await _progress(hass, result, "run", manager)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "advice_failed"
    assert result["description_placeholders"] == {"reason": "ambient_c: must be between -40 and 85"}
