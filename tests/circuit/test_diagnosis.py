"""
The fault finder on real simulations: the issue's seed cases give the expected top fault.

One diagnosis of the default adaptor simulates every candidate once (about 30
runs); the module shares those runs between the cases through a memo around
simulate() (the same figures, not a stand-in), so the module costs one
candidate set.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from custom_components.no_neutral.circuit import ScenarioError, simulate
from custom_components.no_neutral.circuit.__main__ import main
from custom_components.no_neutral.circuit.ageing import CapacitorSpec
from custom_components.no_neutral.circuit.diagnosis import (
    SYMPTOMS,
    Context,
    DiagnosisError,
    candidates,
    diagnose,
    observed,
)
from custom_components.no_neutral.circuit.params import parse_scenario

type Diagnose = Callable[..., dict[str, Any]]


@pytest.fixture(scope="module")
def run() -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """simulate(), each distinct scenario run once for the whole module."""
    memo: dict[str, dict[str, Any]] = {}

    def memo_run(scenario: Mapping[str, Any]) -> dict[str, Any]:
        key = json.dumps(scenario, sort_keys=True)
        if key not in memo:
            memo[key] = simulate(scenario)
        return memo[key]

    return memo_run


@pytest.fixture
def find(run: Callable[[Mapping[str, Any]], dict[str, Any]]) -> Diagnose:
    """Diagnose the default adaptor (a 10 W LED lamp on 230 V) from ticked symptoms."""

    def call(*symptoms: str, scenario: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return diagnose(scenario or {}, list(symptoms), run=run)

    return call


def _entry(answer: Mapping[str, Any], fault: str, part: str) -> dict[str, Any]:
    found = [
        e
        for e in [*answer["candidates"], *answer["ruled_out"]]
        if e["fault"] == fault and e["part"] == part
    ]
    assert len(found) == 1, (fault, part)
    return found[0]


def test_reversed_diode_trips_the_breaker_at_switch_on(find: Diagnose) -> None:
    """Dd the wrong way round shorts the mains through the closed contact: top fault."""
    answer = find("breaker_trips_on")
    top = answer["candidates"][0]
    assert (top["fault"], top["part"], top["rank"]) == ("diode_reversed", "Dd", 1)
    assert top["reproduces"] == ["breaker_trips_on"]
    assert top["unexplained"] == []
    evidence = top["evidence"]["breaker_trips_on"]
    assert evidence["current_rms_a"] >= evidence["trip_current_a"] == pytest.approx(14.5)
    # What to do: a diode test shows it, and the diode is turned round, band to LO.
    assert top["checks"][0]["check"] == "diode_test"
    assert top["checks"][0]["cathode_to"] == "LO"
    assert top["actions"] == [{"action": "turn_around", "part": "Dd", "cathode_to": "LO"}]
    # The contact open, nothing is wrong: not a trip with the light off.
    assert "breaker_trips_off" not in top["extra"]


def test_bypass_without_splitter_is_a_short(find: Diagnose) -> None:
    """No splitter: a short on every closed half-cycle, among the faults ranked first."""
    answer = find("breaker_trips_on")
    entry = _entry(answer, "splitter_missing", "splitter")
    assert entry["rank"] == 1
    assert entry["reproduces"] == ["breaker_trips_on"]
    # Hundreds of amperes: far past even the instant magnetic trip of the breaker.
    assert entry["evidence"]["breaker_trips_on"]["current_rms_a"] > 100.0
    assert entry["actions"] == [{"action": "fit", "part": "splitter"}]


def test_reversed_diode_told_apart_by_the_light_off(find: Diagnose) -> None:
    """Tripping at switch-on and a relay that drops with the light off: Db reversed alone."""
    answer = find("breaker_trips_on", "relay_drops_off")
    top = answer["candidates"][0]
    assert (top["fault"], top["part"]) == ("diode_reversed", "Db")
    assert top["unexplained"] == []
    assert all(e["unexplained"] for e in answer["candidates"][1:])


def test_open_fusible_resistor_flickers(find: Diagnose) -> None:
    """An open fusible resistor leaves the lamp on unsmoothed half-waves: flicker."""
    answer = find("lamp_flickers")
    top = answer["candidates"][0]
    assert (top["fault"], top["rank"]) == ("fuse_open", 1)
    assert top["evidence"]["lamp_flickers"]["led_dropout"] is True
    assert top["actions"] == [
        {"action": "replace", "part": "fuse_resistor", "resistance_ohm": 4.7, "power_rating_w": 2.0}
    ]
    check = top["checks"][0]
    assert (check["check"], check["fault_reading"]) == ("resistance", "open")
    assert check["good_ohm"] == pytest.approx([4.23, 5.17])
    # A capacitor that lost its contact is the same circuit: the same rank.
    assert _entry(answer, "capacitor_open", "capacitor")["rank"] == 1


def test_missing_bleed_resistor_ghosts(find: Diagnose) -> None:
    """Without the bleed resistor the leakage charges the driver until it flashes."""
    answer = find("ghosting")
    top = answer["candidates"][0]
    assert (top["fault"], top["rank"]) == ("bleed_missing", 1)
    assert top["extra"] == ["socket_live"]
    assert top["evidence"]["ghosting"]["ghost_flash_period_s"] > 0
    assert top["actions"] == [{"action": "fit", "part": "bleed_resistor", "resistance_ohm": 220000}]


def test_shorted_capacitor_blows_the_fusible_resistor(find: Diagnose) -> None:
    """A shorted capacitor puts the mains across Rf: it opens before the breaker does."""
    answer = find("fuse_blew")
    top = answer["candidates"][0]
    assert (top["fault"], top["rank"]) == ("capacitor_shorted", 1)
    assert top["fuse_opens_first"] is True
    evidence = top["evidence"]["fuse_blew"]
    assert evidence["fuse_heat_j"] >= evidence["opening_heat_j"]
    # It blew instead of tripping the breaker; what is left flickers like an open Rf.
    assert "breaker_trips_on" not in top["extra"]
    assert top["extra"] == ["lamp_dim", "lamp_flickers"]
    assert top["actions"][0]["part"] == "capacitor"


def test_no_lamp_alone_does_not_blow_the_fusible_resistor(find: Diagnose) -> None:
    """Tested without a lamp: the answer names the missing lamp and says it is not the cause."""
    answer = find("fuse_blew")
    entry = _entry(answer, "lamp_missing", "lamp")
    assert entry in answer["ruled_out"]
    assert entry["unexplained"] == ["fuse_blew"]
    evidence = entry["evidence"]["fuse_blew"]
    # From the simulation of the lamp removed: its switch-on energy and steady
    # power heat the resistor by far less than what opens it.
    alone = simulate({"lamp": {"type": "none"}})
    assert evidence["fuse_power_w"] == alone["fuse_power_w"]
    assert evidence["inrush_fuse_energy_j"] == max(
        alone["inrush_fuse_energy_j"], alone["inrush_fuse_energy_mean_j"]
    )
    assert evidence["fuse_heat_j"] < evidence["opening_heat_j"] / 100


@pytest.mark.long
def test_tested_without_a_lamp_as_given() -> None:
    """The scenario as built has no lamp: the answer names that and what it does."""
    answer = diagnose({"lamp": {"type": "none"}}, ["fuse_blew"])
    assert answer["as_given"]["conditions"] == ["lamp_missing"]
    assert answer["as_given"]["reproduces"] == []
    given = answer["as_given"]["evidence"]["fuse_blew"]
    assert given["fuse_heat_j"] < given["opening_heat_j"] / 100
    assert answer["candidates"][0]["fault"] == "capacitor_shorted"


def test_every_answer_is_json(find: Diagnose) -> None:
    """Codes and numbers only: the integration translates them and returns them as response data."""
    answer = find(*SYMPTOMS)
    assert json.loads(json.dumps(answer)) == answer
    assert answer["symptoms"] == list(SYMPTOMS)
    ranks = [e["rank"] for e in answer["candidates"]]
    assert ranks == sorted(ranks)
    assert ranks[0] == 1


def test_the_default_adaptor_shows_nothing(find: Diagnose) -> None:
    """The builders' adaptor as designed: no symptom, so every answer is about a change."""
    given = find(*SYMPTOMS)["as_given"]
    assert given["shows"] == []
    assert given["conditions"] == []


