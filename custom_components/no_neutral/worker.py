"""
The simulator's worker process: started at the first job, one job at a time.

In an executor thread the simulator held the GIL for up to 5 ms at a time
(CPython's switch interval) and the event loop woke up to 31 ms late while a
simulation ran. So the real simulator runs in a process of its own
(circuit/worker.py, which imports only the circuit package and numpy), spoken
to in JSON lines over its standard input and output; the loop only writes a
request and reads a reply.

The process stays for the next job and stops when Home Assistant stops, when
the last entry unloads and after IDLE_STOP_S without a job (it holds numpy's
memory). One that dies or does not answer within JOB_TIMEOUT_S is killed: its
job fails with SimulatorFailed (for the coordinator, a failed update or a
setup retry) and the next job starts a fresh one.

Only jobs registered here run in the process (the simulator's own functions,
by identity); any other callable, such as a test's stand-in for the
simulator, runs in the executor as before (simulation.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from homeassistant.core import HassJob, HomeAssistant
from homeassistant.helpers.update_coordinator import UpdateFailed

from .circuit import simulate
from .circuit.worker import reply_error
from .const import DOMAIN, LOGGER

# Far above the longest simulation seen (about 21 s for an extreme accepted
# scenario on the 2-core test machine), for slower hardware such as a Raspberry Pi.
JOB_TIMEOUT_S: Final = 300.0
IDLE_STOP_S: Final = 300.0
# How long a process asked to stop (its input closed) may take before it is killed.
STOP_WAIT_S: Final = 5.0
# A waveform reply is about 40 kB on one line (asyncio's default limit is 64 kB).
LINE_LIMIT: Final = 16 * 1024 * 1024

CIRCUIT_DIR: Final = Path(__file__).parent / "circuit"
# Imports the circuit package under a private name, from its directory only:
# not through custom_components.no_neutral (that would import Home Assistant),
# and no directory of ours on sys.path (-P), so no module of ours shadows another.
BOOT: Final = (
    "import importlib.util, sys\n"
    "path = sys.argv[1]\n"
    "spec = importlib.util.spec_from_file_location("
    "'no_neutral_circuit', path + '/__init__.py', submodule_search_locations=[path])\n"
    "package = importlib.util.module_from_spec(spec)\n"
    "sys.modules[spec.name] = package\n"
    "spec.loader.exec_module(package)\n"
    "from no_neutral_circuit.worker import main\n"
    "sys.exit(main())\n"
)
# numpy's BLAS would start a thread per core for 8-node systems: one is faster and smaller.
SINGLE_THREADED: Final = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


class SimulatorFailed(UpdateFailed):
    """The worker process died, hung, was stopped or met a bug: not the scenario's fault."""

    def __init__(self, error: str) -> None:
        """Say what happened (translated; for the coordinator a failed update)."""
        super().__init__(
            translation_domain=DOMAIN,
            translation_key="simulator_failed",
            translation_placeholders={"error": error},
        )
        self.error = error


@dataclass(frozen=True, slots=True)
class WorkerJob:
    """A job the process runs by name; `finish` then runs in the executor on its result."""

    name: str  # a key of circuit/worker.py's JOBS
    finish: Callable[[dict[str, Any], Any], Any] | None = None


_JOBS: dict[Callable[..., Any], WorkerJob] = {simulate: WorkerJob("simulate")}


def runs_in_worker[F: Callable[..., Any]](
    name: str, finish: Callable[[dict[str, Any], Any], Any] | None = None
) -> Callable[[F], F]:
    """Register a function whose work the process does as job `name` (then `finish`)."""

    def register(function: F) -> F:
        _JOBS[function] = WorkerJob(name, finish)
        return function

    return register


def worker_job(job: Callable[..., Any]) -> WorkerJob | None:
    """Return how the process runs `job`, or None for a job it does not know."""
    return _JOBS.get(job)


