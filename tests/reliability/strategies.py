"""
Hypothesis strategies for bad input: scenarios, option forms and action calls.

Valid values come from the simulator's own accepted ranges (docs/model.md); bad
values are what a user, an automation or a broken YAML can send: NaN,
infinities, numbers out of range, numbers as text ("nan" passes float()),
wrong types, unknown keys.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from custom_components.no_neutral.circuit import DEFAULT_SCENARIO
from custom_components.no_neutral.circuit.params import (  # the accepted ranges
    _NUMBER_RANGES,
    CAPACITOR_FAULTS,
    DIODE_FAULTS,
)

LAMP_TYPES = ("led", "resistive", "capacitive_dropper", "none")
BOOLEANS = frozenset({"smoothing.fuse_blown", "relay.closed"})
NULLABLE = frozenset({"smoothing.bleed_resistance_ohm"})


def fault_states(path: str) -> tuple[str, ...] | None:
    """The states a `faults` path takes (None: not a fault path)."""
    if not path.startswith("faults."):
        return None
    return CAPACITOR_FAULTS if path == "faults.capacitor" else DIODE_FAULTS


ALL_PATHS: tuple[str, ...] = tuple(
    f"{section}.{name}" for section, fields in DEFAULT_SCENARIO.items() for name in fields
)

NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])
HUGE = st.sampled_from([1e308, -1e308, 10**400, -(10**400), 2**64])
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(["nan", "inf", "-inf", "1e999", "", " ", "12", "0x10", "1,5", "∞"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    st.binary(max_size=4),
)
ANY_NUMBER = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(), NON_FINITE, HUGE
)
BAD_OR_ANY = st.one_of(ANY_NUMBER, JUNK)


def valid_value(path: str) -> st.SearchStrategy[Any]:
    """A value the simulator must accept for one path (relations aside)."""
    if path in BOOLEANS:
        return st.booleans()
    if (states := fault_states(path)) is not None or path == "lamp.type":
        return st.sampled_from(states or LAMP_TYPES)
    if path == "lamp.count":
        return st.integers(1, 100)
    low, low_ok, high = _NUMBER_RANGES[path]
    if path == "relay.close_phase_deg":
        numbers = st.floats(low, high, exclude_max=True, allow_subnormal=False)
    else:
        numbers = st.floats(low, high, exclude_min=not low_ok, allow_subnormal=False)
    if path in NULLABLE:
        return st.one_of(st.none(), numbers)
    if float(low).is_integer() and float(high).is_integer() and high < 1e9:
        top = int(high) - (1 if path == "relay.close_phase_deg" else 0)
        ints = st.integers(math.ceil(low) + (0 if low_ok else 1), top)
        return st.one_of(numbers, ints)
    return numbers


def invalid_value(path: str) -> st.SearchStrategy[Any]:
    """A value the simulator must reject for this path, whatever the rest says."""
    if path in BOOLEANS:
        return st.one_of(ANY_NUMBER, JUNK.filter(lambda v: not isinstance(v, bool)))
    if path == "lamp.type":
        return st.one_of(ANY_NUMBER, JUNK.filter(lambda v: v not in LAMP_TYPES))
    if (states := fault_states(path)) is not None:
        return st.one_of(
            ANY_NUMBER, JUNK.filter(lambda v: v not in states), st.sampled_from(LAMP_TYPES)
        )
    if path == "lamp.count":
        return st.one_of(
            st.integers().filter(lambda v: not 1 <= v <= 100),
            st.floats(allow_nan=True),
            st.booleans(),
            JUNK.filter(lambda v: not isinstance(v, int) or isinstance(v, bool)),
        )
    low, low_ok, high = _NUMBER_RANGES[path]
    out_of_range = st.one_of(
        st.floats(max_value=low, exclude_max=low_ok, allow_nan=False),
        st.floats(min_value=high, exclude_min=path != "relay.close_phase_deg", allow_nan=False),
    )
    junk = JUNK.filter(lambda v: not (v is None and path in NULLABLE))
    return st.one_of(out_of_range, NON_FINITE, HUGE, junk, st.booleans())


@st.composite
def valid_scenarios(draw: st.DrawFn, *, min_fields: int = 0) -> dict[str, Any]:
    """A scenario the simulator must accept: some fields set, relations kept."""
    paths = draw(st.lists(st.sampled_from(ALL_PATHS), min_size=min_fields, unique=True))
    scenario: dict[str, dict[str, Any]] = {}
    for path in paths:
        section, name = path.split(".")
        scenario.setdefault(section, {})[name] = draw(valid_value(path))
    # Keep the model's one relation (docs/model.md): the LED driver stops below where it starts.
    lamp = scenario.get("lamp", {})
    start = lamp.get("led_start_v", DEFAULT_SCENARIO["lamp"]["led_start_v"])
    stop = lamp.get("led_stop_v", DEFAULT_SCENARIO["lamp"]["led_stop_v"])
    if stop >= start:
        if start / 2 > 0:
            scenario.setdefault("lamp", {})["led_stop_v"] = start / 2
        else:
            scenario["lamp"].update(led_start_v=100, led_stop_v=70)
    return scenario


@st.composite
def one_fault(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A valid scenario with exactly one bad field; returns (scenario, the bad path)."""
    scenario = draw(valid_scenarios())
    path = draw(st.sampled_from(ALL_PATHS))
    section, name = path.split(".")
    scenario.setdefault(section, {})[name] = draw(invalid_value(path))
    return scenario, path


garbage_scenarios = st.recursive(
    st.one_of(BAD_OR_ANY, st.sampled_from(LAMP_TYPES)),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.one_of(
                st.sampled_from(
                    [*DEFAULT_SCENARIO, *ALL_PATHS, *(p.split(".")[1] for p in ALL_PATHS)]
                ),
                st.text(max_size=6),
            ),
            children,
            max_size=5,
        ),
    ),
    max_leaves=25,
)
