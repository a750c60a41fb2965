"""
Pacing: a paced run hands the GIL over about every half millisecond of work
and stops past its deadline; anything else (the command line, another thread)
is not paced. Time is a fake clock where the interval matters.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from custom_components.no_neutral.circuit import (
    Pacer,
    ScenarioError,
    SimulationTimeoutError,
    pacing,
    simulate,
)
from custom_components.no_neutral.circuit.pacing import YIELD_EVERY_S, pace

SCENARIO: dict[str, Any] = {"lamp": {"type": "resistive", "count": 1, "power_w": 60.0}}


class Sleeps:
    """Counts the hand-overs (time.sleep(0) calls) of the pacing module."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = pacing.sleep

        def sleep(seconds: float) -> None:
            assert seconds == 0
            self.count += 1
            real(seconds)

        monkeypatch.setattr(pacing, "sleep", sleep)


class FakeClock:
    """A clock that moves on by `tick` at every reading, as steady work would."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, tick: float) -> None:
        self.now = 0.0
        self.tick = tick
        monkeypatch.setattr(pacing, "perf_counter", self.read)

    def read(self) -> float:
        self.now += self.tick
        return self.now


def test_steps_outside_a_paced_run_are_not_paced(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps = Sleeps(monkeypatch)
    FakeClock(monkeypatch, tick=1.0)
    for _ in range(1000):
        pace()
    assert sleeps.count == 0


def test_a_paced_run_hands_over_every_half_millisecond_of_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sleeps = Sleeps(monkeypatch)
    # Each step reads the clock once (twice at a hand-over), 0.11 ms later each
    # time: 4.5 readings per half millisecond, so no reading falls on the due time.
    tick = YIELD_EVERY_S / 4.5
    clock = FakeClock(monkeypatch, tick=tick)
    with Pacer(60.0):
        for _ in range(6000):
            pace()
    # A hand-over after every fifth step: the first past half a millisecond.
    assert sleeps.count == 1200
    # One reading per step, one more per hand-over, one at the start.
    assert clock.now == pytest.approx(tick * (1 + 6000 + 1200))
    # Left the block: not paced any more.
    for _ in range(100):
        pace()
    assert sleeps.count == 1200


def test_a_paced_simulation_hands_over_and_gives_the_same_figures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sleeps = Sleeps(monkeypatch)
    with Pacer(60.0):
        paced = simulate(SCENARIO)
    assert sleeps.count > 0  # a simulation is far more than half a millisecond of work
    assert paced == simulate(SCENARIO)  # bit for bit


def test_a_run_past_its_deadline_stops() -> None:
    with pytest.raises(SimulationTimeoutError) as raised, Pacer(0.0):
        simulate(SCENARIO)
    assert str(raised.value) == "the simulation took longer than 0 s"
    # Not a failure of the scenario: a caller must not keep it as the scenario's result.
    assert not isinstance(raised.value, (ScenarioError, ArithmeticError))
    # The same scenario, unpaced, simulates as ever.
    assert simulate(SCENARIO)["lamp_power_w"] > 0


def test_stop_from_another_thread_ends_the_run() -> None:
    pacer = Pacer(60.0)
    started = threading.Event()
    outcome: list[BaseException] = []

    def run() -> None:
        with pacer:
            started.set()
            try:
                while True:  # ends only when stopped
                    pace()
            except SimulationTimeoutError as err:
                outcome.append(err)

    thread = threading.Thread(target=run)
    thread.start()
    assert started.wait(30)
    pacer.stop()
    thread.join(30)
    assert not thread.is_alive()
    assert len(outcome) == 1


def test_a_paced_run_paces_its_own_thread_only(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps = Sleeps(monkeypatch)
    FakeClock(monkeypatch, tick=1.0)
    failures: list[BaseException] = []

    def other() -> None:
        try:
            for _ in range(1000):
                pace()
        except BaseException as err:  # noqa: BLE001
            failures.append(err)

    with Pacer(0.0):  # past its deadline already
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(30)
        with pytest.raises(SimulationTimeoutError):
            pace()
    assert failures == []
    assert sleeps.count == 0
