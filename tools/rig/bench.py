"""
Latency of the relay over a real server: `scripts/bench_matter --help`.

A benchmark, not a test: it prints figures and asserts nothing. Times:
  command round trip    send_device_command() until the server answered
  command -> device     command sent until the device switched (its own clock)
  command -> update     command sent until the client saw attribute_updated
  press -> update       a press on the device until the client saw it
The server subscribes with a 1 s minimum report interval, so each toggle waits
a little over 1 s (--gap) after the previous report: sooner, it would measure
that interval. Figures are wall-clock on a shared machine: a loaded machine
shows in the p90 and worst columns.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from chip.clusters import Objects as Clusters
from matter_server.client import MatterClient
from matter_server.common.models import EventType

from tools.rig.client import connected_client
from tools.rig.relay_rig import RelayRig

ONOFF_PATH = "1/6/0"


def summarize(samples: list[float]) -> dict[str, float]:
    """Return count, median, 90th percentile and worst, in milliseconds."""
    ms = sorted(s * 1000 for s in samples)
    p90 = ms[min(len(ms) - 1, round(0.9 * (len(ms) - 1)))]
    return {
        "count": len(ms),
        "median_ms": round(statistics.median(ms), 1),
        "p90_ms": round(p90, 1),
        "worst_ms": round(ms[-1], 1),
    }


class _Updates:
    """attribute_updated arrivals for the relay's OnOff attribute."""

    def __init__(self, client: MatterClient, node_id: int) -> None:
        self.seen: list[tuple[float, Any]] = []
        self._event = asyncio.Event()
        client.subscribe_events(self._on_update, EventType.ATTRIBUTE_UPDATED, node_id, ONOFF_PATH)

    def _on_update(self, _event: EventType, value: Any) -> None:
        self.seen.append((time.monotonic(), value))
        self._event.set()

    async def first(self, value: bool, after: float, timeout: float = 10) -> float:  # noqa: FBT001
        """Return when `value` first arrived after the moment `after`."""
        async with asyncio.timeout(timeout):
            while True:
                for at, seen in self.seen:
                    if at >= after and seen is value:
                        return at
                self._event.clear()
                await self._event.wait()


async def _toggles(
    rig: RelayRig, client: MatterClient, node_id: int, count: int, gap: float
) -> dict[str, list[float]]:
    relay = rig.relay
    updates = _Updates(client, node_id)
    rtt: list[float] = []
    to_device: list[float] = []
    to_update: list[float] = []
    for _ in range(count):
        target = not relay.is_on
        mark = relay.mark()
        command = Clusters.OnOff.Commands.On() if target else Clusters.OnOff.Commands.Off()
        began = time.monotonic()
        await client.send_device_command(node_id, 1, command)
        rtt.append(time.monotonic() - began)
        device = await relay.async_wait_for(
            lambda e, t=target: e.kind == "onoff" and e.data["on"] is t, since=mark
        )
        to_device.append(device.at - began)
        updated = await updates.first(target, began)
        to_update.append(updated - began)
        # The gap counts from the last report: the device holds a change that
        # comes less than the 1 s minimum interval after its previous report.
        await asyncio.sleep(max(0.0, updated + gap - time.monotonic()))
    return {
        "command round trip": rtt,
        "command -> device": to_device,
        "command -> update": to_update,
    }


async def _presses(
    rig: RelayRig, client: MatterClient, node_id: int, count: int, gap: float
) -> list[float]:
    relay = rig.relay
    updates = _Updates(client, node_id)
    out: list[float] = []
    for _ in range(count):
        target = not relay.is_on
        mark = relay.mark()
        relay.press(on=target)
        pressed = await relay.async_wait_for(
            lambda e, t=target: e.kind == "onoff" and e.data["on"] is t, since=mark
        )
        updated = await updates.first(target, pressed.at)
        out.append(updated - pressed.at)
        await asyncio.sleep(max(0.0, updated + gap - time.monotonic()))
    return out


async def run(workdir: Path, count: int, presses: int, gap: float) -> dict[str, Any]:
    """Start a rig, commission the relay, time toggles and presses; return the figures."""
    rig = RelayRig(workdir, serial="BENCH0001")
    try:
        server_start = await asyncio.to_thread(rig.server.start)
        await asyncio.to_thread(rig.relay.start)
        async with connected_client(rig.server.url) as client:
            began = time.monotonic()
            node = await client.commission_with_code(rig.relay.manual_code, network_only=True)
            commission = time.monotonic() - began
            node_id = int(node.node_id)
            await asyncio.sleep(gap)
            toggles = await _toggles(rig, client, node_id, count, gap)
            pressed = await _presses(rig, client, node_id, presses, gap)
        restart = await asyncio.to_thread(rig.server.restart)
        began = time.monotonic()
        async with connected_client(rig.server.url) as client:
            async with asyncio.timeout(60):
                # Availability changes come with node_updated, not always an event of their own.
                while not client.get_node(node_id).available:  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            back = time.monotonic() - began + restart
    finally:
        await asyncio.to_thread(rig.close)
    figures: dict[str, Any] = {name: summarize(samples) for name, samples in toggles.items()}
    if pressed:
        figures["press -> update"] = summarize(pressed)
    figures["setup"] = {
        "server_start_s": round(server_start, 2),
        "commission_by_code_s": round(commission, 2),
        "server_restart_to_node_available_s": round(back, 2),
        "gap_s": gap,
    }
    return figures


def main() -> None:
    """Parse the arguments, run, print."""
    parser = argparse.ArgumentParser(
        prog="scripts/bench_matter", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--count", type=int, default=50, help="toggles sent by the client (default 50)"
    )
    parser.add_argument(
        "--presses", type=int, default=20, help="presses on the device (default 20)"
    )
    parser.add_argument(
        "--gap", type=float, default=1.1, help="seconds between toggles (default 1.1)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object, nothing else")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-matter-") as workdir:
        figures = asyncio.run(run(Path(workdir), args.count, args.presses, args.gap))
    if args.json:
        print(json.dumps(figures))
        return
    print("Matter relay latency, raw client (python-matter-server 8.1.2, matter.js relay)")
    for name, values in figures.items():
        if name == "setup":
            continue
        print(
            f"  {name:20} n={values['count']:3}  median {values['median_ms']:7.1f} ms"
            f"  p90 {values['p90_ms']:7.1f} ms  worst {values['worst_ms']:7.1f} ms"
        )
    for key, value in figures["setup"].items():
        print(f"  {key}: {value}")


if __name__ == "__main__":
    main()