class SimulatorWorker:
    """The one worker process of a Home Assistant (owned by the simulation runner)."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Start nothing yet: the process starts at the first job."""
        self.hass = hass
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._idle: asyncio.TimerHandle | None = None
        self._ending: set[asyncio.Task[int | None]] = set()
        self._shutdown_job_added = False
        self._closed = False  # Home Assistant is stopping: no new process
        self.starts = 0  # processes started
        self.failures = 0  # processes that died or hung under a job

    @property
    def pid(self) -> int | None:
        """Return the running process's id, if one runs."""
        return self._process.pid if self._process is not None else None

    async def async_run(self, job: str, scenario: dict[str, Any]) -> Any:
        """
        Return the process's result of `job` for `scenario`.

        Raises the scenario's ScenarioError or ArithmeticError as the simulator
        raised it, and SimulatorFailed when the process died, hung, was
        stopped under the job or met a bug.
        """
        request = (json.dumps({"job": job, "scenario": scenario}) + "\n").encode()
        async with self._lock:
            self._cancel_idle()
            reply = await self._async_request(request)
            self._idle = self.hass.loop.call_later(IDLE_STOP_S, self._stop_idle)
        if "result" in reply:
            return reply["result"]
        if (error := reply_error(reply)) is not None:
            raise error
        raise SimulatorFailed(str(reply.get("message")))  # a bug of the simulator's

    async def _async_request(self, request: bytes) -> dict[str, Any]:
        """Send one request (starting a process if none runs); return the reply."""
        if self._closed:
            why = "Home Assistant is stopping"
            raise SimulatorFailed(why)
        if self._process is not None and self._process.returncode is not None:
            # Ended between jobs (killed from outside, out of memory): start another.
            LOGGER.warning(
                "The simulator process ended while idle (exit code %s)", self._process.returncode
            )
            self._process = None
        try:
            process = self._process or await self._async_start()
        except OSError as err:
            why = f"cannot start it: {err}"
            raise SimulatorFailed(why) from err
        try:
            async with asyncio.timeout(JOB_TIMEOUT_S):
                line = await self._async_exchange(process, request)
        except TimeoutError:
            why = f"no answer in {JOB_TIMEOUT_S:.0f} s"
            raise await self._async_failure(process, why) from None
        except BaseException:
            # Cancelled (Home Assistant stopping): its reply would answer the next request.
            self._end_soon(process, kill=True)
            raise
        if not line.endswith(b"\n"):
            if process is not self._process:
                why = "stopped under the job"  # by async_stop: nothing to restart or log
                raise SimulatorFailed(why)
            raise await self._async_failure(process, "it ended")
        try:
            reply: dict[str, Any] = json.loads(line)
        except ValueError:
            why = f"not a reply: {line[:80]!r}"
            raise await self._async_failure(process, why) from None
        return reply

    async def _async_failure(
        self, process: asyncio.subprocess.Process, why: str
    ) -> SimulatorFailed:
        """Kill the process a job failed in, say so; return the job's error."""
        code = await self._async_end(process, kill=True)
        self.failures += 1
        LOGGER.warning("The simulator process failed (%s, exit code %s): restarted", why, code)
        return SimulatorFailed(f"{why}, exit code {code}")

    async def async_stop(self) -> None:
        """End the process (killed if a job runs: that job fails); the next job starts another."""
        self._cancel_idle()
        if self._process is not None:
            self._end_soon(self._process, kill=self._lock.locked())
        if self._ending:
            await asyncio.gather(*self._ending)

    async def _async_shutdown(self) -> None:
        self._closed = True
        await self.async_stop()

    async def _async_start(self) -> asyncio.subprocess.Process:
        if not self._shutdown_job_added:
            # Kept for good: removing it while Home Assistant runs its
            # shutdown jobs would change the list it walks.
            self.hass.async_add_shutdown_job(HassJob(self._async_shutdown))
            self._shutdown_job_added = True
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-P",
            "-c",
            BOOT,
            str(CIRCUIT_DIR),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=LINE_LIMIT,
            env={**os.environ, **SINGLE_THREADED},
        )
        self.starts += 1
        return self._process

    @staticmethod
    async def _async_exchange(process: asyncio.subprocess.Process, request: bytes) -> bytes:
        assert process.stdin is not None  # noqa: S101 (piped)
        assert process.stdout is not None  # noqa: S101
        try:
            process.stdin.write(request)
            await process.stdin.drain()
        except ConnectionError:
            return b""  # the process is gone: as at the end of its output
        return await process.stdout.readline()

    async def _async_end(self, process: asyncio.subprocess.Process, *, kill: bool) -> int | None:
        """Stop `process` (closing its input, or killing it); return its exit code."""
        if process is self._process:
            self._process = None
        if not kill and process.stdin is not None and not process.stdin.is_closing():
            process.stdin.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_WAIT_S):
                    return await process.wait()
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        return await process.wait()

    def _end_soon(self, process: asyncio.subprocess.Process, *, kill: bool) -> None:
        """End `process` in a task of its own (the caller cannot wait: a timer, a cancellation)."""
        if process is self._process:
            self._process = None  # at once: the next job starts a new one
        task = self.hass.async_create_background_task(
            self._async_end(process, kill=kill), f"{DOMAIN} simulator stop"
        )
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)

    def _cancel_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def _stop_idle(self) -> None:
        self._idle = None
        if self._process is not None and not self._lock.locked():
            self._end_soon(self._process, kill=False)
