"""Random scenarios: invalid ones fail cleanly, valid ones give finite figures.

NO_NEUTRAL_FUZZ_EXAMPLES sets how many full simulations the last test runs
(default 4; each costs seconds). Validation fuzzing is cheap and runs
thousands of examples.
"""

from __future__ import annotations

import math
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.no_neutral.circuit import (
    DEFAULT_SCENARIO,
    RESULT_KEYS,
    ScenarioError,
    parse_scenario,
    simulate,
)
from custom_components.no_neutral.circuit.params import (
    _NUMBER_RANGES,
    CAPACITOR_FAULTS,
    DIODE_FAULTS,
)

PATHS = [f"{s}.{k}" for s, keys in DEFAULT_SCENARIO.items() for k in keys]
NUMERIC = sorted(_NUMBER_RANGES)
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
)
FUZZ_EXAMPLES = int(os.environ.get("NO_NEUTRAL_FUZZ_EXAMPLES", "4"))


def _parse_error(scenario: Any) -> ScenarioError | None:
    """The ScenarioError parse_scenario raises, or None; anything else propagates."""
    try:
        parse_scenario(scenario)
    except ScenarioError as err:
        return err
    return None


def _set(scenario: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    section, key = path.split(".")
    scenario.setdefault(section, {})[key] = value
    return scenario


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.dictionaries(st.sampled_from([*PATHS, "mains.extra", "x.y"]), JUNK, min_size=1, max_size=4)
)
def test_junk_only_raises_scenario_error(values: dict[str, Any]) -> None:
    scenario: dict[str, Any] = {}
    for path, value in values.items():
        _set(scenario, path, value)
    err = _parse_error(scenario)
    if err is not None:
        assert err.key
        assert str(err).startswith(f"{err.key}: ")


@settings(max_examples=1000, deadline=None)
@given(st.sampled_from(NUMERIC), st.data())
def test_out_of_range_rejected_with_key(path: str, data: st.DataObject) -> None:
    low, low_ok, high = _NUMBER_RANGES[path]
    bad = data.draw(
        st.one_of(
            st.floats(max_value=low, exclude_max=low_ok, allow_nan=False),
            st.floats(min_value=high, exclude_min=path != "relay.close_phase_deg"),
            st.just(math.nan),
        )
    )
    with pytest.raises(ScenarioError) as info:
        parse_scenario(_set({}, path, bad))
    assert info.value.key == path


def _valid_value(path: str) -> st.SearchStrategy[Any]:
    low, _, high = _NUMBER_RANGES[path]
    if low <= 0.0:
        low = high * 1e-6
    # Log-uniform over the accepted range.
    return st.floats(math.log(low) + 1e-9, math.log(high) - 1e-9).map(math.exp)


def _realistic() -> st.SearchStrategy[dict[str, Any]]:
    """Installations within a factor of a few of the builders' parts."""
    f = st.floats

    def around(v: float, k: float = 3.0) -> st.SearchStrategy[float]:
        return f(math.log(v / k), math.log(v * k)).map(math.exp)

    return st.fixed_dictionaries(
        {
            "mains": st.fixed_dictionaries(
                {"voltage_rms": st.sampled_from([120, 230, 240]), "frequency_hz": f(49, 61)}
            ),
            "cable": st.fixed_dictionaries({"length_m": around(8), "conductor_mm2": around(1.5)}),
            "device": st.fixed_dictionaries(
                {"power_w_on": around(0.9), "power_w_off": around(0.6)}
            ),
            "smoothing": st.fixed_dictionaries(
                {
                    "capacitance_uf": around(15),
                    "esr_ohm": around(3),
                    "voltage_rating_v": st.sampled_from([250, 450]),
                    "fuse_resistance_ohm": f(4.7, 10),
                    "bleed_resistance_ohm": st.one_of(st.none(), around(220000, 10)),
                    "fuse_blown": st.booleans(),
                }
            ),
            "lamp": st.fixed_dictionaries(
                {
                    "type": st.sampled_from(["led", "resistive", "capacitive_dropper", "none"]),
                    "count": st.integers(1, 4),
                    "power_w": around(10, 5),
                    "rated_voltage_v": st.sampled_from([120, 230]),
                    "led_start_v": f(60, 120),
                    "led_stop_v": f(20, 55),
                }
            ),
            "relay": st.fixed_dictionaries({"close_phase_deg": f(0, 359.9)}),
            "faults": st.fixed_dictionaries(
                {
                    "Da": st.sampled_from(DIODE_FAULTS),
                    "Db": st.sampled_from(DIODE_FAULTS),
                    "Dc": st.sampled_from(DIODE_FAULTS),
                    "Dd": st.sampled_from(DIODE_FAULTS),
                    "capacitor": st.sampled_from(CAPACITOR_FAULTS),
                }
            ),
        }
    )


@settings(max_examples=500, deadline=None)
@given(st.data())
def test_valid_values_accepted_unclamped(data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(NUMERIC))
    value = data.draw(_valid_value(path))
    if path in {"lamp.led_stop_v", "lamp.led_start_v"}:
        return
    sc = parse_scenario(_set({}, path, value))
    section, key = path.split(".")
    assert getattr(getattr(sc, section), key) == value


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(_realistic())
def test_random_valid_scenarios_give_finite_figures(scenario: dict[str, Any]) -> None:
    if _parse_error(scenario) is not None:
        return
    result = simulate(scenario)
    assert tuple(result) == RESULT_KEYS
    for key, value in result.items():
        if isinstance(value, float):
            assert math.isfinite(value), key
