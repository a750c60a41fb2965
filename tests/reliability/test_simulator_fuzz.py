"""
Bad input to the simulator: only clean errors that name the key, never a crash.

The default run checks a few hundred scenarios of each kind; the `long` run
checks 10,000 (validation only: one full simulation takes seconds, so the
long run also simulates a bounded sample of random *valid* extreme scenarios
through the command line, each under a time limit, and checks every figure is
finite).
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.no_neutral.circuit import (
    DEFAULT_SCENARIO,
    RESULT_KEYS,
    WARNING_CODES,
    ScenarioError,
    parse_scenario,
    simulate,
)
from custom_components.no_neutral.circuit import __main__ as cli

from .strategies import ALL_PATHS, garbage_scenarios, one_fault, valid_scenarios

PROJECT = Path(__file__).resolve().parents[2]
KNOWN_KEYS = {"", *DEFAULT_SCENARIO, *ALL_PATHS}


def _fuzz_settings(examples: int) -> settings:
    # Derandomised: CI runs the same inputs every time; a failure is reproducible.
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )


def _check_error_names_input(scenario: Any, err: ScenarioError) -> None:
    assert err.reason, f"empty reason for {err.key!r}"
    assert str(err).startswith(f"{err.key}: ")
    if err.reason == "unknown key":
        # The unknown key itself, as given (a top-level key may contain a dot).
        section, _, field = err.key.partition(".")
        assert err.key in scenario or field in scenario.get(section, {}), err.key
    else:
        assert err.key in KNOWN_KEYS, err.key


def check_one_fault(case: tuple[dict[str, Any], str]) -> None:
    scenario, bad_path = case
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(scenario)
    err = caught.value
    _check_error_names_input(scenario, err)
    # Other fields are valid, so the error is about the bad one; a bad voltage
    # may be reported as the capacitor's rating falling below its peak, and a
    # bad LED threshold as the stop/start relation.
    related = {
        "mains.voltage_rms": {"smoothing.voltage_rating_v"},
        "lamp.led_start_v": {"lamp.led_stop_v"},
    }
    assert err.key == bad_path or err.key in related.get(bad_path, set()), (bad_path, err)


def check_garbage(scenario: Any) -> None:
    try:
        parsed = parse_scenario(scenario)
    except ScenarioError as err:
        if isinstance(scenario, dict):
            _check_error_names_input(scenario, err)
        return
    # Accepted: every number finite (nothing guessed, nothing NaN).
    for section in dataclasses.fields(parsed):
        part = getattr(parsed, section.name)
        for field in dataclasses.fields(part):
            value = getattr(part, field.name)
            if isinstance(value, float):
                assert math.isfinite(value), (section.name, field.name, value)


def check_valid(scenario: dict[str, Any]) -> None:
    parse_scenario(scenario)


def _run(strategy: st.SearchStrategy[Any], check: Any, examples: int) -> None:
    given(strategy)(_fuzz_settings(examples)(check))()


@pytest.mark.parametrize(
    ("strategy", "check"),
    [
        (one_fault(), check_one_fault),
        (garbage_scenarios, check_garbage),
        (valid_scenarios(), check_valid),
    ],
    ids=["one-fault", "garbage", "valid"],
)
def test_validation_fuzz(strategy: Any, check: Any) -> None:
    _run(strategy, check, 300)


@pytest.mark.long
@pytest.mark.parametrize(
    ("strategy", "check", "examples"),
    [
        (one_fault(), check_one_fault, 5_000),
        (garbage_scenarios, check_garbage, 3_000),
        (valid_scenarios(), check_valid, 2_000),
    ],
    ids=["one-fault", "garbage", "valid"],
)
def test_validation_fuzz_10000(strategy: Any, check: Any, examples: int) -> None:
    """10,000 scenarios in all."""
    _run(strategy, check, examples)


def _simulate_cli(scenario: dict[str, Any], limit_s: float) -> tuple[int, str, str, float]:
    """
    Run the command line's module on one scenario in its own process, under a time limit.

    The circuit package is started as a top-level package from its parent
    directory (it imports only itself, relatively): through
    custom_components.no_neutral it would first import Home Assistant, 5 s
    per process, and two such imports at once sometimes died creating an SSL
    context. test_cli_process_rejects_bad_input_with_status_2 runs the full
    dotted name.
    """
    began = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "circuit", "-"],
        input=json.dumps(scenario),
        capture_output=True,
        text=True,
        timeout=limit_s,
        cwd=PROJECT / "custom_components" / "no_neutral",
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr, time.monotonic() - began


def _check_figures(scenario: dict[str, Any], figures: dict[str, Any]) -> None:
    assert tuple(figures) == RESULT_KEYS, scenario
    for key, value in figures.items():
        if key == "warnings":
            assert all(code in WARNING_CODES for code in value)
            assert value == [code for code in WARNING_CODES if code in value]
        elif isinstance(value, float):
            assert math.isfinite(value), (key, value, scenario)
        else:
            assert value is None or isinstance(value, bool | int), (key, value)


SIM_LIMIT_S = 180.0


BAD_CLI_INPUTS = (
    '{"lamp": {"power_w": NaN}}',
    '{"mains": {"voltage_rms": Infinity}}',
    '{"smoothing": {"capacitance_uf": -1}}',
    '{"lamp": {"count": 1.5}}',
    '{"relay": {"closed": "yes"}}',
    '{"cable": []}',
    "[1, 2]",
    '{"lamp": {"type": "neon"}}',
    "{not json",
    '"just a string"',
    "1e999",
)


@pytest.mark.parametrize("bad", BAD_CLI_INPUTS)
def test_cli_main_rejects_bad_input(
    bad: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command line's own code, in this process (a process start costs seconds)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(bad))
    assert cli.main(["-"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip()


def test_cli_process_rejects_bad_input_with_status_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "custom_components.no_neutral.circuit", "-"],
        input=BAD_CLI_INPUTS[0],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "lamp.power_w" in proc.stderr
    assert "Traceback" not in proc.stderr


def _extreme_scenarios(count: int) -> list[dict[str, Any]]:
    """Valid scenarios, weighted towards the edges of the accepted ranges."""
    found: list[dict[str, Any]] = []

    @given(valid_scenarios(min_fields=4))
    @_fuzz_settings(count)
    def collect(scenario: dict[str, Any]) -> None:
        found.append(scenario)

    collect()
    # Hypothesis starts with the simplest examples (mostly the defaults); keep the varied tail.
    unique = {json.dumps(s, sort_keys=True): s for s in found}
    return list(unique.values())[-count:]


NOT_CONVERGING = {
    "mains": {"voltage_rms": 10.0, "frequency_hz": 10.0},
    "cable": {"length_m": 1e-6},
}


def test_accepted_scenario_simulates_or_names_the_key() -> None:
    try:
        figures = simulate(NOT_CONVERGING)
    except ScenarioError as err:
        assert err.key in KNOWN_KEYS
        return
    _check_figures(NOT_CONVERGING, figures)


@pytest.mark.long
def test_random_valid_scenarios_simulate_to_finite_figures() -> None:
    """
    Each accepted scenario simulates within the limit to finite figures, through the CLI.

    Bounded by NO_NEUTRAL_SIM_FUZZ (default 8) full simulations, two at a time.
    """
    count = int(os.environ.get("NO_NEUTRAL_SIM_FUZZ", "8"))
    scenarios = _extreme_scenarios(count)
    failures: list[str] = []
    times: list[float] = []

    def one(scenario: dict[str, Any]) -> None:
        try:
            status, out, err, took = _simulate_cli(scenario, SIM_LIMIT_S)
        except subprocess.TimeoutExpired:
            failures.append(f"over {SIM_LIMIT_S} s: {json.dumps(scenario)}")
            return
        times.append(took)
        if status != 0:
            failures.append(f"status {status}: {err.strip()[-400:]} for {json.dumps(scenario)}")
            return
        try:
            _check_figures(scenario, json.loads(out))
        except AssertionError as failure:
            failures.append(f"{failure} for {json.dumps(scenario)}")

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(one, scenarios))
    print(
        f"simulated {len(times)} scenarios: max {max(times, default=0):.1f} s, "
        f"mean {sum(times) / max(len(times), 1):.1f} s"
    )
    assert not failures, "\n".join(failures)
