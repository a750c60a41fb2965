"""Scenario validation: defaults, dotted keys, reasons, nothing clamped."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest

from custom_components.no_neutral.circuit import (
    DEFAULT_SCENARIO,
    Scenario,
    ScenarioError,
    parse_scenario,
)
from custom_components.no_neutral.circuit.params import number_range


def _with(path: str, value: Any) -> dict[str, Any]:
    section, key = path.split(".")
    return {section: {key: value}}


def test_defaults_fill_everything() -> None:
    sc = parse_scenario({})
    assert isinstance(sc, Scenario)
    assert sc.mains.voltage_rms == 230.0
    assert sc.smoothing.capacitance_uf == 15.0
    assert sc.smoothing.bleed_resistance_ohm == 220000.0
    assert sc.smoothing.fuse_blown is False
    assert sc.lamp.type == "led"
    assert sc.lamp.count == 1
    assert sc.relay.close_phase_deg == 270.0
    assert sc.mains.breaker_a == 10.0
    assert (sc.faults.Da, sc.faults.Db, sc.faults.Dc, sc.faults.Dd) == ("ok",) * 4
    assert sc.faults.capacitor == "ok"
    assert parse_scenario(copy.deepcopy(DEFAULT_SCENARIO)) == sc


def test_parameters_are_frozen() -> None:
    sc = parse_scenario({})
    with pytest.raises(AttributeError):
        sc.mains.voltage_rms = 120.0  # type: ignore[misc]


def test_error_shape() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(_with("smoothing.capacitance_uf", 0))
    err = info.value
    assert isinstance(err, ValueError)
    assert err.key == "smoothing.capacitance_uf"
    assert err.reason
    assert str(err) == f"{err.key}: {err.reason}"


@pytest.mark.parametrize(
    "path",
    [
        "mains.voltage_rms",
        "mains.frequency_hz",
        "mains.source_resistance_ohm",
        "mains.breaker_a",
        "cable.length_m",
        "cable.conductor_mm2",
        "cable.capacitance_pf_per_m",
        "device.power_w_off",
        "device.power_w_on",
        "device.bulk_capacitance_uf",
        "device.min_input_v",
        "diode.saturation_current_a",
        "diode.ideality",
        "diode.series_resistance_ohm",
        "diode.reverse_leakage_a",
        "smoothing.capacitance_uf",
        "smoothing.esr_ohm",
        "smoothing.voltage_rating_v",
        "smoothing.fuse_resistance_ohm",
        "smoothing.fuse_power_rating_w",
        "smoothing.bleed_resistance_ohm",
        "lamp.power_w",
        "lamp.rated_voltage_v",
        "lamp.led_start_v",
        "lamp.led_stop_v",
        "lamp.led_input_capacitance_uf",
        "relay.open_resistance_ohm",
    ],
)
@pytest.mark.parametrize("bad", [0, -1, -0.5, math.nan, math.inf, -math.inf, "10", [], True])
def test_bad_numbers_rejected(path: str, bad: Any) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(_with(path, bad))
    assert info.value.key == path


@pytest.mark.parametrize(
    ("scenario", "key"),
    [
        ({"mains": {"colour": 1}}, "mains.colour"),
        ({"neutral": {}}, "neutral"),
        ({"lamp": {"type": "fluorescent"}}, "lamp.type"),
        ({"lamp": {"type": 3}}, "lamp.type"),
        ({"lamp": {"count": 0}}, "lamp.count"),
        ({"lamp": {"count": 1.5}}, "lamp.count"),
        ({"lamp": {"count": True}}, "lamp.count"),
        ({"lamp": {"led_stop_v": 100}}, "lamp.led_stop_v"),
        ({"lamp": {"led_stop_v": 120}}, "lamp.led_stop_v"),
        ({"faults": {"Da": "burnt"}}, "faults.Da"),
        ({"faults": {"Dc": "OPEN"}}, "faults.Dc"),
        ({"faults": {"Db": True}}, "faults.Db"),
        ({"faults": {"Dd": None}}, "faults.Dd"),
        # A capacitor cannot be fitted the wrong way round in this model.
        ({"faults": {"capacitor": "reversed"}}, "faults.capacitor"),
        ({"faults": {"De": "ok"}}, "faults.De"),
        ({"faults": "Da"}, "faults"),
        ({"smoothing": {"fuse_blown": 0}}, "smoothing.fuse_blown"),
        ({"relay": {"closed": "yes"}}, "relay.closed"),
        ({"relay": {"close_phase_deg": 360}}, "relay.close_phase_deg"),
        ({"relay": {"close_phase_deg": -10}}, "relay.close_phase_deg"),
        ({"mains": {"voltage_rms": 1e400}}, "mains.voltage_rms"),
        ({"mains": {"voltage_rms": 10**400}}, "mains.voltage_rms"),
        ({"mains": 5}, "mains"),
        ({"mains": None}, "mains"),
        ({"smoothing": {"capacitance_uf": None}}, "smoothing.capacitance_uf"),
    ],
)
def test_named_rejections(scenario: dict[str, Any], key: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(scenario)
    assert info.value.key == key
    assert key in str(info.value)


def test_fault_error_names_the_states() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario({"faults": {"capacitor": "reversed"}})
    assert info.value.reason == "unknown fault state 'reversed'; one of ok, open, shorted"


@pytest.mark.parametrize("diode", ["Da", "Db", "Dc", "Dd"])
@pytest.mark.parametrize("state", ["ok", "open", "shorted", "reversed"])
def test_every_diode_fault_state_accepted(diode: str, state: str) -> None:
    assert getattr(parse_scenario({"faults": {diode: state}}).faults, diode) == state


def test_capacitor_rated_below_the_mains_peak_is_accepted() -> None:
    """A real part people fit: simulated and warned about (cap_overvoltage), not refused."""
    sc = parse_scenario({"smoothing": {"voltage_rating_v": 250}})
    assert sc.smoothing.voltage_rating_v == 250.0


def test_top_level_must_be_object() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario([])  # type: ignore[arg-type]
    assert info.value.key == ""


def test_nothing_clamped() -> None:
    # A value just inside the limits passes unchanged.
    sc = parse_scenario({"smoothing": {"capacitance_uf": 10.5, "bleed_resistance_ohm": None}})
    assert sc.smoothing.capacitance_uf == 10.5
    assert sc.smoothing.bleed_resistance_ohm is None
    assert parse_scenario({"mains": {"voltage_rms": 120}}).mains.voltage_rms == 120.0


def test_defaults_not_mutated() -> None:
    before = copy.deepcopy(DEFAULT_SCENARIO)
    parse_scenario({"lamp": {"type": "resistive"}})
    assert before == DEFAULT_SCENARIO


NUMERIC_KEYS = [
    f"{section}.{name}"
    for section, values in DEFAULT_SCENARIO.items()
    for name, default in values.items()
    if isinstance(default, int | float) and not isinstance(default, bool)
]
# Partners that let every edge of a range pass the relations (none needed now
# that a capacitor rated below the mains peak is accepted).
EDGE_CONTEXT: dict[str, dict[str, Any]] = {}
# Edges that only a relation refuses: no lamp.led_start_v lies above 1000 V.
RELATION_EDGES = {("lamp.led_stop_v", 1000.0)}


def _refused_as(path: str, value: float) -> str | None:
    section, name = path.split(".")
    scenario = copy.deepcopy(EDGE_CONTEXT)
    scenario.setdefault(section, {})[name] = value
    try:
        parse_scenario(scenario)
    except ScenarioError as err:
        return err.key
    return None


@pytest.mark.parametrize("path", NUMERIC_KEYS)
def test_number_range_is_what_the_validation_accepts(path: str) -> None:
    """The forms take their limits from number_range: it must be the validation's own."""
    limits = number_range(path)
    step = 1 if path == "lamp.count" else 0
    below = limits.low - step if step else math.nextafter(limits.low, -math.inf)
    above = limits.high + step if step else math.nextafter(limits.high, math.inf)
    assert _refused_as(path, below) == path
    assert _refused_as(path, above) == path
    assert (_refused_as(path, limits.low) == path) is not limits.low_allowed
    if (path, limits.high) not in RELATION_EDGES:
        assert (_refused_as(path, limits.high) == path) is not limits.high_allowed


def test_every_number_has_a_range() -> None:
    assert "lamp.count" in NUMERIC_KEYS
    assert len(NUMERIC_KEYS) == 29
    with pytest.raises(KeyError):
        number_range("lamp.type")
