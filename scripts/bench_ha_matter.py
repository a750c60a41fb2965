"""
HA-side benchmark of the Matter link (run through scripts/bench_ha_matter).

A real Home Assistant core (the test harness's instance, with its registries
and an empty config dir) loads this integration, which talks to a real
python-matter-server; the relay is the matter.js virtual MINIR4M in its own
network namespace. Times are taken in HA: from just before the light service
call to the state_changed event of the lamp entity.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from homeassistant import loader  # noqa: E402
from homeassistant.const import EVENT_STATE_CHANGED, STATE_ON, STATE_UNAVAILABLE  # noqa: E402
from homeassistant.core import Event, HomeAssistant  # noqa: E402
from homeassistant.helpers import entity_registry as er  # noqa: E402
from homeassistant.setup import async_setup_component  # noqa: E402
from pytest_homeassistant_custom_component.common import (  # noqa: E402
    MockConfigEntry,
    async_test_home_assistant,
)

from custom_components.no_neutral.config_flow import default_options  # noqa: E402
from custom_components.no_neutral.const import CONF_NODE_ID, CONF_URL, DOMAIN  # noqa: E402
from tools.rig import client as rig_client  # noqa: E402
from tools.rig.netns import netns_unavailable_reason  # noqa: E402
from tools.rig.relay_rig import RelayRig  # noqa: E402

# The server subscribes with a 1 s minimum report interval: two changes closer
# than that arrive together, so toggles are spaced a little over it.
DEFAULT_GAP_S = 1.1
TARGET_MEDIAN_MS = 150.0


class StateWatch:
    """Record when an entity's state changes, as HA's event bus reports it."""

    def __init__(self, hass: HomeAssistant, entity_id: str) -> None:
        self.entity_id = entity_id
        self.changes: list[tuple[float, str]] = []
        self.changed = asyncio.Event()
        hass.bus.async_listen(EVENT_STATE_CHANGED, self._on_event)

    def _on_event(self, event: Event[Any]) -> None:
        if event.data["entity_id"] == self.entity_id and event.data["new_state"] is not None:
            self.changes.append((time.monotonic(), event.data["new_state"].state))
            self.changed.set()

    async def until(self, predicate: Any, since: int, limit: float) -> float:
        """Wait for a change (from index `since`) whose state matches; return its time."""
        async with asyncio.timeout(limit):
            while True:
                for at, state in self.changes[since:]:
                    if predicate(state):
                        return at
                self.changed.clear()
                await self.changed.wait()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-ha-matter-") as tmp:
        rig = RelayRig(Path(tmp) / "rig", serial="BENCHRELAY01")
        try:
            await asyncio.to_thread(rig.start)
            began = time.monotonic()
            node_id = await rig_client.commission(rig.server.url, code=rig.relay.manual_code)
            commission_s = time.monotonic() - began
            config_dir = Path(tmp) / "ha"
            (config_dir / "custom_components").mkdir(parents=True)
            (config_dir / "custom_components" / DOMAIN).symlink_to(
                PROJECT / "custom_components" / DOMAIN
            )
            async with async_test_home_assistant(config_dir=str(config_dir)) as hass:
                hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
                # HA's shared aiohttp session resolves through zeroconf, which
                # reads the network integration's adapters.
                await async_setup_component(hass, "network", {})
                result = await measure(hass, rig, node_id, args)
        finally:
            await asyncio.to_thread(rig.close)
    result["commission_s"] = round(commission_s, 3)
    return result


async def measure(
    hass: HomeAssistant, rig: RelayRig, node_id: int, args: argparse.Namespace
) -> dict[str, Any]:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Bench lamp",
        unique_id=f"bench-{node_id}",
        data={CONF_URL: rig.server.url, CONF_NODE_ID: node_id},
        options=default_options(),
    )
    entry.add_to_hass(hass)
    if not await hass.config_entries.async_setup(entry.entry_id):
        msg = "the integration did not set up"
        raise RuntimeError(msg)
    await hass.async_block_till_done()
    lamp = er.async_get(hass).async_get_entity_id("light", DOMAIN, f"bench-{node_id}_lamp")
    if lamp is None:
        msg = "no lamp entity"
        raise RuntimeError(msg)
    watch = StateWatch(hass, lamp)

    samples: list[float] = []
    # The same toggles split at the device: command -> relay switched (the
    # virtual relay stamps its events with this clock) -> state seen in HA.
    to_device: list[float] = []
    from_device: list[float] = []
    on = hass.states.get(lamp).state == STATE_ON  # type: ignore[union-attr]
    for _ in range(args.toggles):
        on = not on
        target = "on" if on else "off"
        since = len(watch.changes)
        mark = rig.relay.mark()
        sent = time.monotonic()
        await hass.services.async_call(
            "light", f"turn_{target}", {"entity_id": lamp}, blocking=False
        )
        seen = await watch.until(lambda state, t=target: state == t, since, limit=5)
        samples.append((seen - sent) * 1000)
        switched = await rig.relay.async_wait_for(
            lambda e, v=on: e.kind == "onoff" and e.data["on"] == v, since=mark
        )
        to_device.append((switched.at - sent) * 1000)
        from_device.append((seen - switched.at) * 1000)
        await asyncio.sleep(args.gap)

    # Server loss: from the stop request to the entity unavailable; then from
    # the start request to the entity back with a state.
    since = len(watch.changes)
    stop_sent = time.monotonic()
    stop_task = asyncio.create_task(asyncio.to_thread(rig.server.stop))
    unavailable_at = await watch.until(lambda s: s == STATE_UNAVAILABLE, since, limit=30)
    await stop_task
    since = len(watch.changes)
    start_sent = time.monotonic()
    server_ready_s = await asyncio.to_thread(rig.server.start)
    back_at = await watch.until(lambda s: s != STATE_UNAVAILABLE, since, limit=120)
    await hass.config_entries.async_unload(entry.entry_id)

    ordered = sorted(samples)
    return {
        "toggles": len(samples),
        "median_ms": round(statistics.median(samples), 1),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 1),
        "worst_ms": round(max(samples), 1),
        "best_ms": round(min(samples), 1),
        "to_device_median_ms": round(statistics.median(to_device), 1),
        "to_device_worst_ms": round(max(to_device), 1),
        "from_device_median_ms": round(statistics.median(from_device), 1),
        "from_device_worst_ms": round(max(from_device), 1),
        "target_median_ms": TARGET_MEDIAN_MS,
        "unavailable_after_stop_s": round(unavailable_at - stop_sent, 3),
        "server_start_s": round(server_ready_s, 3),
        "available_after_start_s": round(back_at - start_sent, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--toggles", type=int, default=50, help="at least 50 (default 50)")
    parser.add_argument("--gap", type=float, default=DEFAULT_GAP_S, help="seconds between toggles")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.toggles < 50:  # noqa: PLR2004
        parser.error("--toggles must be at least 50")
    if problem := netns_unavailable_reason():
        print(f"skipped: the virtual relay needs network namespaces: {problem}")
        return 77
    result = asyncio.run(run(args))
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"HA command -> HA state over {result['toggles']} toggles: "
            f"median {result['median_ms']} ms, p90 {result['p90_ms']} ms, "
            f"worst {result['worst_ms']} ms, best {result['best_ms']} ms "
            f"(target: median under {TARGET_MEDIAN_MS:.0f} ms)"
        )
        print(
            f"  split at the relay: HA -> relay switched median {result['to_device_median_ms']} ms "
            f"(worst {result['to_device_worst_ms']}); relay -> HA state median "
            f"{result['from_device_median_ms']} ms (worst {result['from_device_worst_ms']})"
        )
        print(f"commissioning by manual code: {result['commission_s']} s")
        print(f"server stopped -> lamp unavailable in HA: {result['unavailable_after_stop_s']} s")
        print(
            f"server started -> lamp available in HA: {result['available_after_start_s']} s "
            f"(the server itself took {result['server_start_s']} s to accept connections)"
        )
    return 0 if result["median_ms"] < TARGET_MEDIAN_MS else 1


if __name__ == "__main__":
    sys.exit(main())
