"""
The adaptor's coordinator.

The coordinator turns the entry's options, the relay's real state and the
adaptor's history (capacitor wear, fusible-resistor heat, switchings) into the
figures the entities show. It never polls: it recomputes when the relay
changes, the options change (applied in place, without reloading the entry),
the ambient sensor changes, a button resets a part, and once a minute to
count time. The simulator runs in the executor through the shared client
(simulator.py), only for a scenario no entry has simulated yet.

Every warning raised or cleared is announced in one place (`_announce`), to
the device triggers (a bus event) and the Warning event entity alike.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, override

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    EVENT_HOMEASSISTANT_STOP,
    UnitOfTemperature,
)
from homeassistant.core import (
    CALLBACK_TYPE,
    Context,
    Event,
    EventStateChangedData,
    HomeAssistant,
    callback,
)
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import (
    async_call_later,
    async_track_state_change_event,
    async_track_time_interval,
)
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import TemperatureConverter
from matter_server.common.models import MatterNodeEvent

from .circuit import ScenarioError, simulate
from .circuit.ageing import (
    History,
    end_of_life,
    health_pct,
    remaining_life_h,
)
from .circuit.params import parse_scenario
from .const import DOMAIN, LOGGER
from .data import NoNeutralConfigEntry, Relay
from .history import HistoryStore
from .options import (
    CONF_AMBIENT_SENSOR,
    CONF_AMBIENT_TEMP_C,
    OPTION,
    aged_scenario,
    capacitor_spec,
    fuse_spec,
    option_value,
)
from .reboots import async_fire_reboot_event, boot_reason_name
from .repairs import (
    async_clear_warning_issues,
    async_fire_warning_events,
    async_report_warnings,
    async_sync_simulation_issue,
    async_sync_supply_evidence_issue,
)
from .simulator import SimulatorTimeoutError, async_get_simulator, figures_many
from .switching import SwitchingTracker
from .warning_table import CODES, WarningChanges

AGEING_INTERVAL: Final = timedelta(minutes=1)
# Less life left than this at the present use: the capacitor wears out fast.
FAST_WEAR_LIFE_H: Final = 365.25 * 24
# Pictures whose writes' contexts are remembered: a copy of a figure comes
# back within a loop step or two, long before this many new pictures.
OWN_CONTEXTS: Final = 8

# A reboot's reason comes with the BootReason event; a relay that sends none
# (or sends it before the count) has its attribute read this long after.
BOOT_REASON_WAIT_S: Final = 1.0
# Matter's GeneralDiagnostics cluster and its BootReason event.
GENERAL_DIAGNOSTICS: Final = 0x33
BOOT_REASON_EVENT: Final = 3

type WarningListener = Callable[[WarningChanges], None]
# A reboot of the relay: its boot reason (None: not reported) and new count.
type RebootListener = Callable[[str | None, int], None]
# Around a change of options: before the new picture (drop what no longer
# applies) and after it (add what now applies, showing the new figures).
type OptionsHooks = tuple[Callable[[], None], Callable[[], Awaitable[None]]]


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
    lamp_energy_wh: float
    loss_energy_wh: float
    standby_energy_wh: float
    warnings: tuple[str, ...]
    # What the relay reports of its reboots (None: it does not).
    reboot_count: int | None = None
    boot_reason: str | None = None


def lamp_power_w(figures: Mapping[str, Any], *, closed: bool) -> float:
    """Return the lamp's mean power in a relay state (open: its leakage, counted as a loss)."""
    return float(figures["lamp_power_w"]) if closed else 0.0


def loss_power_w(figures: Mapping[str, Any], *, closed: bool) -> float:
    """
    Return what the circuit draws from the mains besides the lamp, in a relay state.

    Closed: the source's power less the lamp's (the adaptor's parts, the
    relay's own supply, the switched conductor); open: the whole standby draw.
    """
    if closed:
        return max(float(figures["source_power_w"]) - float(figures["lamp_power_w"]), 0.0)
    return float(figures["off_source_power_w"])


