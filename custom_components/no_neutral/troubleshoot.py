"""
The `no_neutral.diagnose` action: the fault finder (circuit/diagnosis.py) on an entry's adaptor.

The candidates are simulated through the adaptor's async_simulate_many, on
the simulator client that every entry shares (paced executor runs, cached
per scenario: the entry's own scenario is usually cached already), in two
batches: the scenario and every candidate, then the follow-ups of those
whose fusible resistor opens first (about half the time of one run each);
only the ranking, which takes milliseconds, runs in the event loop. The
options flow's Troubleshoot step and the repairs' fix flows call
async_diagnose too (advice.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any, Final

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse

from .action_fields import (
    ATTR_SCENARIO,
    async_register_action,
    call_adaptor,
    entry_field,
    given_in_scenario,
    invalid_field,
    simulator_errors,
)
from .circuit import ScenarioError
from .circuit.ageing import CapacitorSpec
from .circuit.diagnosis import (
    DiagnosisError,
    check_ambient,
    check_symptoms,
    diagnose,
    first_scenarios,
    follow_up,
    scenario_key,
)
from .circuit.params import merge_scenario
from .options import capacitor_spec

SERVICE_DIAGNOSE: Final = "diagnose"
ATTR_SYMPTOMS: Final = "symptoms"
ATTR_AMBIENT_C: Final = "ambient_c"
# As for `simulate`: every value is checked here (action_fields.py).
FIELDS: Final = frozenset({ATTR_CONFIG_ENTRY_ID, ATTR_SYMPTOMS, ATTR_AMBIENT_C, ATTR_SCENARIO})


async def async_diagnose(
    simulate_many_fn: Callable[[list[dict[str, Any]]], Awaitable[list[Any]]],
    scenario: Mapping[str, Any],
    symptoms: object,
    *,
    ambient_c: object,
    capacitor: CapacitorSpec | None = None,
) -> dict[str, Any]:
    """
    Return the fault finder's answer for an adaptor built as `scenario`.

    `simulate_many_fn` is the adaptor's async_simulate_many: each scenario's
    figures, or its ScenarioError or ArithmeticError in its place, from the
    shared simulator client's cached, paced batches.

    Raises DiagnosisError or ScenarioError (naming the field) before
    simulating anything, ArithmeticError when the scenario as given cannot be
    solved, SimulatorTimeoutError for a run stopped at its deadline.
    """
    ticked = check_symptoms(symptoms)
    ambient = check_ambient(ambient_c)
    firsts = first_scenarios(scenario)
    runs: dict[str, dict[str, Any] | ArithmeticError] = {}

    async def batch(mappings: list[dict[str, Any]]) -> None:
        todo = {scenario_key(m): m for m in mappings if scenario_key(m) not in runs}
        if not todo:
            return
        for key, outcome in zip(todo, await simulate_many_fn(list(todo.values())), strict=True):
            if isinstance(outcome, ScenarioError):
                raise outcome.with_traceback(None)
            runs[key] = outcome

    await batch(firsts)
    await batch(
        [
            after
            for mapping in firsts
            if not isinstance(figures := runs[scenario_key(mapping)], ArithmeticError)
            and (after := follow_up(mapping, figures)) is not None
        ]
    )

    def lookup(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
        outcome = runs[scenario_key(mapping)]
        if isinstance(outcome, ArithmeticError):
            raise outcome
        return outcome

    return diagnose(scenario, ticked, ambient_c=ambient, capacitor=capacitor, run=lookup)


def _scenario_field(data: Mapping[str, Any], key: str) -> str:
    """Name a bad scenario key by the call's field, or by the entry's option that set it."""
    if given_in_scenario(data.get(ATTR_SCENARIO), key):
        return f"{ATTR_SCENARIO}.{key}"
    return entry_field(key)


async def _async_diagnose_call(call: ServiceCall) -> ServiceResponse:
    data = call.data
    adaptor = call_adaptor(call, FIELDS)
    overrides = data.get(ATTR_SCENARIO, {})
    if not isinstance(overrides, Mapping):
        raise invalid_field(ATTR_SCENARIO, "not an object of scenario sections")
    scenario = merge_scenario(adaptor.data.scenario, overrides)
    try:
        with simulator_errors(partial(_scenario_field, data)):
            answer = await async_diagnose(
                adaptor.async_simulate_many,
                scenario,
                data.get(ATTR_SYMPTOMS),
                ambient_c=data.get(ATTR_AMBIENT_C, adaptor.data.ambient_c),
                capacitor=capacitor_spec(adaptor.options),
            )
    except DiagnosisError as err:
        raise invalid_field(err.key, err.reason) from err
    return {"scenario": scenario, "diagnosis": answer}


def async_register(hass: HomeAssistant) -> None:
    """Register `no_neutral.diagnose` (called from async_setup_services)."""
    async_register_action(hass, SERVICE_DIAGNOSE, _async_diagnose_call)
