"""The `no_neutral.recommend_parts` action: the parts recommender on an entry, bad fields named."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError

from custom_components.no_neutral import recommend_action
from custom_components.no_neutral.circuit.ageing import DEFAULT_RATED_LIFE_H, DEFAULT_RATED_TEMP_C
from custom_components.no_neutral.circuit.params import DEFAULT_SCENARIO
from custom_components.no_neutral.circuit.recommend import Demands, Stock, recommend
from custom_components.no_neutral.const import DOMAIN
from custom_components.no_neutral.recommend_action import CIRCUIT_KIND, STOCK_PATHS
from custom_components.no_neutral.simulator import async_get_simulator

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled"),
]

# A reduced stock keeps these tests in the default suite (4 circuits, about a
# second); the whole stock's answers are checked by the `sweep` tests of
# tests/circuit/test_recommend.py, through the same recommend().
SMALL = {
    "capacitances_uf": [22.0],
    "fuse_resistances_ohm": [4.7, 10.0],
    "bleed_resistances_ohm": [220000.0, None],
}
SMALL_STOCK = Stock(**{name: tuple(values) for name, values in SMALL.items()})
# The entry's capacitor datasheet (its options' defaults) goes into the demands.
DEMANDS = Demands(cap_rated_life_h=DEFAULT_RATED_LIFE_H, cap_rated_temp_c=DEFAULT_RATED_TEMP_C)


async def recommend_parts(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    return await hass.services.async_call(  # type: ignore[return-value]
        DOMAIN, "recommend_parts", data, blocking=True, return_response=True
    )


def circuits_run(hass: HomeAssistant) -> list[dict[str, Any]]:
    """The sweep circuits the shared simulator client ran, in the order they finished."""
    cache = async_get_simulator(hass)._caches.get(CIRCUIT_KIND, {})
    return [json.loads(key)["circuit"] for key in cache]


def without_time(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "elapsed_s"}


@pytest.mark.parametrize(
    ("lamp", "change"),
    [({"type": "none"}, "another_lamp_type"), ({"power_w": 2}, "more_lamp_power")],
    ids=["no-lamp", "2W-LED"],
)
async def test_no_load_is_answered_without_simulating(
    hass: HomeAssistant, entry_factory: Callable[..., Any], lamp: dict[str, Any], change: str
) -> None:
    """A lamp that is no load: nothing can qualify, and the answer says what to change."""
    entry = await entry_factory()
    response = await recommend_parts(hass, config_entry_id=entry.entry_id, lamp=lamp)
    answer = response["recommendation"]
    assert answer["qualifying"] == 0
    assert answer["best"] == []
    assert answer["advice"] == [{"change": change, "because": ["no_load"]}]
    assert answer["lost"]["warnings"] == answer["combinations"] == Stock().combinations
    assert answer["circuits_simulated"] == 0
    assert circuits_run(hass) == []
    assert response["scenario"]["lamp"] == {**response["scenario"]["lamp"], **lamp}


async def test_answer_is_the_recommenders(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    """3 x 7 W LED on the entry's mains: the core's answer, each circuit run by the client."""
    entry = await entry_factory(lamp_power_w=10)
    response = await recommend_parts(
        hass, config_entry_id=entry.entry_id, lamp={"count": 3, "power_w": 7}, stock=SMALL
    )
    scenario = response["scenario"]
    assert scenario["lamp"]["count"] == 3
    assert scenario["lamp"]["power_w"] == 7
    assert response["ambient_c"] == 40.0
    expected = recommend(scenario, stock=SMALL_STOCK, demands=DEMANDS)
    answer = response["recommendation"]
    assert without_time(answer) == without_time(expected)
    assert answer["combinations"] == 1 * 3 * 2 * 4 * 2
    assert answer["circuits_simulated"] == 4
    assert answer["qualifying"] > 0
    assert answer["best"]
    assert len(circuits_run(hass)) == 4
    # The response is plain JSON (no NaN or infinity in the margins).
    json.dumps(response, allow_nan=False)
    # Asked again: the kept answer, no circuit simulated again.
    again = await recommend_parts(
        hass, config_entry_id=entry.entry_id, lamp={"count": 3, "power_w": 7}, stock=SMALL
    )
    assert again == response
    assert len(circuits_run(hass)) == 4


async def test_sweep_runs_in_batches_the_entries_taking_turns(
    hass: HomeAssistant, entry_factory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    The sweep's circuits go to the client in batches; an entry's run goes between two.

    Three circuits a batch: the small stock's four circuits are two client
    runs, three then one. An entry's simulation asked while the first batch
    runs is run before the second: the sweep never holds the simulator longer
    than a batch. The answer is the core's all the same.
    """
    monkeypatch.setattr(recommend_action, "SWEEP_BATCH", 3)
    runs: list[int | str] = []
    first_running, release_first = threading.Event(), threading.Event()

    def circuits_job(jobs: list[dict[str, Any]]) -> list[Any]:
        runs.append(len(jobs))
        if len(runs) == 1:
            first_running.set()
            release_first.wait()
        return real_job(jobs)

    real_job = recommend_action._circuits_job
    monkeypatch.setattr(recommend_action, "_circuits_job", circuits_job)
    entry = await entry_factory()
    client = async_get_simulator(hass)
    sweep = asyncio.create_task(
        recommend_parts(hass, config_entry_id=entry.entry_id, lamp={"power_w": 9}, stock=SMALL)
    )
    try:
        await hass.async_add_executor_job(first_running.wait)
        own_run = asyncio.create_task(
            client.async_run("figures", lambda _scenario: runs.append("entry"), {"entry": 1})
        )
        # Until the entry's run waits for the simulator (the first batch has it).
        while not client._turn._waiters:  # noqa: ASYNC110 (a lock has no event to await)
            await asyncio.sleep(0)
    finally:
        release_first.set()
    response = await sweep
    await own_run
    assert runs == [3, "entry", 1]
    expected = recommend(response["scenario"], stock=SMALL_STOCK, demands=DEMANDS)
    assert without_time(response["recommendation"]) == without_time(expected)
    assert len(circuits_run(hass)) == 4