class AdaptorCoordinator(DataUpdateCoordinator[AdaptorData]):
    """Simulates the adaptor and keeps its ageing and stress history."""

    config_entry: NoNeutralConfigEntry

    def __init__(self, hass: HomeAssistant, entry: NoNeutralConfigEntry, relay: Relay) -> None:
        """Set up the coordinator; the history is loaded at the first refresh."""
        super().__init__(hass, LOGGER, config_entry=entry, name=f"{DOMAIN} adaptor")
        self.relay = relay
        self.switching = SwitchingTracker(hass, entry)
        self.history = History()
        self.history_store = HistoryStore(hass, entry, lambda: (self.history, self._warnings))
        self._lock = asyncio.Lock()
        self._warnings: tuple[str, ...] = ()
        self._relay_on: bool | None = None
        # The options in force: the entry's change first, then async_apply_options
        # counts the time so far under the old ones and takes the new.
        self._options: Mapping[str, Any] = dict(entry.options)
        self._ambient_c = float(option_value(self._options, CONF_AMBIENT_TEMP_C))
        self._unfollow_ambient: CALLBACK_TYPE | None = None
        # The context of the entities' writes of the latest pictures: a state
        # change that comes of one (a template sensor copying the core
        # temperature, an automation run by it) is our own figure coming back,
        # and following it as the ambient would loop without end.
        self.context = Context()
        self._own_contexts: deque[str] = deque([self.context.id], maxlen=OWN_CONTEXTS)
        self._counted_until = dt_util.utcnow()
        self._figures: dict[str, Any] = {}
        self._issues_synced = False
        self._unannounced: WarningChanges | None = None
        self._warning_listeners: list[WarningListener] = []
        self._reboot_listeners: list[RebootListener] = []
        # A reboot counted whose reason is still to come, and the light's
        # state last known before it (what the user saw when it went down).
        self._reboot_pending: CALLBACK_TYPE | None = None
        self._light_seen: bool | None = None
        self._light_at_reboot: bool | None = None
        self._options_hooks: list[OptionsHooks] = []

    @property
    def options(self) -> Mapping[str, Any]:
        """Return the options in force."""
        return self._options

    @override
    async def _async_setup(self) -> None:
        self.history, self._warnings = await self.history_store.async_load(CODES)
        self._relay_on = self.relay.is_on if self.relay.available else None
        self._light_seen = self._relay_on
        # Reboots while Home Assistant was away count, unannounced: their
        # reason is the relay's last one.
        if self.history_store.reboots.rebooted(self.relay.reboot_count):
            self.history_store.reboots.record(
                boot_reason_name(self.relay.boot_reason), dt_util.utcnow()
            )
        self._ambient_c = self._read_ambient()
        self._counted_until = dt_util.utcnow()
        entry = self.config_entry
        entry.async_on_unload(self.relay.async_add_listener(self._on_relay))
        entry.async_on_unload(self.relay.async_add_event_listener(self._on_relay_event))
        entry.async_on_unload(self._cancel_reboot_pending)
        # Home Assistant's stop unloads no entry: the tick ends with the stop
        # (which counts the time up to it), not with the process.
        entry.async_on_unload(
            async_track_time_interval(
                self.hass, self._on_tick, AGEING_INTERVAL, cancel_on_shutdown=True
            )
        )
        self._follow_ambient_sensor()
        entry.async_on_unload(self._stop_following_ambient)
        entry.async_on_unload(
            # Not listen_once: removing a fired once-listener at unload logs an error.
            self.hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, self._on_stop)
        )
        entry.async_on_unload(self._async_unload)

    def _follow_ambient_sensor(self) -> None:
        self._stop_following_ambient()
        if sensor := self._ambient_sensor():
            self._unfollow_ambient = async_track_state_change_event(
                self.hass, sensor, self._on_ambient
            )

    @callback
    def _stop_following_ambient(self) -> None:
        if self._unfollow_ambient is not None:
            self._unfollow_ambient()
            self._unfollow_ambient = None

    # Options -----------------------------------------------------------------

    @callback
    def async_add_options_hooks(
        self, before: Callable[[], None], after: Callable[[], Awaitable[None]]
    ) -> CALLBACK_TYPE:
        """Call `before` ahead of each new options' picture and await `after` once it is shown."""
        hooks: OptionsHooks = (before, after)
        self._options_hooks.append(hooks)
        return lambda: self._options_hooks.remove(hooks)

    async def async_apply_options(self) -> None:
        """
        Take the entry's new options in place: no reload, no entity unavailable.

        The entities show the new picture; the entity platforms drop the
        entities the new options leave out and add those they call for.
        """
        async with self._lock:
            options = dict(self.config_entry.options)
            if options == self._options:
                return
            # The time so far ran with the old parts and the old ambient.
            self._count_time()
            self._options = options
            self._follow_ambient_sensor()
            self._ambient_c = self._read_ambient()
        for before, _after in list(self._options_hooks):
            before()
        await self.async_refresh()
        if self.config_entry.state is not ConfigEntryState.LOADED:
            return  # unloading meanwhile: its platforms are gone
        for _before, after in list(self._options_hooks):
            await after()

    # Warnings ---------------------------------------------------------------

    @callback
    def async_add_warning_listener(self, listener: WarningListener) -> CALLBACK_TYPE:
        """Tell `listener` each warning change, when the device triggers hear of it."""
        self._warning_listeners.append(listener)
        return lambda: self._warning_listeners.remove(listener)

    @callback
    @override
    def async_update_listeners(self) -> None:
        # Announced once the entities show the picture the changes belong to;
        # a failed refresh calls the listeners again but announces nothing.
        self.context = Context()
        self._own_contexts.append(self.context.id)
        super().async_update_listeners()
        if (changes := self._unannounced) is not None:
            self._unannounced = None
            self._announce(changes)

    @callback
    def _announce(self, changes: WarningChanges) -> None:
        """Tell the device triggers and the event entity, the one path of every warning change."""
        async_fire_warning_events(self.hass, self.config_entry, changes)
        for listener in list(self._warning_listeners):
            listener(changes)

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
            lamp_power_w=lamp_power_w(self._figures, closed=self._relay_on),
            loss_power_w=loss_power_w(self._figures, closed=self._relay_on),
        )
        self.history_store.request_save()

    # Reboots -----------------------------------------------------------------

    @callback
    def async_add_reboot_listener(self, listener: RebootListener) -> CALLBACK_TYPE:
        """Tell `listener` each reboot of the relay, when the device trigger hears of it."""
        self._reboot_listeners.append(listener)
        return lambda: self._reboot_listeners.remove(listener)

    @callback
    def _check_reboot(self) -> None:
        if not self.history_store.reboots.rebooted(self.relay.reboot_count):
            return
        self._light_at_reboot = self._light_seen
        self._cancel_reboot_pending()
        self._reboot_pending = async_call_later(
            self.hass, BOOT_REASON_WAIT_S, self._on_boot_reason_wait
        )

    @callback
    def _on_boot_reason_wait(self, _now: datetime) -> None:
        # No BootReason event came: the attribute has had time to arrive.
        self._rebooted(boot_reason_name(self.relay.boot_reason))

    @callback
    def _on_relay_event(self, event: MatterNodeEvent) -> None:
        if (
            self._reboot_pending is not None
            and event.endpoint_id == 0
            and event.cluster_id == GENERAL_DIAGNOSTICS
            and event.event_id == BOOT_REASON_EVENT
        ):
            reason = (event.data or {}).get("bootReason")
            self._cancel_reboot_pending()
            self._rebooted(boot_reason_name(reason if isinstance(reason, int) else None))

    @callback
    def _cancel_reboot_pending(self) -> None:
        if self._reboot_pending is not None:
            self._reboot_pending()
            self._reboot_pending = None

    @callback
    def _rebooted(self, reason: str | None) -> None:
        """Count a reboot, announce it, and judge the warnings again."""
        self._reboot_pending = None
        count = self.history_store.reboots.count or 0
        self.history_store.reboots.record(reason, dt_util.utcnow())
        self.history_store.request_save()
        LOGGER.info(
            "Relay of %s rebooted (count %s, reason %s)", self.config_entry.title, count, reason
        )
        async_fire_reboot_event(self.hass, self.config_entry, reason, count)
        for listener in list(self._reboot_listeners):
            listener(reason, count)
        self._schedule_refresh_now()

    @callback
    def _on_relay(self) -> None:
        self._check_reboot()
        is_on = self.relay.is_on if self.relay.available else None
        if is_on is not None:
            self._light_seen = is_on
        if is_on == self._relay_on:
            if self.data is not None and self.data.reboot_count != self.relay.reboot_count:
                self._schedule_refresh_now()
            return
        self._count_time()
        # A real switching is a change between two known states.
        if is_on is not None and self._relay_on is not None:
            inrush = float(self._figures.get("inrush_fuse_energy_mean_j", 0.0))
            self.history.switched(closed=is_on, inrush_j=inrush, fuse=fuse_spec(self.options))
            self.switching.switched(on=is_on, by=self.relay.switched_by)
        self._relay_on = is_on
        self._schedule_refresh_now()

    @callback
    def _on_ambient(self, event: Event[EventStateChangedData]) -> None:
        if {event.context.id, event.context.parent_id} & set(self._own_contexts):
            return
        self._count_time()
        self._ambient_c = self._read_ambient()
        self._schedule_refresh_now()

    @callback
    def _on_tick(self, _now: datetime) -> None:
        self._count_time()
        self._schedule_refresh_now()

    async def _on_stop(self, _event: Event) -> None:
        self._count_time()
        self.history_store.save_at_stop()

    async def _async_unload(self) -> None:
        self._count_time()
        await self.history_store.async_close()
        # Non-persistent issues of an unloaded entry would go stale.
        async_clear_warning_issues(self.hass, self.config_entry.entry_id)
        async_sync_simulation_issue(self.hass, self.config_entry, None)
        async_sync_supply_evidence_issue(self.hass, self.config_entry, None)

    def _schedule_refresh_now(self) -> None:
        # A tracked task: unloading the entry waits for it.
        self.config_entry.async_create_task(
            self.hass, self.async_refresh(), f"{DOMAIN} adaptor refresh"
        )

    async def async_reset_capacitor(self) -> None:
        """Start the capacitor's life again (it was replaced)."""
        self._count_time()
        self.history.capacitor_replaced()
        await self.history_store.async_save()
        await self.async_refresh()

    async def async_reset_fuse(self) -> None:
        """Start again with a new fusible resistor: cold and intact."""
        self._count_time()
        self.history.fuse_replaced()
        await self.history_store.async_save()
        await self.async_refresh()

    def _ambient_sensor(self) -> str | None:
        """Return the ambient sensor to follow: none of this integration's own."""
        sensor = self.options.get(CONF_AMBIENT_SENSOR)
        if not sensor:
            return None
        # The form refuses these; options stored before it did (or written
        # by hand) must not make a core temperature its own ambient.
        entry = er.async_get(self.hass).async_get(sensor)
        if entry is not None and entry.platform == DOMAIN:
            return None
        return str(sensor)

    def _read_ambient(self) -> float:
        """Return the ambient temperature: the chosen sensor's, else the option's."""
        fallback = float(option_value(self.options, CONF_AMBIENT_TEMP_C))
        sensor = self._ambient_sensor()
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
        low, high = OPTION[CONF_AMBIENT_TEMP_C].limits
        if not low <= celsius <= high:
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

    async def async_simulate_many(self, scenarios: list[dict[str, Any]]) -> list[Any]:
        """Return each scenario's figures, or its ScenarioError or ArithmeticError, in one batch."""
        return await async_get_simulator(self.hass).async_run_many(
            "figures", figures_many, scenarios
        )

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
        # Judged at the closed relay's heat (as the remaining life is), so that
        # switching the lamp does not raise and clear it each time.
        remaining_h = remaining_life_h(history.cap_consumed, cap.life_h(closed_core_c))
        if closed_core_c > cap.rated_temp_c or remaining_h < FAST_WEAR_LIFE_H:
            active.add("cap_fast_wear")
        brown_outs = self.history_store.reboots.repeated(dt_util.utcnow())
        if brown_outs:
            active.add("relay_brown_outs")
        self._sync_supply_evidence(scenario, figures, brown_outs=brown_outs)
        changes = async_report_warnings(
            self.hass,
            self.config_entry,
            self._warnings,
            active,
            sync_issues=not self._issues_synced,
        )
        # The first picture of a setup is the starting point, announced on
        # neither path: the event entity is not there yet to hear it.
        if changes.changed and self._issues_synced:
            self._unannounced = changes
        self._issues_synced = True
        self._warnings = changes.warnings
        if changes.changed:
            self.history_store.request_save()
        return AdaptorData(
            scenario=scenario,
            figures=figures,
            relay_on=self._relay_on,
            ambient_c=self._ambient_c,
            core_temp_c=closed_core_c if self._relay_on else self._ambient_c,
            cap_consumed=history.cap_consumed,
            cap_health_pct=health_pct(history.cap_consumed),
            cap_remaining_life_h=remaining_h,
            # What was simulated: the wear in steps (scenario.aged_scenario).
            capacitance_uf=scenario["smoothing"]["capacitance_uf"],
            esr_ohm=scenario["smoothing"]["esr_ohm"],
            fuse_stress_pct=history.fuse.stress_pct(fuse),
            fuse_blown=history.fuse_blown,
            switchings=history.switchings,
            powered_h=history.powered_h,
            lamp_energy_wh=history.lamp_energy_wh,
            loss_energy_wh=history.loss_energy_wh,
            standby_energy_wh=history.standby_energy_wh,
            warnings=changes.warnings,
            reboot_count=self.relay.reboot_count,
            boot_reason=boot_reason_name(self.relay.boot_reason),
        )

    def _sync_supply_evidence(
        self, scenario: dict[str, Any], figures: dict[str, Any], *, brown_outs: bool
    ) -> None:
        """Say so when the relay browns out though the model finds its supply fine."""
        fine = bool(figures) and "device_supply_low" not in figures.get("warnings", ())
        placeholders = None
        if brown_outs and fine:
            placeholders = {
                "closed_v": f"{float(figures['device_supply_min_v']):.0f}",
                "open_v": f"{float(figures['off_device_supply_min_v']):.0f}",
                # The scenario holds only what the options set: the rest is the defaults'.
                "min_v": f"{parse_scenario(scenario).device.min_input_v:.0f}",
            }
        async_sync_supply_evidence_issue(
            self.hass, self.config_entry, placeholders, light_on=self._light_at_reboot
        )
