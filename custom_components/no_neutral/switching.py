"""
Who switched the lamp: Home Assistant, or the wall switch and the rest.

The relay reports every change of its OnOff attribute alike, whoever made it:
Home Assistant's command, the wall switch on S1/S2, another Matter controller,
the relay's own button. Only Home Assistant knows which changes it asked for,
so the lamp's commands are noted here (with the service call's context) before
they are sent; a change of state that answers one is Home Assistant's, any
other is `switched_elsewhere`. Each change is told once, to the device triggers
(a bus event) and to the lamp's switching event entity alike.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util

from .const import DOMAIN, LOGGER
from .data import NoNeutralConfigEntry, adaptor_identifier

# Bus event behind the switching device trigger: {device_id, entry_id, type, on}.
SWITCHED_EVENT: Final = f"{DOMAIN}_switched"
SWITCHED_BY_HOME_ASSISTANT: Final = "switched_by_home_assistant"
SWITCHED_ELSEWHERE: Final = "switched_elsewhere"
SWITCHING_TYPES: Final = (SWITCHED_BY_HOME_ASSISTANT, SWITCHED_ELSEWHERE)
# Device triggers: Home Assistant's own switchings have their service call to
# trigger on; what it cannot see otherwise is a switching from elsewhere.
SWITCHING_TRIGGER_TYPES: Final = (SWITCHED_ELSEWHERE,)

# The relay's report of a command's change comes with the command's answer or
# soon after it (the server subscribes to reports at most once a second); a
# command whose change is not reported this long after its answer made none.
REPORT_GRACE: Final = timedelta(seconds=5)


@dataclass(frozen=True, kw_only=True)
class Switching:
    """One change of the relay's state, and who made it."""

    on: bool
    type: str
    # The command's context for Home Assistant's; a fresh one otherwise.
    context: Context


@dataclass(kw_only=True)
class _Command:
    on: bool
    context: Context
    # None while the command is in flight.
    answered_at: datetime | None = None


type SwitchingListener = Callable[[Switching], None]


class SwitchingTracker:
    """Tells Home Assistant's switchings from the others'."""

    def __init__(self, hass: HomeAssistant, entry: NoNeutralConfigEntry) -> None:
        """Track the switchings of one entry's relay."""
        self._hass = hass
        self._entry = entry
        self._commands: list[_Command] = []
        self._listeners: list[SwitchingListener] = []

    @callback
    def async_add_listener(self, listener: SwitchingListener) -> CALLBACK_TYPE:
        """Tell `listener` every switching, as the device triggers hear of it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @contextlib.contextmanager
    def command(self, *, on: bool, context: Context | None, is_on: bool | None) -> Iterator[None]:
        """
        Note a command of Home Assistant's to the relay while it is sent.

        A command to the state the relay has already changes nothing: nothing
        is awaited from it (a later change is someone else's).
        """
        if is_on is on:
            yield
            return
        command = _Command(on=on, context=context or Context())
        self._commands.append(command)
        try:
            yield
        except BaseException:
            # A failed command moved nothing.
            self._forget(command)
            raise
        command.answered_at = dt_util.utcnow()

    def _forget(self, command: _Command) -> None:
        with contextlib.suppress(ValueError):
            self._commands.remove(command)

    @callback
    def switched(self, *, on: bool, by: Context | None = None) -> Switching:
        """
        Tell who made this change of the relay's state (a real switching).

        `by`: the Home Assistant context the relay itself reports behind the
        change (a followed entity's state carries its service call's); None
        leaves the judgement to the commands noted.
        """
        if by is not None:
            self._commands = []
            switching = Switching(on=on, type=SWITCHED_BY_HOME_ASSISTANT, context=by)
            self._announce(switching)
            return switching
        now = dt_util.utcnow()
        self._commands = [
            command
            for command in self._commands
            if command.answered_at is None or now - command.answered_at <= REPORT_GRACE
        ]
        answered = next((command for command in self._commands if command.on is on), None)
        if answered is not None:
            # This change answers it, and any older command to the other state
            # was overtaken.
            self._commands = self._commands[self._commands.index(answered) + 1 :]
            switching = Switching(on=on, type=SWITCHED_BY_HOME_ASSISTANT, context=answered.context)
        else:
            # Someone else moved the relay: what Home Assistant awaited is moot.
            self._commands = []
            switching = Switching(on=on, type=SWITCHED_ELSEWHERE, context=Context())
        self._announce(switching)
        return switching

    def _announce(self, switching: Switching) -> None:
        entry = self._entry
        device = dr.async_get(self._hass).async_get_device_by_identifier(
            adaptor_identifier(entry), entry.entry_id
        )
        LOGGER.debug("%s: %s (on: %s)", entry.title, switching.type, switching.on)
        self._hass.bus.async_fire(
            SWITCHED_EVENT,
            {
                "device_id": device.id if device else None,
                "entry_id": entry.entry_id,
                "type": switching.type,
                "on": switching.on,
            },
            context=switching.context,
        )
        for listener in list(self._listeners):
            listener(switching)
