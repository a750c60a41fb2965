"""
Runtime data of a config entry, and the adaptor's coordinator.

The coordinator turns the entry's options, the relay's real state and the
adaptor's history (capacitor wear, fusible-resistor heat, switchings) into the
figures the entities show. It never polls: it recomputes when the relay
changes, the options change (the entry reloads), the ambient sensor changes,
a button resets a part, and once a minute to count time. The simulator runs
in the executor through the shared client (simulator.py), only for a
scenario no entry has simulated yet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    EVENT_HOMEASSISTANT_STOP,
    UnitOfTemperature,
)
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    callback,
)
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.event import (
    async_call_later,
    async_track_state_change_event,
    async_track_time_interval,
)
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import TemperatureConverter

from .circuit import WARNING_CODES, ScenarioError, simulate
from .circuit.ageing import (
    History,
    end_of_life,
    health_pct,
    remaining_life_h,
)
from .const import (
    CONF_AMBIENT_SENSOR,
    CONF_AMBIENT_TEMP_C,
    DEFAULT_AMBIENT_TEMP_C,
    DOMAIN,
    LOGGER,
)
from .history import async_load_history
from .relay import RelayLink
from .repairs import (
    async_clear_issues,
    async_delete_history_reset_issue,
    async_sync_issues,
    async_sync_simulation_issue,
)
from .scenario import aged_scenario, capacitor_spec, fuse_spec
from .simulator import SimulatorTimeoutError, async_get_simulator

# Warnings that come from the history, not from one simulation.
ADAPTOR_WARNINGS: Final = ("fuse_switching", "fuse_blown", "cap_end_of_life")
ALL_WARNINGS: Final[tuple[str, ...]] = (*WARNING_CODES, *ADAPTOR_WARNINGS)

# Bus event behind the device triggers: {device_id, entry_id, code, type}.
WARNING_EVENT: Final = f"{DOMAIN}_warning"

STORAGE_VERSION: Final = 1
# Written at most this long after a change, and at stop and unload.
SAVE_DELAY_S: Final = 300
AGEING_INTERVAL: Final = timedelta(minutes=1)
# An ambient sensor's reading is used within the ambient option's range (°C).
AMBIENT_RANGE_C: Final = (-40.0, 100.0)


@dataclass(kw_only=True)
class NoNeutralRuntimeData:
    """Everything a loaded entry holds."""

    relay: RelayLink
    adaptor: AdaptorCoordinator


type NoNeutralConfigEntry = ConfigEntry[NoNeutralRuntimeData]


@dataclass(frozen=True, kw_only=True)
class AdaptorData:
    """One coherent picture of the adaptor, as the entities show it."""

    scenario: dict[str, Any]
    figures: dict[str, Any]
    relay_on: bool | None
    ambient_c: float
    core_temp_c: float
    cap_consumed: float
    cap_health_pct: float
    cap_remaining_life_h: float
    capacitance_uf: float
    esr_ohm: float
    fuse_stress_pct: float
    fuse_blown: bool
    switchings: int
    powered_h: float
    warnings: tuple[str, ...]
    # Changes since the previous picture (each delivered exactly once).
    raised: tuple[str, ...] = ()
    cleared: tuple[str, ...] = ()


class AdaptorCoordinator(DataUpdateCoordinator[AdaptorData]):
    """Simulates the adaptor and keeps its ageing and stress history."""

    config_entry: NoNeutralConfigEntry

    def __init__(self, hass: HomeAssistant, entry: NoNeutralConfigEntry, relay: RelayLink) -> None:
        """Set up the coordinator; the history is loaded at the first refresh."""
        super().__init__(hass, LOGGER, config_entry=entry, name=f"{DOMAIN} adaptor")
        self.relay = relay
        self.history = History()
        # Atomic (fsync'd) writes, as HA's own registries: a power cut right
        # after a save must not leave an empty file.
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}", atomic_writes=True
        )
        self._lock = asyncio.Lock()
        self._warnings: tuple[str, ...] = ()
        self._relay_on: bool | None = None
        self._ambient_c = DEFAULT_AMBIENT_TEMP_C
        self._counted_until = dt_util.utcnow()
        self._save_timer: CALLBACK_TYPE | None = None
        self._unloaded = False
        self._figures: dict[str, Any] = {}
        self._issues_synced = False

    @property
    def options(self) -> Mapping[str, Any]:
        """Return the entry's options."""
        return self.config_entry.options

    @override
    async def _async_setup(self) -> None:
        self.history, self._warnings = await async_load_history(
            self.hass, self.config_entry, self._store, ALL_WARNINGS
        )
        self._relay_on = self.relay.is_on if self.relay.available else None
        self._ambient_c = self._read_ambient()
        self._counted_until = dt_util.utcnow()
        entry = self.config_entry
        entry.async_on_unload(self.relay.async_add_listener(self._on_relay))
        entry.async_on_unload(async_track_time_interval(self.hass, self._on_tick, AGEING_INTERVAL))
        if sensor := self.options.get(CONF_AMBIENT_SENSOR):
            entry.async_on_unload(
                async_track_state_change_event(self.hass, sensor, self._on_ambient)
            )
        entry.async_on_unload(
            # Not listen_once: removing a fired once-listener at unload logs an error.
            self.hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, self._on_stop)
        )
        entry.async_on_unload(self._async_unload)

    # Time and events -------------------------------------------------------

    def _count_time(self) -> None:
        """Add the time since the last count, in the state that held during it."""
        now = dt_util.utcnow()
        seconds = (now - self._counted_until).total_seconds()
        self._counted_until = now
        # Unknown relay state: the adaptor may be unpowered; count nothing.
        if self._relay_on is None or not self._figures:
            return
        self.history.advance(
            seconds=seconds,
            closed=self._relay_on,
            ambient_c=self._ambient_c,
            esr_power_w=float(self._figures["cap_esr_power_w"]),
            fuse_power_w=float(self._figures["fuse_power_w"]),
            cap=capacitor_spec(self.options),
            fuse=fuse_spec(self.options),
        )
        self._request_save()

    @callback
    def _on_relay(self) -> None:
        is_on = self.relay.is_on if self.relay.available else None
        if is_on == self._relay_on:
            return
        self._count_time()
        # A real switching is a change between two known states.
        if is_on is not None and self._relay_on is not None:
            inrush = float(self._figures.get("inrush_fuse_energy_mean_j", 0.0))
            self.history.switched(closed=is_on, inrush_j=inrush, fuse=fuse_spec(self.options))
        self._relay_on = is_on
        self._schedule_refresh_now()

    @callback
    def _on_ambient(self, _event: Event[EventStateChangedData]) -> None:
        self._count_time()
        self._ambient_c = self._read_ambient()
        self._schedule_refresh_now()

    @callback
    def _on_tick(self, _now: datetime) -> None:
        self._count_time()
        self._schedule_refresh_now()

    async def _on_stop(self, _event: Event) -> None:
        self._count_time()
        # Flushed by the store at the final write.
        self._store.async_delay_save(self._stored, 0)

    async def _async_unload(self) -> None:
        self._count_time()
        self._unloaded = True
        if self._save_timer is not None:
            self._save_timer()
            self._save_timer = None
        await self._store.async_save(self._stored())
        # Non-persistent issues of an unloaded entry would go stale.
        async_clear_issues(self.hass, self.config_entry.entry_id, ALL_WARNINGS)
        async_sync_simulation_issue(self.hass, self.config_entry, None)

    def _schedule_refresh_now(self) -> None:
        # A tracked task: unloading the entry waits for it.
        self.config_entry.async_create_task(
            self.hass, self.async_refresh(), f"{DOMAIN} adaptor refresh"
        )

    async def async_reset_capacitor(self) -> None:
        """Start the capacitor's life again (it was replaced)."""
        self._count_time()
        self.history.capacitor_replaced()
        await self._store.async_save(self._stored())
        await self.async_refresh()

    async def async_reset_fuse(self) -> None:
        """Start again with a new fusible resistor: cold and intact."""
        self._count_time()
        self.history.fuse_replaced()
        await self._store.async_save(self._stored())
        await self.async_refresh()

    def _request_save(self) -> None:
        """
        Have the history written within SAVE_DELAY_S.

        Not the store's own delayed save alone: that one debounces (every call
        moves the write to the call's time plus the delay), so asking every
        minute would never write before stop.
        """
        # After unload the history is written already; no timer may outlive the entry.
        if self._save_timer is None and not self._unloaded:
            self._save_timer = async_call_later(self.hass, SAVE_DELAY_S, self._save_due)

    @callback
    def _save_due(self, _now: datetime) -> None:
        self._save_timer = None
        self.config_entry.async_create_task(
            self.hass, self._store.async_save(self._stored()), f"{DOMAIN} history save"
        )

    def _stored(self) -> dict[str, Any]:
        return {**self.history.as_dict(), "warnings": list(self._warnings)}

    def _read_ambient(self) -> float:
        """Return the ambient temperature: the chosen sensor's, else the option's."""
        fallback = float(self.options.get(CONF_AMBIENT_TEMP_C, DEFAULT_AMBIENT_TEMP_C))
        sensor = self.options.get(CONF_AMBIENT_SENSOR)
        if not sensor or (state := self.hass.states.get(sensor)) is None:
            return fallback
        try:
            value = float(state.state)
        except ValueError:
            return fallback
        unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT, UnitOfTemperature.CELSIUS)
        if unit not in TemperatureConverter.VALID_UNITS:
            return fallback
        celsius = TemperatureConverter.convert(value, unit, UnitOfTemperature.CELSIUS)
        # "nan" or a wild reading (a template, a broken probe) would make the
        # wear NaN or overflow for good; the option's own range is the sane one.
        if not AMBIENT_RANGE_C[0] <= celsius <= AMBIENT_RANGE_C[1]:
            return fallback
        return celsius

    # Simulation -------------------------------------------------------------

    async def async_simulate(self, scenario: dict[str, Any]) -> dict[str, Any]:
        """
        Return the figures of a scenario, from the simulator client every entry shares.

        Raises ScenarioError for a scenario the simulator refuses and
        ArithmeticError for one it cannot solve (both cached by the client,
        so an unsolvable scenario is not retried every minute), and
        SimulatorTimeoutError for a run stopped at its deadline.
        """
        return await async_get_simulator(self.hass).async_run("figures", simulate, scenario)

    @override
    async def _async_update_data(self) -> AdaptorData:
        async with self._lock:
            self._count_time()
            scenario = aged_scenario(self.options, self.history)
            # A scenario the simulator refuses or cannot solve must not take the
            # lamp down: the figures go unknown and a repair issue says why.
            problem: tuple[str, dict[str, str]] | None = None
            try:
                figures = await self.async_simulate(scenario)
            except ScenarioError as err:
                figures = {}
                problem = ("invalid_scenario", {"key": err.key, "reason": err.reason})
            except ArithmeticError as err:
                figures = {}
                problem = ("simulation_failed", {"error": str(err)})
            except SimulatorTimeoutError as err:
                # Not the scenario's fault: this update fails (a setup retries),
                # the issues stay as they are, and the next change simulates again.
                raise UpdateFailed(
                    translation_domain=DOMAIN,
                    translation_key="simulation_timeout",
                    translation_placeholders={"seconds": f"{err.deadline_s:g}"},
                ) from err
            async_sync_simulation_issue(self.hass, self.config_entry, problem)
            self._figures = figures
            return self._picture(scenario, figures)

    def _picture(self, scenario: dict[str, Any], figures: dict[str, Any]) -> AdaptorData:
        history = self.history
        cap = capacitor_spec(self.options)
        fuse = fuse_spec(self.options)
        esr_power = float(figures.get("cap_esr_power_w", 0.0))
        closed_core_c = cap.core_temperature_c(self._ambient_c, esr_power)
        active = set(figures.get("warnings", ()))
        if history.fuse.switching_overstress(fuse) and not history.fuse_blown:
            active.add("fuse_switching")
        if history.fuse_blown:
            active.add("fuse_blown")
        if end_of_life(history.cap_consumed):
            active.add("cap_end_of_life")
        warnings = tuple(code for code in ALL_WARNINGS if code in active)
        raised = tuple(code for code in warnings if code not in self._warnings)
        cleared = tuple(code for code in self._warnings if code not in warnings)
        self._warnings = warnings
        if raised or cleared or not self._issues_synced:
            entry = self.config_entry
            async_sync_issues(self.hass, entry.entry_id, entry.title, warnings, ALL_WARNINGS)
            self._issues_synced = True
        if raised or cleared:
            self._request_save()
            self._fire_changes(raised, cleared)
        return AdaptorData(
            scenario=scenario,
            figures=figures,
            relay_on=self._relay_on,
            ambient_c=self._ambient_c,
            core_temp_c=closed_core_c if self._relay_on else self._ambient_c,
            cap_consumed=history.cap_consumed,
            cap_health_pct=health_pct(history.cap_consumed),
            cap_remaining_life_h=remaining_life_h(history.cap_consumed, cap.life_h(closed_core_c)),
            capacitance_uf=cap.aged_capacitance_uf(history.cap_consumed),
            esr_ohm=cap.aged_esr_ohm(history.cap_consumed),
            fuse_stress_pct=history.fuse.stress_pct(fuse),
            fuse_blown=history.fuse_blown,
            switchings=history.switchings,
            powered_h=history.powered_h,
            warnings=warnings,
            raised=raised,
            cleared=cleared,
        )

    def _fire_changes(self, raised: tuple[str, ...], cleared: tuple[str, ...]) -> None:
        """Fire the bus events behind the device triggers."""
        entry = self.config_entry
        device = dr.async_get(self.hass).async_get_device_by_identifier(
            (DOMAIN, str(entry.unique_id)), entry.entry_id
        )
        device_id = device.id if device else None
        for change, codes in (("raised", raised), ("cleared", cleared)):
            for code in codes:
                LOGGER.debug("%s: %s %s", entry.title, code, change)
                self.hass.bus.async_fire(
                    WARNING_EVENT,
                    {
                        "device_id": device_id,
                        "entry_id": entry.entry_id,
                        "code": code,
                        "type": f"{code}_{change}",
                    },
                )


async def async_remove_history(hass: HomeAssistant, entry_id: str) -> None:
    """Delete an entry's stored history (the entry was removed)."""
    async_delete_history_reset_issue(hass, entry_id)
    await Store[dict[str, Any]](hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}").async_remove()
