"""Helpers of the reliability tests: fuzzing inside Home Assistant, log watching."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from homeassistant.core import HomeAssistant
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

INTEGRATION_LOGGER = "custom_components.no_neutral"


def fuzz_settings(examples: int) -> settings:
    """Derandomised (CI runs the same inputs each time), no example database in the tree."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


async def fuzz_in_hass[T](
    hass: HomeAssistant,
    strategy: st.SearchStrategy[T],
    check: Callable[[T], Awaitable[None]],
    examples: int,
) -> None:
    """
    Run `check` on `examples` inputs drawn by Hypothesis, on Home Assistant's loop.

    Hypothesis drives from a worker thread (it is synchronous) and hands each
    input to the loop, so every check runs where the integration runs, and
    Hypothesis still shrinks a failure to its smallest input.
    """
    loop = hass.loop

    @given(strategy)
    @fuzz_settings(examples)
    def run(value: T) -> None:
        asyncio.run_coroutine_threadsafe(check(value), loop).result(timeout=120)

    await hass.async_add_executor_job(run)


class LogWatch(logging.Handler):
    """Every record of the watched loggers, kept for assertions."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def errors(self, prefix: str = INTEGRATION_LOGGER) -> list[str]:
        """Error-level (or worse) lines of loggers under `prefix`."""
        return [
            f"{r.name}: {r.getMessage()}"
            for r in self.records
            if r.levelno >= logging.ERROR and r.name.startswith(prefix)
        ]

    def text(self) -> str:
        """Every watched line, formatted with its traceback."""
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        return "\n".join(formatter.format(r) for r in self.records)


@contextmanager
def watch_logs(*names: str, level: int = logging.DEBUG) -> Iterator[LogWatch]:
    """Attach a LogWatch to loggers (the root by default) at `level`."""
    watch = LogWatch()
    loggers = [logging.getLogger(name) for name in (names or ("",))]
    saved = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(watch)
        logger.setLevel(min(level, logger.getEffectiveLevel()))
    try:
        yield watch
    finally:
        for logger, old in zip(loggers, saved, strict=True):
            logger.removeHandler(watch)
            logger.setLevel(old)


def finite_number_state(state: str) -> bool:
    """Whether a sensor state is a finite number."""
    try:
        return math.isfinite(float(state))
    except ValueError:
        return False


def sensor_problems(hass: HomeAssistant, domain: str = "no_neutral") -> list[str]:
    """Sensors of the integration whose state is NaN or infinite."""
    from homeassistant.helpers import entity_registry as er  # noqa: PLC0415

    problems = []
    for entry in er.async_get(hass).entities.values():
        if entry.platform != domain or not entry.entity_id.startswith("sensor."):
            continue
        state = hass.states.get(entry.entity_id)
        if state is None or state.state in ("unknown", "unavailable"):
            continue
        if not finite_number_state(state.state):
            problems.append(f"{entry.entity_id}={state.state}")
        for name, value in state.attributes.items():
            if isinstance(value, float) and not math.isfinite(value):
                problems.append(f"{entry.entity_id}.{name}={value}")
    return problems


def is_finite_tree(value: Any) -> bool:
    """Whether every float in a JSON-like tree is finite."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(is_finite_tree(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(is_finite_tree(v) for v in value)
    return True
