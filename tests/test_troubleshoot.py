"""The `no_neutral.diagnose` action: the fault finder on an entry, errors naming the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from homeassistant.core import HomeAssistant

from custom_components.no_neutral import simulator as simulator_module
from tests.adaptor_common import call_action, refused_field

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled"),
]


@pytest.mark.long
async def test_no_bleed_resistor_is_found_from_ghosting(
    hass: HomeAssistant,
    entry_factory: Callable[..., Any],
    simulator_runs: list[list[Any]],
) -> None:
    """The candidates run through the shared simulator in batches; the entry is left as it was."""
    entry = await entry_factory()
    adaptor = entry.runtime_data.adaptor
    before = len(simulator_runs)
    response = await call_action(
        hass, "diagnose", config_entry_id=entry.entry_id, symptoms=["ghosting"]
    )
    assert response["scenario"] == adaptor.data.scenario
    answer = response["diagnosis"]
    assert answer["symptoms"] == ["ghosting"]
    top = answer["candidates"][0]
    assert (top["fault"], top["rank"]) == ("bleed_missing", 1)
    assert top["actions"][0] == {
        "action": "fit",
        "part": "bleed_resistor",
        "resistance_ohm": 220000,
    }
    # The entry's own scenario was cached: every other distinct scenario ran
    # once, in the candidates' batch and the follow-ups' (none one at a time).
    runs = simulator_runs[before:]
    assert 1 <= len(runs) <= 2
    ran = [simulator_module.scenario_key(scenario) for run in runs for scenario in run]
    assert len(set(ran)) == len(ran) == answer["simulations"] - 1
    assert simulator_module.scenario_key(response["scenario"]) not in ran
    assert entry.runtime_data.adaptor.data.scenario == response["scenario"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"symptoms": ["lamp_glows"]}, "symptoms"),
        ({"symptoms": []}, "symptoms"),
        ({"symptoms": "ghosting"}, "symptoms"),
        ({}, "symptoms"),
        ({"symptoms": ["ghosting"], "ambient_c": 300}, "ambient_c"),
        ({"symptoms": ["ghosting"], "ambient_c": "warm"}, "ambient_c"),
        (
            {"symptoms": ["ghosting"], "scenario": {"cable": {"length_m": -1}}},
            "scenario.cable.length_m",
        ),
        ({"symptoms": ["ghosting"], "scenario": {"lamp": 5}}, "scenario.lamp"),
        ({"symptoms": ["ghosting"], "scenario": "hot"}, "scenario"),
        ({"symptoms": ["ghosting"], "symptom": ["ghosting"]}, "symptom"),
    ],
)
async def test_bad_input_names_the_field(
    hass: HomeAssistant,
    entry_factory: Callable[..., Any],
    simulator_runs: list[dict[str, Any]],
    data: dict[str, Any],
    field: str,
) -> None:
    """Refused before any candidate is simulated."""
    await entry_factory()
    before = len(simulator_runs)
    assert await refused_field(hass, "diagnose", **data) == field
    assert len(simulator_runs) == before


async def test_a_bad_option_of_the_entry_is_named_by_its_option(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    entry = await entry_factory(cap_voltage_rating_v=0)
    field = await refused_field(
        hass, "diagnose", config_entry_id=entry.entry_id, symptoms=["cap_hot"]
    )
    assert field == "cap_voltage_rating_v"
