"""
Shared set-up of the adaptor tests (a pytest plugin, loaded by tests/conftest.py).

Every entry is set up through the real path: a config entry, `async_setup_entry`,
the real python-matter-server of the rig (tests/rig.py) holding a MINIR4M-like
test node imported from tests/fixtures, and the real simulator in an executor
job. The relay is closed or open as the imported node says (`relay_on`).

Only one thing is shared between tests: `simulate` is wrapped in a memo keyed
by the canonical JSON of the scenario, because the simulator is deterministic
(docs/model.md: bit-for-bit the same output for the same input) and a run takes
seconds. Each test still goes through the coordinator's own cache and executor
job; the memo only saves recomputing a result another test already computed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any
from unittest.mock import PropertyMock, patch

import aiohttp
import pytest
from homeassistant.config_entries import ConfigEntry, ConfigEntryDisabler, ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, ServiceCall, State
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_mock_service,
)
from syrupy.assertion import SnapshotAssertion

import custom_components.no_neutral as integration
from custom_components.no_neutral import coordinator as coordinator_module
from custom_components.no_neutral import simulator as simulator_module
from custom_components.no_neutral.circuit import Pacer
from custom_components.no_neutral.circuit import simulate as real_simulate
from custom_components.no_neutral.const import CONF_NODE_ID, CONF_URL, DOMAIN
from custom_components.no_neutral.coordinator import AdaptorCoordinator
from custom_components.no_neutral.options import default_options
from custom_components.no_neutral.relay import RelayLink, matter_device_id
from tests.link_helpers import MINIR4M, import_test_node, server_fabric
from tests.rig import CommissionedRelay, MatterServer

_MEMO: dict[str, dict[str, Any]] = {}
RUNS: list[str] = []  # every real simulator run of the session (scenario keys)

LED = {"lamp_type": "led", "lamp_count": 1, "lamp_power_w": 10.0}
HALOGEN_500 = {"lamp_type": "resistive", "lamp_count": 1, "lamp_power_w": 500.0}
NO_LAMP = {"lamp_type": "none"}
DROPPER = {"lamp_type": "capacitive_dropper"}


def memo_simulate(scenario: dict[str, Any]) -> dict[str, Any]:
    """Run the real simulator once per distinct scenario in the session."""
    key = json.dumps(scenario, sort_keys=True)
    if key not in _MEMO:
        RUNS.append(key)
        _MEMO[key] = real_simulate(scenario)
    return copy.deepcopy(_MEMO[key])


@pytest.fixture(autouse=True)
def _shared_simulations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coordinator_module, "simulate", memo_simulate)


@pytest.fixture
def simulator_runs(monkeypatch: pytest.MonkeyPatch) -> list[list[Any]]:
    """
    Every run of the shared simulator client this test, as what it solved.

    A run of one scenario is a list of one; a batch (the fault finder's, a parts
    sweep's) the list of its members. What the client answered from its cache,
    or by joining a run, is no run.
    """
    runs: list[list[Any]] = []
    # Every run of the client goes through it, in the executor.
    paced = simulator_module._paced

    def counted[A, T](pacer: Pacer, job: Callable[[A], T], arg: A) -> T:
        runs.append(list(arg) if isinstance(arg, list) else [arg])
        return paced(pacer, job, arg)

    monkeypatch.setattr(simulator_module, "_paced", counted)
    return runs


async def import_node(url: str, *, relay_on: bool) -> int:
    """Import the MINIR4M dump with its OnOff attribute set; return the node id."""
    return await import_test_node(url, MINIR4M, **{"1/6/0": relay_on})


async def make_entry(
    hass: HomeAssistant,
    server: MatterServer,
    *,
    relay_on: bool = True,
    title: str = "Hall lamp",
    node_id: int | None = None,
    unique_id: str | None = None,
    entry_id: str | None = None,
    **options: Any,
) -> MockConfigEntry:
    """Add (not set up) an entry for a fresh test node with the given options."""
    if node_id is None:
        node_id = await import_node(server.url, relay_on=relay_on)
    return await add_relay_entry(
        hass, server.url, node_id, title=title, unique_id=unique_id, entry_id=entry_id, **options
    )


async def add_relay_entry(
    hass: HomeAssistant,
    url: str,
    node_id: int,
    *,
    title: str = "Hall lamp",
    unique_id: str | None = None,
    entry_id: str | None = None,
    disabled_by: ConfigEntryDisabler | None = None,
    **options: Any,
) -> MockConfigEntry:
    """Add (not set up) an entry for a node of the server at `url`, as the flow makes it."""
    if unique_id is None:
        unique_id = matter_device_id(await server_fabric(url), node_id)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=unique_id,
        data={CONF_URL: url, CONF_NODE_ID: node_id},
        options={**default_options(), **options},
        entry_id=entry_id,
        disabled_by=disabled_by,
    )
    entry.add_to_hass(hass)
    return entry


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> AdaptorCoordinator:
    """Set the entry up through async_setup_entry; return its adaptor coordinator."""
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry.runtime_data.adaptor  # type: ignore[no-any-return]


def adaptor_device_id(hass: HomeAssistant, entry: ConfigEntry) -> str:
    """Return the registry id of the entry's adaptor device."""
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    assert device is not None
    return device.id


async def commissioned_entry(
    hass: HomeAssistant, commissioned: CommissionedRelay
) -> tuple[MockConfigEntry, AdaptorCoordinator]:
    """Set up an entry on the rig's commissioned virtual relay; return it and its adaptor."""
    entry = await make_entry(hass, commissioned.server, node_id=commissioned.node_id)
    adaptor = await setup_entry(hass, entry)
    # The relay's state is read at set-up: the tests switch it from there.
    assert adaptor.data.relay_on is not None
    return entry, adaptor


async def device_trigger_calls(
    hass: HomeAssistant, entry: ConfigEntry, *types: str, data: dict[str, str]
) -> list[ServiceCall]:
    """
    Set up an automation on each of these triggers of the adaptor's device; return its calls.

    Its action is `test.automation` with `data` (templates reading the
    trigger), as a user's automation would be written.
    """
    calls = async_mock_service(hass, "test", "automation")
    device_id = adaptor_device_id(hass, entry)
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": [
                {
                    "triggers": [
                        {
                            "trigger": "device",
                            "domain": DOMAIN,
                            "device_id": device_id,
                            "type": kind,
                        }
                    ],
                    "actions": [{"action": "test.automation", "data": data}],
                }
                for kind in types
            ]
        },
    )
    return calls


