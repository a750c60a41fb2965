"""
The `no_neutral.recommend_parts` action: which parts to buy for an entry's lamps.

The sweep (circuit/recommend.py's recommend()) runs in an executor job; its
circuits are simulated through the simulator client every entry shares, in
batches of SWEEP_BATCH (each batch one run: solved together, paced, under the
client's deadline). So the sweep never holds the simulator for minutes: the
entries' own runs take their turns between its batches, and no second thread
changes the interpreter's switch interval while a paced run has it set. A
second call while a sweep runs waits for it (one sweep per Home Assistant:
two would only share the same simulator turns and both finish late); the
last answers are kept, so the same question asked again is answered at once.
The advisor's forms (advice.py) run their sweeps here too.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import asdict, dataclass, field
from functools import partial
from itertools import islice
from typing import Any, Final

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse
from homeassistant.util.hass_dict import HassKey

from .action_fields import async_register_action, call_adaptor, invalid_field, simulator_errors
from .circuit import parse_scenario
from .circuit.diagnosis import DiagnosisError, check_ambient
from .circuit.params import DEFAULT_SCENARIO, merge_scenario, number_range
from .circuit.recommend import (
    AMBIENT_C,
    Demands,
    Stock,
    batched_figures,
    circuit_figures,
    recommend,
)
from .const import DOMAIN
from .data import NoNeutralConfigEntry
from .options import (
    CONF_CAP_RATED_LIFE_H,
    CONF_CAP_RATED_TEMP_C,
    option_for_path,
    option_value,
    scenario_from_options,
)
from .simulator import async_get_simulator as get_simulator
from .simulator import scenario_key

SERVICE_RECOMMEND_PARTS: Final = "recommend_parts"
ATTR_LAMP: Final = "lamp"
ATTR_MAINS: Final = "mains"
ATTR_AMBIENT_C: Final = "ambient_c"
ATTR_STOCK: Final = "stock"
# As for `simulate`: every value is checked here, so that each bad input gets
# the same translated error naming its field (action_fields.py).
FIELDS: Final = frozenset({ATTR_CONFIG_ENTRY_ID, ATTR_LAMP, ATTR_MAINS, ATTR_AMBIENT_C, ATTR_STOCK})
# The scenario keys a call may set, by section: the lamp's, and the mains' two.
SECTION_KEYS: Final = {
    ATTR_LAMP: frozenset(DEFAULT_SCENARIO["lamp"]),
    ATTR_MAINS: frozenset({"voltage_rms", "frequency_hz"}),
}
# Each stock list and the scenario path whose range its values must be in
# (a rating only needs to be positive).
STOCK_PATHS: Final[dict[str, str | None]] = {
    "capacitances_uf": "smoothing.capacitance_uf",
    "cap_voltage_ratings_v": None,
    "fuse_resistances_ohm": "smoothing.fuse_resistance_ohm",
    "fuse_power_ratings_w": None,
    "bleed_resistances_ohm": "smoothing.bleed_resistance_ohm",
}
MAX_STOCK_VALUES: Final = 30
# The kind of the simulator client's cache that holds the sweep's circuits.
CIRCUIT_KIND: Final = "recommend_circuit"
ANSWERS_KEPT: Final = 8
# Circuits per client run: a batch of 16 took 2.4 s on the 2-core test
# machine (0.15 s a circuit, as fast as 32 at a time; 8 took 0.17 s a circuit,
# one at a time 0.46 s), so a batch holds the simulator far under the
# client's DEADLINE_S and an entry's own run waits a few seconds at most.
SWEEP_BATCH: Final = 16
# How often a sweep waiting on a circuit looks whether its caller has gone.
POLL_S: Final = 1.0

SWEEPS: HassKey[Sweeps] = HassKey(f"{DOMAIN}_sweeps")


@dataclass
class Sweeps:
    """One sweep at a time per Home Assistant, and the last answers."""

    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    answers: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)


class _AbandonedError(Exception):
    """The caller went away (cancelled, Home Assistant stops): the sweep ends at its next batch."""


def _circuits_job(jobs: list[dict[str, Any]]) -> list[Any]:
    """
    Simulate a batch of a sweep's circuits (in the simulator client's executor run).

    Each job is a circuit with its sweep's stock and demands (one sweep's
    batch shares them). Solved together (batched_figures: each circuit's
    figures as its own run's); a batch that cannot be solved is solved again
    one circuit at a time, each failing circuit's ArithmeticError in its place.
    """
    stock = Stock(**{name: tuple(values) for name, values in jobs[0]["stock"].items()})
    demands = Demands(**jobs[0]["demands"])
    circuits = [job["circuit"] for job in jobs]
    try:
        return list(batched_figures(circuits, stock, demands))
    except ArithmeticError:
        outcomes: list[Any] = []
        for circuit in circuits:
            try:
                outcomes.append(circuit_figures(circuit, stock, demands))
            except ArithmeticError as err:
                outcomes.append(err)
        return outcomes


def _stock_dict(stock: Stock) -> dict[str, Any]:
    return {name: list(values) for name, values in asdict(stock).items()}


async def async_recommend(
    hass: HomeAssistant, base: Mapping[str, Any], *, stock: Stock, demands: Demands
) -> dict[str, Any]:
    """
    Return recommend()'s answer for `base`, its circuits run in batches by the shared client.

    Used by the action and by the advisor's forms. Raises ScenarioError
    (naming the scenario key) before simulating, the client's ArithmeticError
    or SimulatorTimeoutError from a circuit.
    """
    sweeps = hass.data.setdefault(SWEEPS, Sweeps())
    key = scenario_key(
        {"base": dict(base), "stock": _stock_dict(stock), "demands": asdict(demands)}
    )
    async with sweeps.turn:
        if (answer := sweeps.answers.get(key)) is not None:
            sweeps.answers.move_to_end(key)
            return answer
        client = get_simulator(hass)
        loop = hass.loop
        gone = threading.Event()
        job = {"stock": _stock_dict(stock), "demands": asdict(demands)}

        def abandoned() -> bool:
            # A stopping Home Assistant may not cancel the call, and its loop
            # will not run the batch waited for.
            return gone.is_set() or hass.is_stopping

        def wait(future: Future[list[Any]]) -> list[Any]:
            while True:
                try:
                    return future.result(POLL_S)
                except FutureTimeoutError:
                    if abandoned():
                        future.cancel()
                        raise _AbandonedError from None

        def through_client(
            _fn: Callable[[Mapping[str, Any]], dict[str, Any]],
            scenarios: Iterable[Mapping[str, Any]],
        ) -> Iterator[dict[str, Any]]:
            # In the sweep's thread: each SWEEP_BATCH circuits are one run of
            # the shared client, the entries' own runs taking turns between them.
            circuits = iter(scenarios)
            while batch := [
                {**job, "circuit": circuit} for circuit in islice(circuits, SWEEP_BATCH)
            ]:
                if abandoned():
                    raise _AbandonedError
                run = client.async_run_many(CIRCUIT_KIND, _circuits_job, batch)
                for outcome in wait(asyncio.run_coroutine_threadsafe(run, loop)):
                    if isinstance(outcome, Exception):
                        raise outcome
                    yield outcome

        try:
            answer = await hass.async_add_executor_job(
                partial(recommend, base, stock=stock, demands=demands, map_fn=through_client)
            )
        except asyncio.CancelledError:
            gone.set()
            raise
        sweeps.answers[key] = answer
        while len(sweeps.answers) > ANSWERS_KEPT:
            sweeps.answers.popitem(last=False)
        return answer


def _base_scenario(entry: NoNeutralConfigEntry, data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the entry's lamps and mains (its options), the call's lamp and mains laid over."""
    overrides: dict[str, Any] = {}
    for section, known in SECTION_KEYS.items():
        if (given := data.get(section)) is None:
            continue
        if not isinstance(given, Mapping):
            reason = f"not an object of {section} values"
            raise invalid_field(section, reason)
        for name in given:
            if name not in known:
                field_name = f"{section}.{name}"
                raise invalid_field(field_name, "unknown key")
        overrides[section] = dict(given)
    # New parts: the options as set, not as worn.
    return merge_scenario(scenario_from_options(entry.runtime_data.adaptor.options), overrides)


def _scenario_field(data: Mapping[str, Any], path: str) -> str:
    """Name a bad scenario key by the call's field, or by the entry's option that set it."""
    section, _, name = path.partition(".")
    given = data.get(section)
    partner = "led_start_v" if path == "lamp.led_stop_v" else None
    if isinstance(given, Mapping):
        if name in given:
            return path
        if partner is not None and partner in given:
            return f"{section}.{partner}"
    return option_for_path(path) or path


def _number(value: object, field_name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise invalid_field(field_name, "must be a finite number")
    return float(value)


def _stock(given: object) -> Stock:
    """Return the stock the call restricts the choice to (each list optional)."""
    if given is None:
        return Stock()
    if not isinstance(given, Mapping):
        raise invalid_field(ATTR_STOCK, "not an object of stocked values")
    lists: dict[str, Any] = {}
    for name, values in given.items():
        field_name = f"{ATTR_STOCK}.{name}"
        if name not in STOCK_PATHS:
            raise invalid_field(field_name, "unknown key")
        if not isinstance(values, list) or not 1 <= len(values) <= MAX_STOCK_VALUES:
            reason = f"must be a list of 1 to {MAX_STOCK_VALUES} values"
            raise invalid_field(field_name, reason)
        lists[name] = tuple(_stocked(value, field_name, STOCK_PATHS[name]) for value in values)
    return Stock(**lists)


def _stocked(value: object, field_name: str, path: str | None) -> float | None:
    if value is None and path == "smoothing.bleed_resistance_ohm":
        return None  # none fitted
    number = _number(value, field_name)
    if path is None:
        if number <= 0:
            raise invalid_field(field_name, "every value must be positive")
        return number
    limits = number_range(path)
    above_low = number > limits.low or (limits.low_allowed and number == limits.low)
    if not (above_low and number <= limits.high):
        reason = f"every value must be {limits.low:g} to {limits.high:g}"
        raise invalid_field(field_name, reason)
    return number


async def _async_recommend_call(call: ServiceCall) -> ServiceResponse:
    data = call.data
    # As for the other actions: the entry may be left out when there is only one.
    adaptor = call_adaptor(call, FIELDS)
    options = adaptor.options
    scenario = _base_scenario(adaptor.config_entry, data)
    try:
        ambient = check_ambient(data.get(ATTR_AMBIENT_C, AMBIENT_C))
    except DiagnosisError as err:
        raise invalid_field(err.key, err.reason) from err
    stock = _stock(data.get(ATTR_STOCK))
    demands = Demands(
        ambient_c=ambient,
        cap_rated_life_h=float(option_value(options, CONF_CAP_RATED_LIFE_H)),
        cap_rated_temp_c=float(option_value(options, CONF_CAP_RATED_TEMP_C)),
    )
    with simulator_errors(lambda path: _scenario_field(data, path)):
        # Refused before the sweep, on the field the call (or an option) gave.
        parse_scenario(scenario)
        answer = await async_recommend(call.hass, scenario, stock=stock, demands=demands)
    return {
        "scenario": scenario,
        "ambient_c": ambient,
        "stock": _stock_dict(stock),
        "recommendation": answer,
    }


def async_register(hass: HomeAssistant) -> None:
    """Register `no_neutral.recommend_parts` (called from async_setup_services)."""
    async_register_action(hass, SERVICE_RECOMMEND_PARTS, _async_recommend_call)
