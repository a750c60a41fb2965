"""Capacitor life and fusible-resistor stress maths (circuit/ageing.py), no Home Assistant."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.no_neutral.circuit.ageing import (
    CONSUMED_STEP,
    CapacitorSpec,
    FuseHeat,
    FuseSpec,
    History,
    HistoryError,
    consume,
    end_of_life,
    health_pct,
    quantize_consumed,
    remaining_life_h,
)

CAP = CapacitorSpec(capacitance_uf=15.0, esr_ohm=3.0)
FUSE = FuseSpec(power_rating_w=2.0)


def test_rated_ripple_heats_the_core_by_5_kelvin() -> None:
    power = CAP.rated_ripple_a**2 * CAP.esr_ohm
    assert CAP.core_temperature_c(25.0, power) == pytest.approx(30.0)
    assert CAP.thermal_resistance_k_per_w == pytest.approx(5 / (0.15**2 * 3.0))
    # A part with a higher rating runs cooler for the same ESR power.
    strong = CapacitorSpec(capacitance_uf=15.0, esr_ohm=3.0, rated_ripple_a=0.3)
    assert strong.core_temperature_c(25.0, power) == pytest.approx(26.25)


def test_no_esr_power_means_core_at_ambient() -> None:
    assert CAP.core_temperature_c(31.5, 0.0) == 31.5
    # A slightly negative figure from the solver is no cooling.
    assert CAP.core_temperature_c(31.5, -1e-9) == 31.5


def test_life_doubles_every_10_kelvin_below_rating() -> None:
    assert CAP.life_h(105.0) == pytest.approx(2000.0)
    assert CAP.life_h(95.0) == pytest.approx(4000.0)
    assert CAP.life_h(25.0) == pytest.approx(2000.0 * 256)
    assert CAP.life_h(115.0) == pytest.approx(1000.0)
    other = CapacitorSpec(capacitance_uf=10, esr_ohm=2, rated_life_h=5000, rated_temp_c=85)
    assert other.life_h(65.0) == pytest.approx(20000.0)


def test_consumed_life_accumulates_hours_over_life() -> None:
    consumed = 0.0
    for _ in range(10):
        consumed = consume(consumed, 100.0, CAP.life_h(105.0))
    assert consumed == pytest.approx(0.5)
    assert health_pct(consumed) == pytest.approx(50.0)
    assert remaining_life_h(consumed, CAP.life_h(105.0)) == pytest.approx(1000.0)
    assert remaining_life_h(consumed, CAP.life_h(25.0)) == pytest.approx(256000.0)
    assert consume(0.3, -5.0, 100.0) == 0.3


def test_part_values_degrade_linearly_to_end_of_life_and_hold() -> None:
    assert CAP.aged_capacitance_uf(0.0) == 15.0
    assert CAP.aged_esr_ohm(0.0) == 3.0
    assert CAP.aged_capacitance_uf(0.5) == pytest.approx(13.5)
    assert CAP.aged_esr_ohm(0.5) == pytest.approx(4.5)
    assert CAP.aged_capacitance_uf(1.0) == pytest.approx(12.0)
    assert CAP.aged_esr_ohm(1.0) == pytest.approx(6.0)
    assert CAP.aged_capacitance_uf(3.0) == pytest.approx(12.0)
    assert CAP.aged_esr_ohm(3.0) == pytest.approx(6.0)
    assert not end_of_life(0.999)
    assert end_of_life(1.0)
    assert health_pct(1.7) == 0.0
    assert remaining_life_h(1.7, 1000.0) == 0.0


def test_quantized_wear_moves_in_steps_and_never_ahead() -> None:
    assert quantize_consumed(0.0) == 0.0
    assert quantize_consumed(0.0049) == 0.0
    assert quantize_consumed(0.005) == pytest.approx(0.005)
    assert quantize_consumed(0.0123) == pytest.approx(0.01)
    assert quantize_consumed(0.3) == pytest.approx(0.3)
    assert quantize_consumed(2.0) == 1.0
    # An hour at 25 C ambient moves nothing: no new simulation every tick.
    hour = consume(0.0, 1.0, CAP.life_h(30.0))
    assert quantize_consumed(hour) == 0.0


@given(st.floats(min_value=0.0, max_value=1.0))
def test_quantized_wear_is_within_one_step(consumed: float) -> None:
    q = quantize_consumed(consumed)
    assert q <= consumed + 1e-9
    assert consumed - q < CONSUMED_STEP + 1e-9


def test_fuse_steady_power_settles_at_its_ratio_of_the_rating() -> None:
    heat = FuseHeat()
    heat = heat.advance(FUSE, 1e6, 0.5)
    assert heat.stress_pct(FUSE) == pytest.approx(25.0)
    # One time constant covers 63 % of the way.
    cold = FuseHeat().advance(FUSE, FUSE.time_constant_s, 2.0)
    assert cold.stress_pct(FUSE) == pytest.approx(100 * (1 - math.exp(-1)))
    # Split into steps, the same result (the update is exact for constant power).
    stepped = FuseHeat()
    for _ in range(30):
        stepped = stepped.advance(FUSE, 1.0, 2.0)
    assert stepped.total_j == pytest.approx(cold.total_j)
    assert FuseHeat(steady_j=3.0).advance(FUSE, 0.0, 9.0) == FuseHeat(steady_j=3.0)


def test_fuse_sheds_inrush_energy_with_its_time_constant() -> None:
    heat = FuseHeat().add_inrush(6.0)
    assert heat.switching_j == 6.0
    assert heat.stress_pct(FUSE) == pytest.approx(100 * 6.0 / 60.0)
    later = heat.advance(FUSE, FUSE.time_constant_s, 0.0)
    assert later.switching_j == pytest.approx(6.0 * math.exp(-1))
    assert FuseHeat().add_inrush(-0.01).switching_j == 0.0


def _switch_every(interval_s: float, energy_j: float, steady_w: float, times: int) -> FuseHeat:
    heat = FuseHeat()
    for _ in range(times):
        heat = heat.advance(FUSE, interval_s, steady_w).add_inrush(energy_j)
    return heat


def test_switching_faster_than_the_fuse_sheds_energy_warns() -> None:
    # 1 J per switching with 1.5 W steady: 0.5 W of headroom, i.e. one
    # switching every 2 s is the limit.
    slow = _switch_every(4.0, 1.0, 1.5, 200)
    assert not slow.switching_overstress(FUSE)
    assert slow.stress_pct(FUSE) < 100
    fast = _switch_every(1.0, 1.0, 1.5, 600)
    assert fast.switching_overstress(FUSE)
    assert fast.stress_pct(FUSE) > 100
    # The periodic limit: E / (1 - exp(-dt / tau)) right after a switching.
    assert fast.switching_j == pytest.approx(1.0 / -math.expm1(-1.0 / 30.0), rel=1e-3)
    # It clears once switching stops and the heat is shed.
    assert not fast.advance(FUSE, 120.0, 1.5).switching_overstress(FUSE)


def test_steady_overload_is_not_blamed_on_switching() -> None:
    heat = _switch_every(1.0, 1.0, 2.5, 200)
    assert heat.stress_pct(FUSE) > 125
    assert not heat.switching_overstress(FUSE)


def test_fuse_opens_at_twenty_times_rating_within_a_minute() -> None:
    heat = FuseHeat().advance(FUSE, 59.0, 20 * 2.0)
    assert not heat.opened(FUSE)
    assert heat.advance(FUSE, 1.0, 20 * 2.0).opened(FUSE)
    # Ten times its rating for ever does not open it.
    assert not FuseHeat().advance(FUSE, 1e6, 10 * 2.0).opened(FUSE)
    # Five times its rating for 5 s (what datasheets allow) is far from opening.
    brief = FuseHeat().advance(FUSE, 5.0, 5 * 2.0)
    assert brief.total_j < 0.1 * FUSE.opening_heat_j
    assert FUSE.opening_heat_j == pytest.approx(20 * 2.0 * 30 * (1 - math.exp(-2)))


def test_history_counts_closed_time_with_ripple_heat() -> None:
    history = History()
    history.advance(
        seconds=3600,
        closed=True,
        ambient_c=85.0,
        esr_power_w=0.27,  # 20 K of self-heating: 105 C core
        fuse_power_w=1.0,
        cap=CAP,
        fuse=FUSE,
    )
    assert CAP.core_temperature_c(85.0, 0.27) == pytest.approx(105.0)
    assert history.cap_consumed == pytest.approx(1 / 2000)
    assert history.powered_h == pytest.approx(1.0)
    assert history.fuse.stress_pct(FUSE) == pytest.approx(50.0)
    # Open: bias only (core at ambient), and the resistor cools.
    history.advance(
        seconds=3600,
        closed=False,
        ambient_c=85.0,
        esr_power_w=0.27,
        fuse_power_w=1.0,
        cap=CAP,
        fuse=FUSE,
    )
    assert history.cap_consumed == pytest.approx(1 / 2000 + 1 / 8000)
    assert history.fuse.total_j == pytest.approx(0.0, abs=1e-9)
    history.advance(
        seconds=-5, closed=True, ambient_c=85, esr_power_w=1, fuse_power_w=1, cap=CAP, fuse=FUSE
    )
    assert history.powered_h == pytest.approx(2.0)


def test_history_counts_energy_in_each_relay_state() -> None:
    history = History()
    common = {"ambient_c": 25.0, "esr_power_w": 0.01, "fuse_power_w": 0.1, "cap": CAP, "fuse": FUSE}
    # Two hours on: the lamp's energy and the losses with it on.
    history.advance(seconds=7200, closed=True, lamp_power_w=9.0, loss_power_w=1.5, **common)
    # Half an hour off: the standby draw alone, a loss too; the lamp draws nothing.
    history.advance(seconds=1800, closed=False, lamp_power_w=9.0, loss_power_w=0.6, **common)
    assert history.lamp_energy_wh == pytest.approx(18.0)
    assert history.standby_energy_wh == pytest.approx(0.3)
    assert history.loss_energy_wh == pytest.approx(3.0 + 0.3)
    # No time, or time running backwards, counts nothing.
    history.advance(seconds=-60, closed=True, lamp_power_w=9.0, loss_power_w=1.5, **common)
    assert history.lamp_energy_wh == pytest.approx(18.0)
    # Replacing parts keeps what was drawn.
    history.capacitor_replaced()
    history.fuse_replaced()
    assert history.loss_energy_wh == pytest.approx(3.3)


def test_history_switchings_and_a_blown_fuse() -> None:
    history = History()
    history.switched(closed=True, inrush_j=0.5, fuse=FUSE)
    history.switched(closed=False, inrush_j=0.5, fuse=FUSE)
    assert history.switchings == 2
    # Only the closing puts inrush energy into the resistor.
    assert history.fuse.switching_j == 0.5
    history.switched(closed=True, inrush_j=FUSE.opening_heat_j, fuse=FUSE)
    assert history.fuse_blown
    # Blown, it carries nothing: no heat from steady power or inrush.
    history.switched(closed=True, inrush_j=5.0, fuse=FUSE)
    history.advance(
        seconds=1e5, closed=True, ambient_c=25, esr_power_w=0, fuse_power_w=3, cap=CAP, fuse=FUSE
    )
    assert history.fuse.total_j == pytest.approx(0.0, abs=1e-9)
    assert history.fuse_blown
    history.fuse_replaced()
    assert not history.fuse_blown
    assert history.fuse == FuseHeat()


def test_history_opens_the_fuse_on_steady_overload() -> None:
    history = History()
    history.advance(
        seconds=120, closed=True, ambient_c=25, esr_power_w=0, fuse_power_w=50, cap=CAP, fuse=FUSE
    )
    assert history.fuse_blown


def test_history_round_trips_through_json() -> None:
    history = History(
        cap_consumed=0.3,
        powered_h=12.5,
        fuse=FuseHeat(steady_j=4.0, switching_j=1.5),
        fuse_blown=True,
        switchings=42,
        lamp_energy_wh=1234.5,
        loss_energy_wh=210.25,
        standby_energy_wh=88.0,
    )
    data = json.loads(json.dumps(history.as_dict()))
    assert History.from_dict(data) == history
    assert History.from_dict({}) == History()
    history.capacitor_replaced()
    assert history.cap_consumed == 0.0
    assert history.switchings == 42


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"cap_consumed": "garbage"}, "cap_consumed"),
        ({"cap_consumed": "NaN"}, "cap_consumed"),
        ({"cap_consumed": math.nan}, "cap_consumed"),
        ({"powered_h": math.inf}, "powered_h"),
        ({"powered_h": -1.0}, "powered_h"),
        ({"fuse_steady_j": None}, "fuse_steady_j"),
        ({"fuse_switching_j": True}, "fuse_switching_j"),
        ({"cap_consumed": 10**400}, "cap_consumed"),
        ({"switchings": None}, "switchings"),
        ({"switchings": 2.5}, "switchings"),
        ({"switchings": -3}, "switchings"),
        ({"switchings": "7"}, "switchings"),
        ({"fuse_blown": "false"}, "fuse_blown"),
        ({"fuse_blown": 0}, "fuse_blown"),
        ({"lamp_energy_wh": -0.5}, "lamp_energy_wh"),
        ({"loss_energy_wh": "12"}, "loss_energy_wh"),
        ({"standby_energy_wh": math.nan}, "standby_energy_wh"),
        (["not", "an", "object"], ""),
        (None, ""),
    ],
)
def test_history_refuses_what_it_did_not_write(data: object, key: str) -> None:
    """A damaged file is refused, not coerced: a guessed history would show wrong wear."""
    with pytest.raises(HistoryError) as caught:
        History.from_dict(data)
    assert caught.value.key == key
    assert caught.value.reason


def test_history_reads_past_end_of_life() -> None:
    """Consumed life above 1 is real (a part run past its rated life), not damage."""
    assert History.from_dict({"cap_consumed": 1.7, "switchings": 0}).cap_consumed == 1.7