async def call_action(hass: HomeAssistant, action: str, **data: Any) -> dict[str, Any]:
    """Call one of the integration's actions (`simulate`, `diagnose`); return its response."""
    return await hass.services.async_call(  # type: ignore[return-value]
        DOMAIN, action, data, blocking=True, return_response=True
    )


async def refused_field(hass: HomeAssistant, action: str, **data: Any) -> str:
    """Call an action that must refuse its input; return the field its translated error names."""
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, action, **data)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "invalid_field"
    field: str = err.value.translation_placeholders["field"]
    assert str(err.value).startswith(f"Invalid value for {field}: ")
    return field


@pytest.fixture
async def entry_factory(
    hass: HomeAssistant, matter_server: MatterServer
) -> AsyncIterator[Callable[..., Any]]:
    """Make and set up entries; unload them at the end (closing the clients)."""
    made: list[MockConfigEntry] = []

    async def factory(*, setup: bool = True, **kwargs: Any) -> MockConfigEntry:
        entry = await make_entry(hass, matter_server, **kwargs)
        made.append(entry)
        if setup:
            await setup_entry(hass, entry)
        return entry

    yield factory
    for entry in made:
        if entry.state is ConfigEntryState.LOADED:
            await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


class SwitchableRelay(RelayLink):
    """
    The real RelayLink on the real server and test node, with a settable OnOff state.

    A test double, for the adaptor's own logic only: test nodes ignore commands
    (the server just logs them) and a real relay reports at most one change a
    second, so tests of fast switching (fuse stress) set the state here.
    Availability, device info and the server link stay real. Tests of real
    switchings use the matter.js virtual relay instead.
    """

    forced: bool | None = None

    @property
    def is_on(self) -> bool | None:
        """Return the state the test set (the node's own before that)."""
        if self.forced is None or not self.available:
            return super().is_on
        return self.forced

    def switch(self, on: bool) -> None:
        """Switch as a relay event would, and tell the listeners."""
        self.forced = on
        self._notify()


@pytest.fixture
def switchable_relay(monkeypatch: pytest.MonkeyPatch) -> Callable[[MockConfigEntry], Any]:
    """Set entries up with SwitchableRelay; return a getter for an entry's relay."""
    monkeypatch.setattr(integration, "RelayLink", SwitchableRelay)
    return lambda entry: entry.runtime_data.relay


def storage_key(entry: MockConfigEntry) -> str:
    """Return the key of an entry's history in the store."""
    return f"{DOMAIN}.{entry.entry_id}"


def seed_history(hass_storage: dict[str, Any], entry: MockConfigEntry, **history: Any) -> None:
    """Put a history in the store, as a previous run of Home Assistant left it."""
    hass_storage[storage_key(entry)] = {
        "version": 1,
        "minor_version": 1,
        "key": storage_key(entry),
        "data": history,
    }