def test_a_big_halogen_is_dim_flickers_and_heats_the_capacitor() -> None:
    """docs/model.md: a 150 W filament gets 59 % of its power, on half-wave pulses."""
    scenario = {"lamp": {"type": "resistive", "power_w": 150}}
    figures = simulate(scenario)
    ctx = Context(
        scenario=parse_scenario(scenario),
        ambient_c=25.0,
        capacitor=CapacitorSpec(capacitance_uf=15.0, esr_ohm=3.0),
    )
    assert observed(figures, ctx) == ["lamp_dim", "lamp_flickers", "cap_hot"]
    # Its ripple heats the core 74 K/W x about 1 W above the room: far past hot to the touch.
    assert ctx.capacitor.core_temperature_c(25.0, figures["cap_esr_power_w"]) > 90.0
    # The rule follows the room: 79 K above -40 °C is a core of 39 °C, not hot.
    cold = Context(scenario=ctx.scenario, ambient_c=-40.0, capacitor=ctx.capacitor)
    assert observed(figures, cold) == ["lamp_dim", "lamp_flickers"]


def test_candidates_are_single_changes() -> None:
    """Every candidate is the scenario with one fault; a fault already set is not offered."""
    found = candidates(parse_scenario({}))
    assert len(found) == 30
    assert all(c.changes for c in found)
    faulted = candidates(parse_scenario({"faults": {"Dd": "reversed"}, "lamp": {"type": "none"}}))
    assert ("diode_reversed", "Dd") not in {(c.fault, c.part) for c in faulted}
    assert "lamp_missing" not in {c.fault for c in faulted}


