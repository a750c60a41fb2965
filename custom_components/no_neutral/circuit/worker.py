"""
The simulator as a long-lived process: JSON lines in, JSON lines out.

Home Assistant runs the simulator here (custom_components/no_neutral/worker.py
starts the process) rather than in an executor thread: a thread busy in the
simulator holds the GIL for up to 5 ms at a time, and the event loop waits for
it. A process of its own shares nothing with the loop, and at a lower priority
it leaves a core to Home Assistant whenever the loop wants one.

A request is one line, {"job": "simulate" or "waveforms", "scenario": {...}};
its reply is one line: {"result": ...}, or for a scenario refused
{"error": "ScenarioError", "key", "reason"}, for one that cannot be solved
{"error": <the ArithmeticError's type>, "message"}, and for anything else (a
bug) {"error": "Exception", "message"}. The process ends at the end of its input.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from typing import Any, Final, TextIO

from .figures import simulate
from .params import ScenarioError
from .waveforms import waveforms

# Sent back by name, rebuilt as the same type; a subclass as its nearest one.
ARITHMETIC_ERRORS: Final[dict[str, type[ArithmeticError]]] = {
    error.__name__: error
    for error in (ArithmeticError, FloatingPointError, OverflowError, ZeroDivisionError)
}
_ARITHMETIC: Final = frozenset(ARITHMETIC_ERRORS.values())
# Above the default 0: a background job must not take the core from the loop.
NICENESS: Final = 10


def _waveforms(scenario: dict[str, Any]) -> dict[str, list[float]]:
    return {key: values.tolist() for key, values in waveforms(scenario).items()}


JOBS: Final[dict[str, Callable[[dict[str, Any]], Any]]] = {
    "simulate": simulate,
    "waveforms": _waveforms,
}


def answer(line: str) -> dict[str, Any]:
    """Run one request line's job; return its reply (never raises for the job's errors)."""
    try:
        request = json.loads(line)
        return {"result": JOBS[request["job"]](request["scenario"])}
    except ScenarioError as err:
        return {"error": "ScenarioError", "key": err.key, "reason": err.reason}
    except ArithmeticError as err:
        name = next(kind.__name__ for kind in type(err).__mro__ if kind in _ARITHMETIC)
        return {"error": name, "message": str(err)}
    except Exception as err:  # noqa: BLE001 (any bug of the simulator's goes back as a reply)
        return {"error": "Exception", "message": f"{type(err).__name__}: {err}"}


def reply_error(reply: dict[str, Any]) -> ScenarioError | ArithmeticError | None:
    """Rebuild a reply's scenario failure as the simulator raised it; None if none."""
    error = reply.get("error")
    if error == "ScenarioError":
        return ScenarioError(str(reply["key"]), str(reply["reason"]))
    if (kind := ARITHMETIC_ERRORS.get(str(error))) is not None:
        return kind(str(reply["message"]))
    return None


def main() -> int:
    """Answer request lines on standard input until it ends."""
    with contextlib.suppress(OSError):  # not allowed here: the same priority then
        os.nice(NICENESS)
    with contextlib.suppress(OSError, AttributeError):  # Linux only
        # Only what no other thread of the machine wants: the event loop's
        # thread never waits for a core behind a simulation.
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    # Standard output carries the replies only: anything printed goes to standard error.
    replies: TextIO = sys.stdout
    sys.stdout = sys.stderr
    for line in sys.stdin:
        try:
            reply = json.dumps(answer(line))
        except (TypeError, ValueError) as err:  # a result JSON cannot carry: a bug
            reply = json.dumps({"error": "Exception", "message": f"result not JSON: {err}"})
        replies.write(reply + "\n")
        replies.flush()
    return 0
