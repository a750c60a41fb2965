"""
Bad input to the `no_neutral.simulate` action: a translated
ServiceValidationError that names the field, or figures that are all finite.

The entry is set up for real (real server, test node, real first simulation).
For the fuzz itself the coordinator's `simulate` is replaced by the real
validation followed by the real figures of the entry's own scenario: a full
simulation takes seconds, and the simulator's own fuzz (test_simulator_fuzz)
covers what it computes. What is under test here is the action's handling of
its input: schema, merging, validation, error mapping.
"""

from __future__ import annotations

import math
from typing import Any

import probatio
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from hypothesis import strategies as st

from custom_components.no_neutral import coordinator as coordinator_module
from custom_components.no_neutral.circuit import parse_scenario
from custom_components.no_neutral.const import DOMAIN
from custom_components.no_neutral.options import SCENARIO_PATHS
from tests.adaptor_common import entry_factory, memo_simulate  # noqa: F401 (fixture)

from .common import fuzz_in_hass, is_finite_tree
from .strategies import BAD_OR_ANY, garbage_scenarios, one_fault, valid_value

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled"),
]

ACTION_FIELDS = {*SCENARIO_PATHS, "fuse_blown", "relay_closed", "scenario", "config_entry_id"}

CALLS = st.fixed_dictionaries(
    {},
    optional={
        **{
            option: st.one_of(valid_value(path), BAD_OR_ANY)
            for option, path in SCENARIO_PATHS.items()
        },
        "fuse_blown": st.one_of(st.booleans(), BAD_OR_ANY),
        "relay_closed": st.one_of(st.booleans(), BAD_OR_ANY),
        "scenario": st.one_of(garbage_scenarios, one_fault().map(lambda case: case[0])),
    },
)


@pytest.fixture
async def loaded_entry(
    hass: HomeAssistant,
    entry_factory: Any,  # noqa: F811 (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    monkeypatch.setattr(coordinator_module, "simulate", memo_simulate)
    entry = await entry_factory()
    reference = memo_simulate(entry.runtime_data.adaptor.data.scenario)

    def validated_reference(scenario: dict[str, Any]) -> dict[str, Any]:
        parse_scenario(scenario)
        return dict(reference)

    monkeypatch.setattr(coordinator_module, "simulate", validated_reference)
    return entry


def _given_under_scenario(scenario: Any, path: str) -> bool:
    """Whether the scenario object sets this dotted path (or a key named as all of it)."""
    if isinstance(scenario, dict) and path in scenario:
        return True
    section, _, rest = path.partition(".")
    return bool(
        rest and isinstance(scenario, dict) and _given_under_scenario(scenario.get(section), rest)
    )


async def _call(hass: HomeAssistant, entry_id: str, data: dict[str, Any]) -> None:
    payload = {"config_entry_id": entry_id, **data}
    try:
        response = await hass.services.async_call(
            DOMAIN, "simulate", payload, blocking=True, return_response=True
        )
    except ServiceValidationError as err:
        assert err.translation_domain == DOMAIN, err
        assert err.translation_key == "invalid_field", err
        field = err.translation_placeholders["field"]
        assert field in ACTION_FIELDS or field.startswith("scenario."), field
        # The field as the call gave it: a flat field, or a path under `scenario`.
        assert field.split(".")[0] in payload, (field, payload)
        if field.startswith("scenario."):
            assert _given_under_scenario(payload["scenario"], field.removeprefix("scenario."))
        assert err.translation_placeholders["reason"]
        return
    except probatio.Invalid as err:
        # The schema's own error names the path.
        assert err.path, err
        return
    assert response is not None
    assert is_finite_tree(response["figures"])
    parse_scenario(response["scenario"])
    for option, path in SCENARIO_PATHS.items():
        if option in data:
            section, name = path.split(".")
            given = data[option]
            assert response["scenario"][section][name] == given or (
                isinstance(given, float) and math.isnan(given)
            )


async def test_action_fuzz(hass: HomeAssistant, loaded_entry: Any) -> None:
    await fuzz_in_hass(hass, CALLS, lambda data: _call(hass, loaded_entry.entry_id, data), 200)


@pytest.mark.long
async def test_action_fuzz_long(hass: HomeAssistant, loaded_entry: Any) -> None:
    await fuzz_in_hass(hass, CALLS, lambda data: _call(hass, loaded_entry.entry_id, data), 3000)


async def test_action_names_the_bad_field(hass: HomeAssistant, loaded_entry: Any) -> None:
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN,
            "simulate",
            {"config_entry_id": loaded_entry.entry_id, "lamp_power_w": "nan"},
            blocking=True,
            return_response=True,
        )
    assert caught.value.translation_placeholders["field"] == "lamp_power_w"


async def test_action_rejects_an_unknown_entry(hass: HomeAssistant, loaded_entry: Any) -> None:
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN,
            "simulate",
            {"config_entry_id": "no-such-entry"},
            blocking=True,
            return_response=True,
        )


async def test_action_names_the_scenario_field_it_was_given(
    hass: HomeAssistant, loaded_entry: Any
) -> None:
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN,
            "simulate",
            {"config_entry_id": loaded_entry.entry_id, "scenario": {"mains": {"voltage_rms": 0}}},
            blocking=True,
            return_response=True,
        )
    assert caught.value.translation_placeholders["field"] == "scenario.mains.voltage_rms"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        # A flat field wins over the same path under `scenario`: it is the one at fault.
        (
            {"mains_voltage_rms": 0, "scenario": {"mains": {"voltage_rms": 230}}},
            "mains_voltage_rms",
        ),
        ({"scenario": {"mains": {"bogus": 1}}}, "scenario.mains.bogus"),
        ({"scenario": {"mains": 5}}, "scenario.mains"),
        ({"scenario": {"relay": {"closed": "yes"}}}, "scenario.relay.closed"),
        ({"relay_closed": "yes"}, "relay_closed"),
        # A relation broken by the one value the call gave: that value is named,
        # not the entry's own other setting (the LED driver's stop voltage).
        ({"scenario": {"lamp": {"led_start_v": 50}}}, "scenario.lamp.led_start_v"),
        # A section named like a path: the key as given, not the option of that path.
        ({"scenario": {"mains.voltage_rms": None}}, "scenario.mains.voltage_rms"),
        (
            {"mains_voltage_rms": 230, "scenario": {"mains.voltage_rms": 1}},
            "scenario.mains.voltage_rms",
        ),
    ],
)
async def test_action_names_the_field_the_call_used(
    hass: HomeAssistant, loaded_entry: Any, data: dict[str, Any], field: str
) -> None:
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN,
            "simulate",
            {"config_entry_id": loaded_entry.entry_id, **data},
            blocking=True,
            return_response=True,
        )
    assert caught.value.translation_placeholders["field"] == field