async def test_a_cancelled_sweep_stops_at_its_next_batch(
    hass: HomeAssistant, entry_factory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The call cancelled while a batch runs: that batch ends, no other starts."""
    monkeypatch.setattr(recommend_action, "SWEEP_BATCH", 3)
    runs: list[int] = []
    first_running, release_first = threading.Event(), threading.Event()
    ended = threading.Event()
    real_job, real_recommend = recommend_action._circuits_job, recommend_action.recommend

    def circuits_job(jobs: list[dict[str, Any]]) -> list[Any]:
        runs.append(len(jobs))
        first_running.set()
        release_first.wait()
        return real_job(jobs)

    def sweep_thread(*args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return real_recommend(*args, **kwargs)
        finally:
            ended.set()

    monkeypatch.setattr(recommend_action, "_circuits_job", circuits_job)
    monkeypatch.setattr(recommend_action, "recommend", sweep_thread)
    entry = await entry_factory()
    sweep = asyncio.create_task(
        recommend_parts(hass, config_entry_id=entry.entry_id, lamp={"power_w": 11}, stock=SMALL)
    )
    try:
        await hass.async_add_executor_job(first_running.wait)
        sweep.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sweep
    finally:
        release_first.set()
    await hass.async_add_executor_job(ended.wait)
    assert runs == [3]


async def test_mains_and_ambient_given(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    """The call's mains and ambient temperature replace the entry's and the 40 °C default."""
    entry = await entry_factory()
    stock = {
        "capacitances_uf": [33.0],
        "fuse_resistances_ohm": [4.7],
        "bleed_resistances_ohm": [None],
    }
    response = await recommend_parts(
        hass,
        config_entry_id=entry.entry_id,
        lamp={"power_w": 5, "rated_voltage_v": 120},
        mains={"voltage_rms": 120, "frequency_hz": 60},
        ambient_c=55,
        stock=stock,
    )
    scenario = response["scenario"]
    assert scenario["mains"] == {**scenario["mains"], "voltage_rms": 120, "frequency_hz": 60}
    assert response["ambient_c"] == 55.0
    demands = Demands(
        ambient_c=55.0, cap_rated_life_h=DEFAULT_RATED_LIFE_H, cap_rated_temp_c=DEFAULT_RATED_TEMP_C
    )
    expected = recommend(
        scenario,
        stock=Stock(
            capacitances_uf=(33.0,), fuse_resistances_ohm=(4.7,), bleed_resistances_ohm=(None,)
        ),
        demands=demands,
    )
    assert without_time(response["recommendation"]) == without_time(expected)


async def test_one_sweep_at_a_time(hass: HomeAssistant, entry_factory: Callable[..., Any]) -> None:
    """
    Two calls at once: the second sweep starts after the first has ended.

    The shared simulator runs one circuit at a time either way; two sweeps
    side by side would take turns (their circuits interleaved). Each sweep's
    circuits come one after the other.
    """
    entry = await entry_factory()
    calls = [
        recommend_parts(hass, config_entry_id=entry.entry_id, lamp={"power_w": watts}, stock=SMALL)
        for watts in (8, 12)
    ]
    first, second = await asyncio.gather(*calls)
    powers = [circuit["lamp"]["power_w"] for circuit in circuits_run(hass)]
    assert sorted(powers) == [8] * 4 + [12] * 4
    assert powers in ([8] * 4 + [12] * 4, [12] * 4 + [8] * 4)
    assert first["recommendation"]["circuits_simulated"] == 4
    assert second["recommendation"]["circuits_simulated"] == 4


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"lamp": 5}, "lamp"),
        ({"lamp": {"colour": "red"}}, "lamp.colour"),
        ({"lamp": {"power_w": -5}}, "lamp.power_w"),
        ({"lamp": {"type": "neon"}}, "lamp.type"),
        ({"lamp": {"count": 0}}, "lamp.count"),
        ({"lamp": {"rated_voltage_v": "high"}}, "lamp.rated_voltage_v"),
        # The start below the entry's stop voltage: named by the field the call gave.
        ({"lamp": {"led_start_v": 50}}, "lamp.led_start_v"),
        ({"mains": "230"}, "mains"),
        ({"mains": {"voltage_rms": 5}}, "mains.voltage_rms"),
        ({"mains": {"frequency_hz": 1000}}, "mains.frequency_hz"),
        ({"mains": {"breaker_a": 16}}, "mains.breaker_a"),
        ({"ambient_c": 300}, "ambient_c"),
        ({"ambient_c": "warm"}, "ambient_c"),
        ({"stock": [22]}, "stock"),
        ({"stock": {"resistors": [1.0]}}, "stock.resistors"),
        ({"stock": {"capacitances_uf": []}}, "stock.capacitances_uf"),
        ({"stock": {"capacitances_uf": [0.01]}}, "stock.capacitances_uf"),
        ({"stock": {"cap_voltage_ratings_v": [400, 0]}}, "stock.cap_voltage_ratings_v"),
        ({"stock": {"fuse_resistances_ohm": [float("nan")]}}, "stock.fuse_resistances_ohm"),
        ({"stock": {"fuse_power_ratings_w": [True]}}, "stock.fuse_power_ratings_w"),
        ({"stock": {"bleed_resistances_ohm": [None, "big"]}}, "stock.bleed_resistances_ohm"),
        ({"stock": {"capacitances_uf": 22}}, "stock.capacitances_uf"),
        ({"lamp_power_w": 10}, "lamp_power_w"),
    ],
)
async def test_bad_input_names_the_field(
    hass: HomeAssistant,
    entry_factory: Callable[..., Any],
    data: dict[str, Any],
    field: str,
) -> None:
    """Refused before any circuit is simulated."""
    entry = await entry_factory()
    with pytest.raises(ServiceValidationError) as err:
        await recommend_parts(hass, **{"config_entry_id": entry.entry_id, **data})
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "invalid_field"
    assert err.value.translation_placeholders["field"] == field
    assert str(err.value).startswith(f"Invalid value for {field}: ")
    assert circuits_run(hass) == []


async def test_the_entry_may_be_left_out_when_there_is_one(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    """As for `simulate` and `diagnose`: one adaptor, no need to name it."""
    entry = await entry_factory()
    named = await recommend_parts(hass, config_entry_id=entry.entry_id, lamp={"type": "none"})
    assert await recommend_parts(hass, lamp={"type": "none"}) == named


async def test_a_bad_option_of_the_entry_is_named_by_its_option(
    hass: HomeAssistant, entry_factory: Callable[..., Any]
) -> None:
    entry = await entry_factory(mains_frequency_hz=5)
    with pytest.raises(ServiceValidationError) as err:
        await recommend_parts(hass, config_entry_id=entry.entry_id)
    assert err.value.translation_placeholders["field"] == "mains_frequency_hz"
    assert circuits_run(hass) == []


# The README: the action's fields and answer, and the parts it recommends.
ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
SERVICES = ROOT / "custom_components" / "no_neutral" / "services.yaml"
# The README's three cases: (its label, the scenario).
README_CASES = {
    "10 W LED, 230 V 50 Hz": {},
    "3 x 7 W LED, 230 V 50 Hz": {"lamp": {"count": 3, "power_w": 7}},
    "5 W LED (rated 120 V), 120 V 60 Hz": {
        "mains": {"voltage_rms": 120, "frequency_hz": 60},
        "lamp": {"power_w": 5, "rated_voltage_v": 120},
    },
}


def readme_section(title: str) -> str:
    start = README.index(f"\n### {title}\n")
    end = README.index("\n#", start + 1)
    return README[start:end]


def ohms(value: float) -> str:
    return f"{value / 1e6:g} MΩ" if value >= 1e6 else f"{value / 1e3:g} kΩ"


def readme_rows(label: str, answer: dict[str, Any]) -> list[str]:
    """Return the README's table rows for one case: the best three, or what to change."""
    if not answer["best"]:
        changes = ", ".join(
            f"`{advice['change']}` (failed: {', '.join(advice['because'])})"
            for advice in answer["advice"]
        )
        return [f"| {label} | none qualifies | {changes} | | | | |"]
    rows = []
    for rank, best in enumerate(answer["best"], 1):
        bleed = best["bleed_resistance_ohm"]
        margins = sorted(
            (value, name) for name, value in best["margins"].items() if value is not None
        )
        weakest = ", ".join(f"`{name}` {value:.0%}" for value, name in margins[:2])
        figures = best["figures"]
        rows.append(
            f"| {label} | {rank} | {best['capacitance_uf']:g} µF {best['voltage_rating_v']:g} V"
            f" | {best['fuse_resistance_ohm']:g} Ω {best['fuse_power_rating_w']:g} W"
            f" | {'none' if bleed is None else ohms(bleed)} | {weakest}"
            f" | {figures['cap_voltage_max_v']:.0f} V | {figures['discharge_time_s']:.2f} s |"
        )
    return rows


def readme_summary(label: str, answer: dict[str, Any]) -> str:
    """Return the README's line for one case: how many qualify, what the others lost on."""
    lost = ", ".join(f"`{name}` {count:,}" for name, count in answer["lost"].items() if count)
    line = (
        f"- {label}: {answer['qualifying']:,} of the {answer['combinations']:,} combinations"
        f" qualify; lost on {lost}"
    )
    if warned := [(code, n) for code, n in answer["lost_warnings"].items() if n]:
        line += " (the warnings: " + ", ".join(f"`{code}` {n:,}" for code, n in warned) + ")"
    if answer["advice"]:
        line += "; what to change: " + ", ".join(f"`{a['change']}`" for a in answer["advice"])
    return line + "."


def test_readme_documents_the_action() -> None:
    """Every field in its table; every key of the answer and of a recommended entry named."""
    action = readme_section("The `no_neutral.recommend_parts` action")
    services = yaml.safe_load(SERVICES.read_text())
    for name in services["recommend_parts"]["fields"]:
        assert f"| `{name}` |" in action, name
    answer = recommend({}, stock=SMALL_STOCK)
    for key in ("scenario", "ambient_c", "stock", "recommendation", *answer):
        assert f"`{key}`" in action, key
    for key in (*answer["best"][0], *answer["best"][0]["figures"]):
        assert f"`{key}`" in action, key
    for name in STOCK_PATHS:
        assert f"`{name}`" in action, name
    for key in DEFAULT_SCENARIO["lamp"]:
        assert f"`{key}`" in action, key


# Minutes each (1,666 circuits, batched); run with -m sweep.
@pytest.mark.sweep
@pytest.mark.parametrize("label", list(README_CASES))
def test_readme_parts_are_the_recommenders(label: str) -> None:
    """The README's table holds the recommender's best three for the case, as it answers now."""
    parts = readme_section("Which parts to buy")
    answer = recommend(README_CASES[label])
    for row in readme_rows(label, answer):
        assert row in parts
    assert readme_summary(label, answer) in parts.replace("\n  ", " ")
