"""
Pacing of a simulation run in a thread beside an event loop, and its deadline.

Python runs one thread at a time (the GIL). A thread busy in the simulator
keeps it until CPython's switch interval (5 ms) runs out, so an event loop in
another thread of the same process wakes up to 5 ms late, again and again,
while a simulation runs. The solvers call `pace()` once per time step: inside
a `Pacer` (the caller's `with` block) it sleeps for no time about every
YIELD_EVERY_S of work, which hands the GIL to a thread waiting for it at once,
and raises SimulationTimeoutError once the run is past its deadline. Outside
one (the command line, the tests) it looks up a context variable and returns.

A context variable, not a global: each thread has its own, so a paced run in
one executor thread leaves a run in another thread (or the command line) alone.
"""

from __future__ import annotations

import math
import sys
from contextvars import ContextVar, Token
from time import perf_counter, sleep
from typing import Final, Self

# Work between two hand-overs: well under the 5 ms switch interval, and long
# enough (some ten steps) that the hand-overs cost nothing measurable.
YIELD_EVERY_S: Final = 0.0005


class SimulationTimeoutError(Exception):
    """A paced run went past its deadline: not the scenario's fault, nothing to cache."""

    def __init__(self, deadline_s: float) -> None:
        """Say how long the run was given."""
        super().__init__(f"the simulation took longer than {deadline_s:g} s")
        self.deadline_s = deadline_s


class Pacer:
    """
    One paced run: its deadline, and when it next hands the GIL over.

    The clock starts when the pacer is made; `with pacer:` paces the solver's
    steps in that block (the thread that runs it). `stop()`, from any thread,
    ends the run at its next hand-over, as a deadline passed would.
    """

    __slots__ = ("_interval", "_token", "deadline", "deadline_s", "due")

    def __init__(self, deadline_s: float) -> None:
        """Start the clock: the run has `deadline_s` seconds from now."""
        now = perf_counter()
        self.deadline_s = deadline_s
        self.deadline = now + deadline_s
        self.due = now + YIELD_EVERY_S
        self._token: Token[Pacer | None] | None = None
        self._interval: float | None = None

    def stop(self) -> None:
        """End the run at its next hand-over (its caller has gone: Home Assistant stops)."""
        # One float written: atomic under the GIL, read by the running thread.
        self.deadline = -math.inf

    def __enter__(self) -> Self:
        """Pace the solver's steps of this thread until the block ends."""
        self._token = _PACER.set(self)
        # The hand-overs alone fail when every core is busy (other processes):
        # the waiting thread is not scheduled before this one takes the GIL
        # back, and waits out the switch interval (5 ms; p99 lateness of the
        # loop 4.4-5.1 ms with both cores loaded, 0.12 ms without the run).
        # For the run, a thread waiting for the GIL forces a switch after
        # YIELD_EVERY_S instead; restored afterwards.
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._interval, YIELD_EVERY_S))
        return self

    def __exit__(self, *_exc: object) -> None:
        """Leave the steps of this thread unpaced again."""
        if self._token is not None:
            _PACER.reset(self._token)
            self._token = None
        if self._interval is not None:
            sys.setswitchinterval(self._interval)
            self._interval = None


_PACER: Final[ContextVar[Pacer | None]] = ContextVar("no_neutral_circuit_pacer", default=None)


def pace() -> None:
    """
    Mark the end of one solver step.

    In a paced run: hand the GIL over when YIELD_EVERY_S of work has passed
    since the last hand-over, and raise SimulationTimeoutError when the run is
    past its deadline (checked at the hand-overs). Otherwise: nothing.
    """
    pacer = _PACER.get()
    if pacer is None:
        return
    now = perf_counter()
    if now < pacer.due:
        return
    if now >= pacer.deadline:
        raise SimulationTimeoutError(pacer.deadline_s)
    sleep(0)  # releases the GIL: a thread waiting for it takes it now
    pacer.due = perf_counter() + YIELD_EVERY_S
