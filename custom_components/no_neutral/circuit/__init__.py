"""The no-neutral adaptor's circuit simulator (docs/model.md); numpy only, no Home Assistant."""

from __future__ import annotations

from .figures import RESULT_KEYS, WARNING_CODES, simulate
from .pacing import Pacer, SimulationTimeoutError
from .params import DEFAULT_SCENARIO, Scenario, ScenarioError, parse_scenario
from .waveforms import waveforms

__all__ = [
    "DEFAULT_SCENARIO",
    "RESULT_KEYS",
    "WARNING_CODES",
    "Pacer",
    "Scenario",
    "ScenarioError",
    "SimulationTimeoutError",
    "parse_scenario",
    "simulate",
    "waveforms",
]