@pytest.mark.parametrize(
    ("symptoms", "ambient", "key", "reason"),
    [
        (["lamp_glows"], 25, "symptoms", "unknown symptom 'lamp_glows'"),
        ([], 25, "symptoms", "tick at least one symptom"),
        ("ghosting", 25, "symptoms", "must be a list of symptom codes"),
        ([3], 25, "symptoms", "unknown symptom 3"),
        (["ghosting"], 120, "ambient_c", "must be between -40 and 85"),
        (["ghosting"], True, "ambient_c", "must be a number"),
    ],
)
def test_bad_input_names_the_field(
    symptoms: object, ambient: object, key: str, reason: str
) -> None:
    """Bad symptoms or ambient temperature: refused before anything is simulated."""
    with pytest.raises(DiagnosisError) as err:
        diagnose({}, symptoms, ambient_c=ambient, run=_never)
    assert err.value.key == key
    assert err.value.reason.startswith(reason)


def test_bad_scenario_names_its_key() -> None:
    """A bad scenario is the simulator's own error, naming the dotted key."""
    with pytest.raises(ScenarioError) as err:
        diagnose({"cable": {"length_m": -1}}, ["ghosting"], run=_never)
    assert err.value.key == "cable.length_m"


def _never(_scenario: Mapping[str, Any]) -> dict[str, Any]:
    pytest.fail("bad input was simulated")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--symptom", "glows"], "argument --symptom: invalid choice: 'glows'"),
        ([], "the following arguments are required: --symptom"),
        (["--symptom", "ghosting", "--ambient-c", "200"], "ambient_c: must be between -40 and 85"),
        (["--symptom", "ghosting", "--ambient-c", "warm"], "argument --ambient-c"),
        (["--symptom", "ghosting", "BAD"], "cable.length_m: must be at least 0.1"),
    ],
)
def test_cli_bad_input_exits_2(
    args: list[str], named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command line names the bad option or scenario key, prints nothing on stdout, exits 2."""
    bad = tmp_path / "bad.json"
    bad.write_text('{"cable": {"length_m": -1}}')
    good = tmp_path / "good.json"
    good.write_text("{}")
    args = [str(bad) if a == "BAD" else a for a in args]
    if str(bad) not in args:
        args.append(str(good))
    try:
        status = main(["diagnose", *args])
    except SystemExit as exit_:  # argparse refuses an option this way
        status = exit_.code  # type: ignore[assignment]
    out = capsys.readouterr()
    assert status == 2
    assert out.out == ""
    assert named in out.err