@pytest.fixture
def no_ws_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Turn off the websocket heartbeat of the Matter client, for time-travel tests.

    Ticking the frozen clock by minutes fires the pong timeout before the real
    pong, which takes milliseconds, can be read: the link would drop for
    nothing. Nothing else of the client changes.
    """
    monkeypatch.setattr(aiohttp.ClientWebSocketResponse, "_reset_heartbeat", lambda _self: None)


# The scenarios the platform snapshots cover: options, and the history a
# previous run left in the store.
SCENARIOS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "led": (LED, {}),
    "halogen_500w": (HALOGEN_500, {}),
    "no_lamp": (NO_LAMP, {}),
    "dropper_bulb": (DROPPER, {}),
    "blown_fuse": (LED, {"fuse_blown": True, "switchings": 412, "powered_h": 1500.0}),
    "worn_capacitor": (LED, {"cap_consumed": 0.8, "switchings": 9000, "powered_h": 40000.0}),
}
# Snapshots need the same unique ids every run: the entry's (the rig's fabric id
# is random) and the entities', keyed by the entry id (random too).
SNAPSHOT_UNIQUE_ID = "00000000CAFE0001-00000000000DBBA0"
SNAPSHOT_ENTRY_ID = "01JSNAPSHOTADAPTORENTRY001"


@pytest.fixture
def platform_scenario(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    entry_factory: Callable[..., Any],
) -> Callable[[str, Platform], Any]:
    """Set up one scenario's entry with only one platform (for snapshot_platform)."""

    async def setup(name: str, platform: Platform) -> MockConfigEntry:
        options, history = SCENARIOS[name]
        monkeypatch.setattr(integration, "PLATFORMS", [platform])
        entry = await entry_factory(
            setup=False, unique_id=SNAPSHOT_UNIQUE_ID, entry_id=SNAPSHOT_ENTRY_ID, **options
        )
        if history:
            seed_history(hass_storage, entry, **history)
        await setup_entry(hass, entry)
        return entry

    return setup


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Enable the entities that are disabled by default (as Home Assistant core's tests do)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


# Consumed life a minute short of its end at 85 C ambient (about 6600 h of life).
NEARLY_WORN = 1.0 - 1e-7


@pytest.fixture
def nearly_worn(
    hass: HomeAssistant, hass_storage: dict[str, Any], entry_factory: Callable[..., Any]
) -> Callable[..., Any]:
    """Set up an LED adaptor whose capacitor reaches its end of life within a minute."""

    async def setup(**options: Any) -> MockConfigEntry:
        entry = await entry_factory(setup=False, ambient_temp_c=85.0, **options)
        seed_history(hass_storage, entry, cap_consumed=NEARLY_WORN)
        await setup_entry(hass, entry)
        return entry

    return setup


async def tick(hass: HomeAssistant, freezer: Any, delta: timedelta) -> None:
    """Move the frozen clock and run what became due."""
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


SIGNIFICANT_DIGITS = 4


def rounded(value: Any) -> Any:
    """Return a JSON-like value with every float at 4 significant digits."""
    if isinstance(value, float):
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    return value


def _displayed_state(state: State, entry: er.RegistryEntry) -> State:
    """Return the state as the frontend shows it: at the sensor's display precision."""
    precision = entry.options.get("sensor", {}).get("suggested_display_precision")
    try:
        value = float(state.state)
    except ValueError:
        return state
    text = f"{value:.{precision}f}" if precision is not None else str(rounded(value))
    return State(
        state.entity_id,
        text,
        state.attributes,
        last_changed=state.last_changed,
        last_reported=state.last_reported,
        last_updated=state.last_updated,
        context=state.context,
    )


async def snapshot_adaptor_platform(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    config_entry_id: str,
) -> None:
    """
    Snapshot every entity of one platform, as `snapshot_platform` does.

    Numeric states are compared as the frontend shows them, at each sensor's
    display precision (4 significant digits where it has none): what a user
    reads, not the last digits of the simulator's floats, which its numerics
    (still being tuned) move.
    """
    entries = er.async_entries_for_config_entry(entity_registry, config_entry_id)
    assert entries
    assert len({entry.domain for entry in entries}) == 1, "Load one platform only."
    for entry in entries:
        assert entry == snapshot(name=f"{entry.entity_id}-entry")
        assert entry.disabled_by is None, "Enable every entity."
        state = hass.states.get(entry.entity_id)
        assert state, f"No state for {entry.entity_id}"
        assert _displayed_state(state, entry) == snapshot(name=f"{entry.entity_id}-state")


def snapshot_test(platform: Platform) -> Callable[..., Any]:
    """
    Return the per-scenario snapshot test of one platform.

    Each platform's test module binds it to its own test name (pytest and the
    snapshots go by that name), e.g. `test_sensors = snapshot_test(Platform.SENSOR)`.
    """

    @pytest.mark.parametrize("scenario", list(SCENARIOS))
    async def test(
        hass: HomeAssistant,
        entity_registry: er.EntityRegistry,
        snapshot: SnapshotAssertion,
        platform_scenario: Callable[..., Any],
        scenario: str,
    ) -> None:
        entry = await platform_scenario(scenario, platform)
        await snapshot_adaptor_platform(hass, entity_registry, snapshot, entry.entry_id)

    test.__doc__ = f"Every {platform} entity's state and registry entry, per scenario."
    return test
