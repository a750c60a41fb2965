"""
Companion mode: the relay is a switch or light that another integration controls.

`EntityFollower` follows that entity's state instead of a Matter node: on/off
is its state, unavailable (or unknown) is a relay whose state is not known.
Nothing is commanded: the relay's own entity stays the control, so no light
entity is made. The entity is followed by its entity registry id, so a rename
(a new entity id) keeps it followed; removing it from the registry raises a
repair issue.

Who switched: Home Assistant's entities carry the context of the service call
that changed them (for CONTEXT_RECENT_TIME_SECONDS after the call, HA's own
window), and every service call is announced on the bus (call_service) with
that context. A state change whose context is one of a recent service call's
is Home Assistant's (a dashboard tap, an automation, a script, a voice
assistant, another integration's action); any other (the relay's own report of
a wall switch, its button, its own app, a change that arrived after HA's
window) is `switched_elsewhere`. The context alone cannot tell: a time-triggered
automation's context has neither a user nor a parent, just like a device's report.
HA's own rule has one blind spot, which this shares: an entity keeps the service
call's context for those 5 seconds, so a wall switch pressed within them, right
after a command of HA's, is written (and told here) as HA's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from homeassistant.const import (
    EVENT_CALL_SERVICE,
    STATE_OFF,
    STATE_ON,
)
from homeassistant.core import (
    CALLBACK_TYPE,
    Context,
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.entity import CONTEXT_RECENT_TIME_SECONDS
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util

from .const import CONF_ENTITY, DOMAIN, LOGGER
from .data import NoNeutralConfigEntry
from .repairs import issue_id

if TYPE_CHECKING:
    from matter_server.common.models import MatterNodeEvent

ISSUE_ENTITY_REMOVED: Final = "entity_removed"

# A service call's context is the cause of a state change this long after the
# call: HA's entities drop a service call's context as old after this time.
SERVICE_CONTEXT_AGE: Final = timedelta(seconds=CONTEXT_RECENT_TIME_SECONDS)


def entity_reference(hass: HomeAssistant, entity_id: str) -> str:
    """
    Return how an entry keeps the entity it follows: its registry id.

    An entity without a registry entry (a YAML one without unique_id) cannot be
    renamed; its entity id is the reference.
    """
    entry = er.async_get(hass).async_get(entity_id)
    return entry.id if entry is not None else entity_id


class EntityFollower:
    """The relay of a companion entry: a switch or light entity of another integration."""

    def __init__(self, hass: HomeAssistant, reference: str) -> None:
        """Resolve the entity (None once it is gone from the registry) and its device."""
        self.hass = hass
        self.reference = reference
        registry = er.async_get(hass)
        self.entity_id: str | None = er.async_resolve_entity_id(registry, reference)
        # The entity id last followed: named by the "entity removed" issue.
        self.last_entity_id = self.entity_id or reference
        registry_entry = registry.async_get(self.entity_id) if self.entity_id else None
        self.device_id: str | None = registry_entry.device_id if registry_entry else None
        self._listeners: list[CALLBACK_TYPE] = []
        self._unsubscribe: list[CALLBACK_TYPE] = []
        self._unfollow_state: CALLBACK_TYPE | None = None
        # Recent service calls' context ids and when they were made, oldest first.
        self._service_calls: dict[str, datetime] = {}
        self._switched_by: Context | None = None

    @property
    def removed(self) -> bool:
        """Return whether the followed entity is gone from the entity registry."""
        return self.entity_id is None

    @property
    def state(self) -> State | None:
        """Return the followed entity's state, if it has one."""
        return self.hass.states.get(self.entity_id) if self.entity_id else None

    @property
    def available(self) -> bool:
        """Return whether the entity says on or off (not unavailable, unknown or gone)."""
        state = self.state
        return state is not None and state.state in (STATE_ON, STATE_OFF)

    @property
    def is_on(self) -> bool | None:
        """Return whether the relay is closed, None when not known."""
        return self.state.state == STATE_ON if self.available and self.state else None

    @property
    def reboot_count(self) -> int | None:
        """Return None: an entity reports no reboots (the reboot entities are not made)."""
        return None

    @property
    def boot_reason(self) -> int | None:
        """Return None: an entity reports no boot reason."""
        return None

    @property
    def switched_by(self) -> Context | None:
        """Return the service call's context behind the latest change (None: not HA's)."""
        return self._switched_by

    def diagnostics(self) -> dict[str, Any]:
        """Return the followed entity and its state."""
        state = self.state
        return {
            "entity_id": self.entity_id,
            "removed": self.removed,
            "state": state.state if state else None,
            "available": self.available,
            "is_on": self.is_on,
        }

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `update` on every change of the entity's state, availability or presence."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    @callback
    def async_add_event_listener(
        self,
        handler: Callable[[MatterNodeEvent], None],  # noqa: ARG002
    ) -> CALLBACK_TYPE:
        """Return a no-op: an entity has no Matter events."""
        return lambda: None

    @callback
    def async_start(self) -> None:
        """Follow the entity's state, its registry entry and Home Assistant's service calls."""
        bus = self.hass.bus
        self._unsubscribe = [
            bus.async_listen(EVENT_CALL_SERVICE, self._on_service_call),
            bus.async_listen(
                er.EVENT_ENTITY_REGISTRY_UPDATED, self._on_registry, event_filter=self._concerns
            ),
        ]
        self._follow_state()

    @callback
    def async_stop(self) -> None:
        """Stop following the entity."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        self._unfollow()

    def _follow_state(self) -> None:
        self._unfollow()
        if self.entity_id is not None:
            self._unfollow_state = async_track_state_change_event(
                self.hass, self.entity_id, self._on_state
            )

    def _unfollow(self) -> None:
        if self._unfollow_state is not None:
            self._unfollow_state()
            self._unfollow_state = None

    def _notify(self) -> None:
        for update in list(self._listeners):
            update()

    @callback
    def _on_service_call(self, event: Event) -> None:
        now = dt_util.utcnow()
        calls = self._service_calls
        calls[event.context.id] = now
        # Oldest first: drop those out of the window (a handful at most).
        while calls and now - next(iter(calls.values())) > SERVICE_CONTEXT_AGE:
            del calls[next(iter(calls))]

    def _by_home_assistant(self, context: Context) -> bool:
        made = self._service_calls.get(context.id)
        return made is not None and dt_util.utcnow() - made <= SERVICE_CONTEXT_AGE

    @callback
    def _on_state(self, event: Event[EventStateChangedData]) -> None:
        new_state = event.data["new_state"]
        context = new_state.context if new_state is not None else event.context
        self._switched_by = context if self._by_home_assistant(context) else None
        self._notify()

    @callback
    def _concerns(self, data: er.EventEntityRegistryUpdatedData) -> bool:
        if self.entity_id is None:
            return False
        return self.entity_id in (data["entity_id"], data.get("old_entity_id"))

    @callback
    def _on_registry(self, event: Event[er.EventEntityRegistryUpdatedData]) -> None:
        if event.data["action"] == "remove":
            LOGGER.info("%s, followed as a relay, was removed", self.entity_id)
            self.entity_id = None
            self._switched_by = None
            self._unfollow()
            self._notify()
            return
        registry = er.async_get(self.hass)
        entity_id = er.async_resolve_entity_id(registry, self.reference)
        if entity_id is not None and entity_id != self.entity_id:
            # Renamed: the same registry entry under a new entity id.
            LOGGER.debug("Following %s, renamed from %s", entity_id, self.entity_id)
            self.entity_id = self.last_entity_id = entity_id
            self._follow_state()
        if entity_id is not None and (registry_entry := registry.async_get(entity_id)):
            self.device_id = registry_entry.device_id
        self._notify()


@callback
def async_follow_entity(hass: HomeAssistant, entry: NoNeutralConfigEntry) -> EntityFollower:
    """
    Start following the entry's entity; stop when the entry unloads.

    The "followed entity removed" issue follows the entity's presence in the
    registry: it goes when the entity is back (Reconfigure onto another one).
    """
    follower = EntityFollower(hass, entry.data[CONF_ENTITY])

    @callback
    def _stop() -> None:
        follower.async_stop()
        async_delete_entity_issue(hass, entry.entry_id)

    @callback
    def _follow_presence() -> None:
        if follower.removed:
            ir.async_create_issue(
                hass,
                DOMAIN,
                issue_id(entry.entry_id, ISSUE_ENTITY_REMOVED),
                is_fixable=False,
                is_persistent=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=ISSUE_ENTITY_REMOVED,
                translation_placeholders={
                    "name": entry.title,
                    "entity_id": follower.last_entity_id,
                },
            )
        else:
            async_delete_entity_issue(hass, entry.entry_id)

    entry.async_on_unload(_stop)
    follower.async_start()
    _follow_presence()
    entry.async_on_unload(follower.async_add_listener(_follow_presence))
    return follower


@callback
def async_delete_entity_issue(hass: HomeAssistant, entry_id: str) -> None:
    """Clear the "followed entity removed" issue: it is back, or the entry is gone."""
    ir.async_delete_issue(hass, DOMAIN, issue_id(entry_id, ISSUE_ENTITY_REMOVED))
